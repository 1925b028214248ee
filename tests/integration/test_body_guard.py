"""A real `nadir serve` refuses a body before reading it: 401 / 403 before a byte of it,
413 past each route's limit, and 413 for a multipart upload of more than 100,000 parts.

The clients here count what the server let them send: a server that answers after the
headers and closes the connection cannot have received a 400 MB body, whatever the socket
buffers hold; the server's resident memory (``/proc/<pid>/status``) is read around the
largest requests.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_ports, start_orthanc, wait_until
from tests.factories import tiny_ct_series, to_bytes

pytestmark = pytest.mark.integration
MB = 1024**2
HUGE = 400 * MB
ROLES = ("uploader", "radiologist", "specialist", "admin")
READERS = {"radiologist", "specialist", "admin"}
#: Who may send each body (the README's API table) and its limit in this test's server.
ROUTES: dict[tuple[str, str], tuple[set[str], int]] = {
    ("POST", "/api/v1/dicom"): ({"uploader", "admin"}, 3 * MB),
    ("POST", "/api/v1/cases/{case_id}/sr"): ({"radiologist"}, 2 * MB),
    ("POST", "/api/v1/recist/evaluate"): (set(ROLES), 4 * MB),
    ("POST", "/api/v1/cases"): ({"radiologist", "admin"}, MB),
    ("POST", "/api/v1/cases/{case_id}/lesions"): ({"radiologist"}, MB),
    ("PATCH", "/api/v1/cases/{case_id}/lesions/{lesion_id}"): ({"radiologist"}, MB),
    ("PUT", "/api/v1/cases/{case_id}/lesions/{lesion_id}/measurements/{timepoint_id}"):
        ({"radiologist"}, MB),
    ("POST", "/api/v1/cases/{case_id}/timepoints/{timepoint_id}/sign-off"):
        ({"radiologist"}, MB),
    ("POST", "/api/v1/cases/{case_id}/sr-drafts/{draft_id}/confirm"): ({"radiologist"}, MB),
    ("POST", "/api/v1/cases/{case_id}/sr-drafts/{draft_id}/reject"): ({"radiologist"}, MB),
    ("POST", "/api/v1/cases/{case_id}/publish"): ({"radiologist", "admin"}, MB),
    ("POST", "/api/v1/comparisons"): (READERS, MB),
    ("PUT", "/api/v1/comparisons/{comparison_id}/pairs"): ({"radiologist", "admin"}, MB),
    ("POST", "/api/v1/patients/{patient_id}/markers"): ({"radiologist", "admin"}, MB),
    ("POST", "/api/v1/cases/{case_id}/shares"): ({"radiologist", "admin"}, MB),
    ("DELETE", "/api/v1/shares/{share_id}"): ({"radiologist", "admin"}, MB),
    ("POST", "/api/v1/cases/{case_id}/reviews"): ({"radiologist", "admin"}, MB),
    ("POST", "/api/v1/cases/{case_id}/adjudication"): ({"radiologist", "admin"}, MB),
}
_ZEROS = bytes(MB)


@dataclass
class Served:
    url: str
    port: int
    pid: int
    tokens: dict[str, str]
    data_dir: Path
    orthanc: Any


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`nadir serve` in its own process (SQLite: the database plays no part here), with
    small limits for the SR import and the upload."""
    from api.auth import Role, create_user, issue_token
    from api.db.session import make_engine, make_sessionmaker, migrate
    from pacs.process import find_orthanc_executable

    if find_orthanc_executable() is None:
        pytest.skip("Orthanc is not installed (scripts/setup.sh installs Debian's orthanc)")
    root = tmp_path_factory.mktemp("body-guard")
    orthanc = start_orthanc(root / "orthanc", username="nadir-test",
                            password=uuid.uuid4().hex, stable_age_s=1)
    data_dir = root / "nadir"
    database_url = f"sqlite:///{data_dir / 'nadir.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    tokens = {}
    with make_sessionmaker(engine).begin() as s:
        for role in Role:
            tokens[role.value] = issue_token(s, create_user(s, f"{role.value}-user", role))
    engine.dispose()
    env = dict(os.environ, NADIR_DATA_DIR=str(data_dir), NADIR_DATABASE_URL=database_url,
               NADIR_ORTHANC_URL=orthanc.config.url,
               NADIR_ORTHANC_USERNAME=orthanc.config.username,
               NADIR_ORTHANC_PASSWORD=orthanc.config.password,
               NADIR_MAX_SR_MB="2", NADIR_MAX_UPLOAD_MB="3")
    [port] = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, timeout=60, interval=0.1)
        yield Served(url, port, proc.pid, tokens, data_dir, orthanc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        orthanc.stop(kill=True)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # bytes the client wrote after the request's headers


def exchange(served: Served, method: str, path: str, *, token: str | None = None,
             length: int | None = None, send: int = 0, chunked: bool = False,
             content_type: str = "application/json", prefix: bytes = b"",
             extra: tuple[str, ...] = ()) -> Answer:
    """One request over a plain socket: headers, then up to ``send`` bytes of body (zeros
    after ``prefix``; chunk-framed when ``chunked``) while the server has not answered,
    then the server's answer."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    lines.extend(extra)
    with socket.create_connection(("127.0.0.1", served.port), timeout=60) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sent = _send_body(sock, send, chunked=chunked, prefix=prefix)
        return _read_answer(sock, sent)


def _send_body(sock: socket.socket, total: int, *, chunked: bool, prefix: bytes) -> int:
    sent, produced, pending = 0, 0, b""
    while True:
        if not pending:
            if produced >= total:
                if chunked:
                    pending, chunked = b"0\r\n\r\n", False
                else:
                    return sent
            else:
                piece = (prefix + _ZEROS)[:min(64 * 1024, total - produced)] if produced == 0 \
                    else _ZEROS[:min(64 * 1024, total - produced)]
                produced += len(piece)
                pending = (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
        readable, writable, _ = select.select([sock], [sock], [], 60)
        if readable:
            return sent  # the server answered (or closed) before the body was all sent
        if not writable:
            raise AssertionError("the server neither read the body nor answered for 60 s")
        try:
            n = sock.send(pending)
        except (BrokenPipeError, ConnectionResetError):
            return sent
        sent += n
        pending = pending[n:]


def _read_answer(sock: socket.socket, sent: int) -> Answer:
    data = b""
    while True:
        head, found, rest = data.partition(b"\r\n\r\n")
        if found:
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            if len(rest) >= int(headers.get("content-length", "0")):
                return Answer(int(lines[0].split()[1]), headers, rest, sent)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise AssertionError(f"no complete answer; got {data[:300]!r}")
        data += chunk


def _filled(path: str) -> str:
    """The path with every parameter set (the refusals come before any lookup)."""
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "1" + path[path.index("}", start) + 1:]
    return path


def _body_routes(served: Served) -> dict[tuple[str, str], bool]:
    """Every operation that may be sent a body, and whether it takes one."""
    document = httpx.get(f"{served.url}/openapi.json").json()
    return {(method.upper(), path): "requestBody" in operation
            for path, item in document["paths"].items()
            for method, operation in item.items() if method in ("post", "put", "patch", "delete")}


def _memory(pid: int) -> dict[str, int]:
    """The server's VmRSS and VmHWM (peak), in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def _reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current resident size (Linux clear_refs 5), if allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def test_three_parallel_400_mb_bodies_without_a_token_take_no_memory(served: Served) -> None:
    url = f"{served.url}/api/v1/cases/1/sr"
    for _ in range(3):  # warm up: the first requests import and allocate what they need
        assert httpx.post(url, content=b"x" * 1000).status_code == 401
    before = _memory(served.pid)["VmRSS"]
    peak_known = _reset_peak(served.pid)
    taken = [0, 0, 0]

    def post(i: int) -> httpx.Response:
        def body() -> Iterator[bytes]:
            while taken[i] < HUGE:
                taken[i] += MB
                yield _ZEROS

        return httpx.post(url, content=body(), timeout=120, headers={
            "Content-Type": "application/dicom", "Content-Length": str(HUGE)})

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(post, range(3)))
    after = _memory(served.pid)
    assert [a.status_code for a in answers] == [401] * 3
    assert all(a.json()["detail"].startswith("missing bearer token") for a in answers)
    # Answered before the bodies were sent: the server closed the connections.
    assert all(n < HUGE for n in taken), taken
    grown = (after["VmHWM"] if peak_known else after["VmRSS"]) - before
    assert grown < 50 * MB, f"the server grew by {grown / MB:.0f} MB"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_every_body_route_and_role_is_refused_before_the_body(
    served: Served, chunked: bool
) -> None:
    routes = _body_routes(served)
    assert set(ROUTES) <= set(routes), set(ROUTES) - set(routes)
    for (method, template), takes_body in sorted(routes.items()):
        path = _filled(template)
        length = None if chunked else HUGE
        kind = "application/dicom" if template.endswith(("/dicom", "/sr")) \
            else "application/json"
        for token in (None, "ndr_not-a-token"):
            answer = exchange(served, method, path, token=token, length=length, send=HUGE,
                              chunked=chunked, content_type=kind)
            assert (answer.status, answer.headers["connection"]) == (401, "close"), \
                (method, template, answer)
            assert answer.sent < HUGE and answer.headers["www-authenticate"] == "Bearer"
        allowed, limit = ROUTES.get((method, template), (None, None))
        for role in ROLES:
            answer = exchange(served, method, path, token=served.tokens[role], length=length,
                              send=HUGE, chunked=chunked, content_type=kind)
            what = (method, template, role, answer.status, answer.body[:200])
            assert answer.sent < HUGE and answer.headers["connection"] == "close", what
            if allowed is None:  # a route this test does not know: refused all the same
                assert answer.status in (403, 413), what
            elif role in allowed and chunked and not takes_body:
                # Nothing reads the body: the route answers (no case 1), and closes.
                assert answer.status == 404, what
            elif role in allowed:
                assert answer.status == 413, what
                assert httpx.Response(413, content=answer.body).json()["limit_bytes"] == limit
                if chunked:  # read up to the limit, not beyond (plus what is in flight)
                    assert limit <= answer.sent < limit + 16 * MB, what
            else:
                assert answer.status == 403, what
                assert "needs one of: " + ", ".join(sorted(allowed)) in answer.body.decode()


def test_a_declared_length_over_the_limit_is_refused_without_waiting_for_the_body(
    served: Served
) -> None:
    # 2 MB declared, 10 bytes sent, and the client waits: the answer comes at once.
    answer = exchange(served, "POST", "/api/v1/cases", token=served.tokens["admin"],
                      length=2 * MB, send=10)
    assert answer.status == 413 and answer.sent <= 10
    # Just under and just over a limit.
    radiologist = served.tokens["radiologist"]
    answer = exchange(served, "POST", "/api/v1/cases/1/sr", token=radiologist,
                      length=2 * MB + 1, send=0, content_type="application/dicom")
    assert answer.status == 413
    answer = exchange(served, "POST", "/api/v1/cases/1/sr", token=radiologist,
                      length=2 * MB, send=2 * MB, content_type="application/dicom")
    assert answer.status == 400 and answer.sent == 2 * MB  # read whole: not DICOM
    assert "not a readable DICOM file" in answer.body.decode()


def test_a_client_that_expects_100_continue_gets_the_refusal_instead(served: Served) -> None:
    # curl sends "Expect: 100-continue" with large bodies and waits: the server's first
    # answer is the refusal, so the body is never sent at all.
    expect = ("Expect: 100-continue",)
    for token, status in ((None, 401), (served.tokens["specialist"], 403)):
        answer = exchange(served, "POST", "/api/v1/cases/1/sr", token=token, length=HUGE,
                          content_type="application/dicom", extra=expect)
        assert (answer.status, answer.sent) == (status, 0)
    answer = exchange(served, "POST", "/api/v1/cases/1/sr", token=served.tokens["radiologist"],
                      length=2 * MB + 1, content_type="application/dicom", extra=expect)
    assert (answer.status, answer.sent) == (413, 0)
    # An admitted body is asked for: 100 Continue comes first.
    answer = exchange(served, "POST", "/api/v1/cases/1/sr", token=served.tokens["radiologist"],
                      length=10, content_type="application/dicom", extra=expect)
    assert answer.status == 100


def test_a_content_length_that_lies_does_not_carry_more_body(served: Served) -> None:
    specialist = served.tokens["specialist"]
    # 10 bytes declared, 5 MB sent: the route sees 10 bytes (not JSON: 422), and the rest
    # is a malformed next request (400 from the HTTP parser, which may see it first).
    answer = exchange(served, "POST", "/api/v1/recist/evaluate", token=specialist,
                      length=10, send=5 * MB, prefix=b'{"criteria')
    assert (answer.status, answer.status == 400 or b"not valid JSON" in answer.body) \
        in ((400, True), (422, True)), answer
    # A small Content-Length and chunked framing together: never more than the limit.
    answer = exchange(served, "POST", "/api/v1/recist/evaluate", token=specialist,
                      length=10, send=HUGE, chunked=True)
    assert answer.status in (400, 413) and answer.sent < HUGE, answer
    assert httpx.get(f"{served.url}/healthz").status_code == 200


def test_a_chunked_body_within_the_limit_is_read_whole(served: Served) -> None:
    payload = (b'{"criteria": "RECIST1.1", "timepoints": [{"id": "BL", "date": "2026-01-05"}, '
               b'{"id": "FU1", "date": "2026-03-02"}], "lesions": [{"id": "T1", "kind": '
               b'"target", "organ": "lung", "nodal": false, "measurements": '
               b'{"BL": 32.0, "FU1": 20.0}}]}')

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(payload), 7):
            yield payload[start:start + 7]

    for role in ROLES:
        r = httpx.post(f"{served.url}/api/v1/recist/evaluate", content=pieces(), headers={
            "Authorization": f"Bearer {served.tokens[role]}",
            "Content-Type": "application/json"})
        assert r.status_code == 200 and r.json()["timepoints"][-1]["overall_response"] == "PR"


def _multipart(parts: list[bytes], boundary: str) -> bytes:
    delimiter = b"\r\n--" + boundary.encode()
    return b"".join(delimiter + b"\r\nContent-Type: application/dicom\r\n\r\n" + p
                    for p in parts) + delimiter + b"--\r\n"


def test_a_multipart_upload_of_more_than_100000_parts_stores_nothing(served: Served) -> None:
    with served.orthanc.client() as client:
        before = client.statistics()
    boundary = "b"
    body = b"".join(b"\r\n--b\r\n\r\nx" for _ in range(100_001)) + b"\r\n--b--\r\n"
    r = httpx.post(f"{served.url}/api/v1/dicom", content=body, timeout=120, headers={
        "Authorization": f"Bearer {served.tokens['uploader']}",
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'})
    assert r.status_code == 413, r.text
    assert r.json() == {"detail": "the multipart body has more than 100,000 parts; nothing "
                                  "was stored", "max_parts": 100_000}
    assert list((served.data_dir / "spool").iterdir()) == []
    with served.orthanc.client() as client:
        assert client.statistics() == before
    # The same door takes a real multipart upload.
    files = [to_bytes(ds) for ds in tiny_ct_series(3, patient_id="PARTS")]
    r = httpx.post(f"{served.url}/api/v1/dicom", content=_multipart(files, "nadir-parts"),
                   headers={"Authorization": f"Bearer {served.tokens['admin']}",
                            "Content-Type": "multipart/related; boundary=nadir-parts"})
    assert r.status_code == 200 and len(r.json()["instances"]) == 3
    assert list((served.data_dir / "spool").iterdir()) == []


#: Reads that take no body, as the workstation sends them (the series metadata, gzipped when
#: accepted; the report; the case's measurements; an asset): a body sent anyway is refused or
#: ignored like any other.
READS = {
    "/dicom-web/studies/1.2.3/series/1.2.3.4/metadata": READERS,
    "/api/v1/cases/1/report?format=pdf": READERS,
    "/api/v1/cases/1/measurements": READERS,
    "/assets/index-missing.js": None,  # public: the page's own files
}


def test_reads_sent_a_body_know_the_caller_first_and_never_read_it(served: Served) -> None:
    gzip_ok = ("Accept-Encoding: gzip",)
    for path, readers in READS.items():
        if readers is not None:
            for token in (None, "ndr_not-a-token"):
                answer = exchange(served, "GET", path, token=token, length=HUGE, send=HUGE,
                                  extra=gzip_ok)
                assert (answer.status, answer.headers["connection"]) == (401, "close"), path
                assert answer.sent < HUGE, path
            wrong = exchange(served, "GET", path, token=served.tokens["uploader"],
                             length=HUGE, send=HUGE, extra=gzip_ok)
            assert (wrong.status, wrong.sent < HUGE) == (403, True), (path, wrong)
        token = served.tokens["specialist"] if readers is not None else None
        # Oversized: refused by its declared length, before a byte of it is read.
        big = exchange(served, "GET", path, token=token, length=HUGE, send=HUGE, extra=gzip_ok)
        assert (big.status, big.headers["connection"]) == (413, "close"), (path, big)
        assert big.sent < HUGE
        assert httpx.Response(413, content=big.body).json()["limit_bytes"] == MB
        # Malformed and small: not read; the read answers as without it (nothing here by
        # these ids and names) and closes the connection.
        junk = b'{"not json'
        odd = exchange(served, "GET", path, token=token, length=len(junk), send=len(junk),
                       prefix=junk, extra=gzip_ok)
        assert (odd.status, odd.headers["connection"]) == (404, "close"), (path, odd)
