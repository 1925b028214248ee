"""The service's settings, read once from the environment (prefix ``NADIR_``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pacs.reader_user import reader_credentials
from pacs.stable_push import push_secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NADIR_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where SQLite and Orthanc data live")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file nadir.db in data_dir"
    )
    orthanc_url: str = "http://127.0.0.1:8042"
    orthanc_username: str | None = None
    orthanc_password: str | None = None
    # The image proxy's own Orthanc user, which Orthanc lets only GET below /dicom-web/
    # (pacs/reader_user.py); default: derived from the credentials above, as `nadir start`
    # registers it.
    orthanc_reader_username: str | None = None
    orthanc_reader_password: str | None = None
    # Where clients reach Nadir (scheme://host[:port]): the base of the URLs that DICOMweb
    # answers carry (RetrieveURL, BulkDataURI). `nadir serve` sets it from its listener.
    public_url: str = "http://127.0.0.1:8000"
    # Where Orthanc's DICOM port is, for `nadir demo` and for printing at start.
    orthanc_dicom_host: str = "127.0.0.1"
    orthanc_dicom_port: int = 4242
    orthanc_aet: str = "NADIR"
    # The hospital PACS that published reports are also sent to (C-STORE), if any.
    remote_ae_title: str = "HOSPITAL"
    remote_ae_host: str | None = None
    remote_ae_port: int = 104
    # With a hospital PACS: the arrival of a patient's first study of a modality starts a
    # fetch of that patient's earlier studies of it (C-FIND, then C-MOVE to Orthanc).
    fetch_priors: bool = False
    # The outbox's exponential back-off (base * 2^(n-1), at most max) and its attempts.
    outbox_retry_base_s: float = Field(default=5.0, gt=0)
    outbox_retry_max_s: float = Field(default=900.0, gt=0)
    outbox_max_attempts: int = Field(default=30, ge=1)
    # POST /api/v1/dicom: bodies beyond this size get 413 and store nothing.
    max_upload_mb: int = Field(default=2048, ge=1)
    # POST /api/v1/cases/{id}/sr (a TID 1500 report is read in memory): 413 past this.
    max_sr_mb: int = Field(default=64, ge=1)
    # Every other body (JSON): 413 past this; POST /api/v1/recist/evaluate has its own.
    max_json_mb: int = Field(default=1, ge=1)
    max_evaluate_mb: int = Field(default=4, ge=1)
    ingest: bool = Field(default=True, description="Follow Orthanc's change feed in `serve`")
    ingest_interval_s: float = 0.2
    # Once Orthanc posts stable series (pacs/stable_push.py), the change feed is read on
    # each post and otherwise only this often: the safety net for a lost post.
    ingest_pushed_interval_s: float = Field(default=5.0, ge=0)
    # Orthanc is configured to post stable series here (`nadir start` sets it when its
    # Orthanc does): the change feed is read at `ingest_pushed_interval_s` from the start,
    # not every `ingest_interval_s` until the first post after each start.
    ingest_pushes_expected: bool = False
    # The secret of Orthanc's stable-series posts; default: derived from the Orthanc
    # password as `nadir start` configures its Orthanc (None without a password).
    ingest_push_secret: str | None = Field(default=None, min_length=32)
    # Where Orthanc's Python plugin spools copies sent again by C-STORE under a SOP
    # Instance UID it holds (pacs/resent_spool.py); the ingest leader drains it. None: such
    # copies are not compared. `nadir start` sets it to its Orthanc's spool.
    resent_spool_dir: Path | None = None
    # Registration (issue 9): after the rigid step, also try an affine one; it is kept only
    # where it lowers the metric on held-out samples by 2 % (about +1 s per pair).
    registration_affine: bool = False
    # Issue 21: the de-identified copy of a share that expired or was revoked this many days
    # ago is deleted from Orthanc by the leader (0: at expiry); the review case stays.
    share_purge_after_days: int = Field(default=30, ge=0, le=3650)
    web_dist: Path | None = Field(
        default=None, description="The built review workstation; default: web/dist of the "
                                  "source tree")

    @field_validator("public_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname \
                or parts.path not in ("", "/") or parts.query or parts.fragment \
                or parts.username or parts.password:
            raise ValueError("must be scheme://host[:port] (http or https, no path)")
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def orthanc_reader(self) -> tuple[str | None, str | None]:
        """The image proxy's Orthanc (user, password)."""
        if self.orthanc_reader_username and self.orthanc_reader_password:
            return self.orthanc_reader_username, self.orthanc_reader_password
        if self.orthanc_username and self.orthanc_password:
            return reader_credentials(self.orthanc_username, self.orthanc_password)
        return None, None

    @property
    def orthanc_push_secret(self) -> str | None:
        """The secret Orthanc's stable-series posts must carry."""
        if self.ingest_push_secret:
            return self.ingest_push_secret
        return push_secret(self.orthanc_password) if self.orthanc_password else None

    @field_validator("ingest_interval_s")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be >= 0")
        return value

    @property
    def effective_database_url(self) -> str:
        url = self.database_url
        if not url:
            return f"sqlite:///{(self.data_dir / 'nadir.db').resolve()}"
        # Plain PostgreSQL URLs (as libpq and most tools write them) use the psycopg 3
        # driver that Nadir installs, not SQLAlchemy's default psycopg2.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url


#: What `nadir start` writes into the data folder for the service it starts.
RUNTIME_FILE = "runtime.json"


def load_settings() -> Settings:
    """Settings from the environment; what `nadir start` wrote fills what the env leaves out."""
    settings = Settings()
    runtime = settings.data_dir / RUNTIME_FILE
    if runtime.exists():
        saved: dict[str, Any] = json.loads(runtime.read_text())
        overrides = {k: v for k, v in saved.items() if f"NADIR_{k.upper()}" not in os.environ}
        settings = settings.model_copy(update=overrides)
    return settings
