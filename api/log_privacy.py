"""Keep element values that libraries quote out of the service's log.

pydicom reports odd headers by quoting the value ("Invalid value for VR PN: 'Doe^Jane'"),
both to its logger and as a Python warning, so a lenient read of a patient's file would
write the patient's data into the server's log. Both paths are rewritten here to say only
that pydicom had something to say; the file itself is checked and its problems are told to
the client that sent it, never logged.
"""

from __future__ import annotations

import logging
import warnings

WITHHELD = "pydicom %s (text withheld from the log: it may quote element values)"


class _WithholdMessage(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = WITHHELD % record.levelname.lower(), ()
        record.exc_info = record.exc_text = None
        return True


class _WithholdPydicomWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if "pydicom" in record.getMessage():
            record.msg, record.args = WITHHELD % "warning", ()
        return True


def withhold_library_values() -> None:
    """Install the filters (idempotent; process-wide, as logging is)."""
    pydicom_log = logging.getLogger("pydicom")
    if not any(isinstance(f, _WithholdMessage) for f in pydicom_log.filters):
        pydicom_log.addFilter(_WithholdMessage())
    # Python warnings go through logging ("py.warnings"), where pydicom's are rewritten.
    logging.captureWarnings(True)
    captured = logging.getLogger("py.warnings")
    if not any(isinstance(f, _WithholdPydicomWarnings) for f in captured.filters):
        captured.addFilter(_WithholdPydicomWarnings())
    # Once per place is enough for what remains.
    warnings.filterwarnings("once", category=UserWarning, module=r"pydicom(\..*)?$")
