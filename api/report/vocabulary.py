"""Words the report uses for codes: response categories, lesion statuses and kinds.

Response codes are those of the engine (:class:`measurement.result.Response`): RECIST 1.1
Table 1 categories, and under iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-52) the
i-prefixed overall categories. The report always shows a code with its meaning
("PR — partial response"), since a family reads it as well as a clinician.
"""

from __future__ import annotations

from types import MappingProxyType

from measurement.result import Response

RESPONSE_MEANINGS = MappingProxyType({
    Response.CR.value: "complete response",
    Response.PR.value: "partial response",
    Response.SD.value: "stable disease",
    Response.PD.value: "progressive disease",
    Response.NE.value: "not evaluable",
    Response.NON_CR_NON_PD.value: "neither complete response nor progression",
    Response.NA.value: "no lesions in this category",
    Response.ICR.value: "complete response (iRECIST)",
    Response.IPR.value: "partial response (iRECIST)",
    Response.ISD.value: "stable disease (iRECIST)",
    Response.IUPD.value: "unconfirmed progression (iRECIST)",
    Response.ICPD.value: "confirmed progression (iRECIST)",
})

# How a code is printed: NON_CR_NON_PD is the contract's spelling of "non-CR/non-PD".
RESPONSE_DISPLAY_CODES = MappingProxyType({Response.NON_CR_NON_PD.value: "non-CR/non-PD"})

# Target lesions (RECIST 1.1 section 4.3.2) and non-target lesions (section 4.3.3); every
# value of measurement.vocabulary.LesionStatus has its words here (a unit test checks).
STATUS_MEANINGS = MappingProxyType({
    "too_small": "too small to measure (counts 5 mm)",
    "not_evaluable": "not evaluable",
    "disappeared": "disappeared",
    "present": "present",
    "absent": "absent",
    "unequivocal_progression": "unequivocal progression",
    # iRECIST (Seymour et al. 2017, Table 2): after unconfirmed progression (iUPD) caused by
    # non-target disease, a further increase in its size confirms the progression (iCPD).
    "unequivocal_further_increase": "unequivocal further increase (grew again after "
                                    "unconfirmed progression, iUPD)",
    "not_evaluated": "not evaluated",
    # iRECIST (Seymour et al. 2017, Table 2): any increase of a new-lesion non-target
    # after unconfirmed progression (iUPD) confirms it (iCPD).
    "increased": "increased (a new lesion followed without a size grew)",
})

KIND_NAMES = MappingProxyType({
    "target": "target",
    "non_target": "non-target",
    "new": "new lesion",
})

CRITERIA_NAMES = MappingProxyType({
    "RECIST1.1": "RECIST 1.1",
    "iRECIST": "iRECIST",
})

#: Where the response that counts in a case read twice comes from (issue 21), as the
#: timepoint table says it under the response.
FINAL_SOURCE_NAMES = MappingProxyType({
    "agreed": "readings agree",
    "adjudicated": "adjudicated",
    "adjudication_pending": "awaiting adjudication",
    "primary": "not compared",
})

SEX_NAMES = MappingProxyType({"M": "male", "F": "female", "O": "other", "": "not recorded"})


def response_code(code: str) -> str:
    """The code as printed (``non-CR/non-PD`` for ``NON_CR_NON_PD``)."""
    return RESPONSE_DISPLAY_CODES.get(code, code)


def response_meaning(code: str) -> str:
    """The meaning of a response code in words, e.g. ``partial response`` for ``PR``."""
    return RESPONSE_MEANINGS[code]


def response_label(code: str | None) -> str:
    """``"PR — partial response"``; an em dash when there is no code."""
    if code is None:
        return "—"
    return f"{response_code(code)} — {response_meaning(code)}"
