"""Enumerations of OMA MLP 3.x: result codes, identity types and request options.

The result-code table follows OMA-TS-MLP-V3_5 §5.4.1; earlier 3.x versions use a
subset of it. Numbers the specification leaves unassigned (8-99, 102, 205, 206,
209-299, ...) have no member here.
"""

from __future__ import annotations

import enum

__all__ = [
    "LocType",
    "MsidEncoding",
    "MsidType",
    "Prio",
    "ResType",
    "RespReq",
    "ResultCode",
]


class ResultCode(enum.IntEnum):
    """``result/@resid``: the outcome of a request or of one target (MLP §5.4).

    Ranges: 0-99 location server, 100-199 request, 200-299 network,
    600-699 MLS client (returned by a client when the server pushes reports).
    """

    OK = 0
    SYSTEM_FAILURE = 1
    UNSPECIFIED_ERROR = 2
    UNAUTHORIZED_APPLICATION = 3
    UNKNOWN_SUBSCRIBER = 4
    ABSENT_SUBSCRIBER = 5
    POSITION_METHOD_FAILURE = 6
    TIMEOUT = 7
    CONGESTION_IN_LOCATION_SERVER = 101
    UNSUPPORTED_VERSION = 103
    TOO_MANY_POSITION_ITEMS = 104
    FORMAT_ERROR = 105
    SYNTAX_ERROR = 106
    PROTOCOL_ELEMENT_NOT_SUPPORTED = 107
    SERVICE_NOT_SUPPORTED = 108
    PROTOCOL_ELEMENT_ATTRIBUTE_NOT_SUPPORTED = 109
    INVALID_PROTOCOL_ELEMENT_VALUE = 110
    INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE = 111
    PROTOCOL_ELEMENT_VALUE_NOT_SUPPORTED = 112
    PROTOCOL_ELEMENT_ATTRIBUTE_VALUE_NOT_SUPPORTED = 113
    CANCELLATION_OF_TRIGGERED_LOCATION_REQUEST = 114
    INVALID_MSID_IN_TLRSR = 115
    TLRSR_FOR_INDIVIDUAL_TARGET_NOT_SUPPORTED = 116
    NO_ANALYTIC_DATA_AVAILABLE = 117
    QOP_NOT_ATTAINABLE = 201
    POSITIONING_NOT_ALLOWED = 202
    CONGESTION_IN_MOBILE_NETWORK = 203
    DISALLOWED_BY_LOCAL_REGULATIONS = 204
    MISCONFIGURATION_OF_LOCATION_SERVER = 207
    TARGET_MOVED_TO_NEW_MSC_SGSN = 208
    STANDARD_LOCATION_REPORT_SERVICE_NOT_SUPPORTED = 601
    MLS_CLIENT_ERROR = 602
    STANDARD_LOCATION_REPORT_SERVICE_NOT_ACCEPTED = 603
    SUBSCRIBER_IN_STANDARD_LOCATION_REPORT_SERVICE_NOT_VALID = 604
    INVALID_SERVICE_ID_IN_STANDARD_LOCATION_REPORT_SERVICE = 605

    @property
    def slogan(self) -> str:
        """The exact text the specification puts in ``<result>`` for this code."""
        return _SLOGANS[self]

    @classmethod
    def from_slogan(cls, slogan: str) -> ResultCode:
        """Look a code up by its slogan (surrounding blanks and case ignored).

        Raises:
            ValueError: no code has this slogan.
        """
        try:
            return _BY_SLOGAN[" ".join(slogan.split()).upper()]
        except KeyError:
            raise ValueError(f"unknown MLP result slogan {slogan!r}") from None


# Slogans are the member names with spaces, except where the spec's text has a
# character a Python name cannot carry ("MSC/SGSN").
_SLOGANS: dict[ResultCode, str] = {code: code.name.replace("_", " ") for code in ResultCode}
_SLOGANS[ResultCode.TARGET_MOVED_TO_NEW_MSC_SGSN] = "TARGET MOVED TO NEW MSC/SGSN"
_BY_SLOGAN: dict[str, ResultCode] = {slogan: code for code, slogan in _SLOGANS.items()}


class MsidType(enum.StrEnum):
    """``msid/@type``: the kind of target identity (MLP §5.3, 3.0 to 3.5)."""

    MSISDN = "MSISDN"
    IMSI = "IMSI"
    IMEI = "IMEI"
    MIN = "MIN"
    MDN = "MDN"
    EME_MSID = "EME_MSID"
    ASID = "ASID"
    OPE_ID = "OPE_ID"
    IPV4 = "IPV4"
    IPV6 = "IPV6"
    SESSID = "SESSID"
    SIP_URI = "SIP_URI"
    TEL_URL = "TEL_URL"
    NAI = "NAI"
    URI = "URI"
    ANONYMOUS = "ANONYMOUS"
    VENUE_ID = "VENUE_ID"
    LOCATION_ID = "LOCATION_ID"


class MsidEncoding(enum.StrEnum):
    """``msid/@enc``: plain text or an identity encrypted by the location server."""

    ASC = "ASC"
    CRP = "CRP"


class LocType(enum.StrEnum):
    """``loc_type/@type``: which location the client wants (MLP §5.3)."""

    CURRENT = "CURRENT"
    LAST = "LAST"
    CURRENT_OR_LAST = "CURRENT_OR_LAST"
    LAST_OR_CURRENT = "LAST_OR_CURRENT"
    INITIAL = "INITIAL"
    CURRENT_AND_INTERMEDIATE = "CURRENT_AND_INTERMEDIATE"
    LOCATION_URI = "LOCATION_URI"


class ResType(enum.StrEnum):
    """``slir/@res_type``: answer in the HTTP response, or later by a report."""

    SYNC = "SYNC"
    ASYNC = "ASYNC"


class RespReq(enum.StrEnum):
    """``resp_req/@type``: how response time trades against accuracy."""

    NO_DELAY = "NO_DELAY"
    LOW_DELAY = "LOW_DELAY"
    DELAY_TOL = "DELAY_TOL"


class Prio(enum.StrEnum):
    """``prio/@type``: request priority."""

    NORMAL = "NORMAL"
    HIGH = "HIGH"
