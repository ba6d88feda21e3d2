"""The result-code table and the error types."""

from __future__ import annotations

import pytest

from mlp import MlpDecodeError, MlpError, MlpUnknownServiceError, ResultCode
from mlp.codes import LocType, MsidType

# OMA-TS-MLP-V3_5 §5.4.1, typed in from the specification's table.
SPEC_TABLE = {
    0: "OK",
    1: "SYSTEM FAILURE",
    2: "UNSPECIFIED ERROR",
    3: "UNAUTHORIZED APPLICATION",
    4: "UNKNOWN SUBSCRIBER",
    5: "ABSENT SUBSCRIBER",
    6: "POSITION METHOD FAILURE",
    7: "TIMEOUT",
    101: "CONGESTION IN LOCATION SERVER",
    103: "UNSUPPORTED VERSION",
    104: "TOO MANY POSITION ITEMS",
    105: "FORMAT ERROR",
    106: "SYNTAX ERROR",
    107: "PROTOCOL ELEMENT NOT SUPPORTED",
    108: "SERVICE NOT SUPPORTED",
    109: "PROTOCOL ELEMENT ATTRIBUTE NOT SUPPORTED",
    110: "INVALID PROTOCOL ELEMENT VALUE",
    111: "INVALID PROTOCOL ELEMENT ATTRIBUTE VALUE",
    112: "PROTOCOL ELEMENT VALUE NOT SUPPORTED",
    113: "PROTOCOL ELEMENT ATTRIBUTE VALUE NOT SUPPORTED",
    114: "CANCELLATION OF TRIGGERED LOCATION REQUEST",
    115: "INVALID MSID IN TLRSR",
    116: "TLRSR FOR INDIVIDUAL TARGET NOT SUPPORTED",
    117: "NO ANALYTIC DATA AVAILABLE",
    201: "QOP NOT ATTAINABLE",
    202: "POSITIONING NOT ALLOWED",
    203: "CONGESTION IN MOBILE NETWORK",
    204: "DISALLOWED BY LOCAL REGULATIONS",
    207: "MISCONFIGURATION OF LOCATION SERVER",
    208: "TARGET MOVED TO NEW MSC/SGSN",
    601: "STANDARD LOCATION REPORT SERVICE NOT SUPPORTED",
    602: "MLS CLIENT ERROR",
    603: "STANDARD LOCATION REPORT SERVICE NOT ACCEPTED",
    604: "SUBSCRIBER IN STANDARD LOCATION REPORT SERVICE NOT VALID",
    605: "INVALID SERVICE ID IN STANDARD LOCATION REPORT SERVICE",
}


def test_table_matches_the_specification_exactly() -> None:
    assert {int(code): code.slogan for code in ResultCode} == SPEC_TABLE


def test_named_members() -> None:
    assert int(ResultCode.UNAUTHORIZED_APPLICATION) == 3
    assert ResultCode.UNAUTHORIZED_APPLICATION.slogan == "UNAUTHORIZED APPLICATION"
    assert int(ResultCode.QOP_NOT_ATTAINABLE) == 201
    assert int(ResultCode.PROTOCOL_ELEMENT_NOT_SUPPORTED) == 107


@pytest.mark.parametrize("unassigned", [8, 10, 99, 102, 205, 206, 209, 500])
def test_unassigned_numbers_are_not_codes(unassigned: int) -> None:
    with pytest.raises(ValueError):
        ResultCode(unassigned)


def test_from_slogan() -> None:
    assert ResultCode.from_slogan(" qop  not attainable ") is ResultCode.QOP_NOT_ATTAINABLE
    assert ResultCode.from_slogan("TARGET MOVED TO NEW MSC/SGSN") == 208
    with pytest.raises(ValueError):
        ResultCode.from_slogan("NOT A SLOGAN")


def test_decode_error_carries_code_and_add_info() -> None:
    error = MlpDecodeError(ResultCode.FORMAT_ERROR, "slir/eqop/hor_acc: bad", line=3)
    assert isinstance(error, MlpError)
    assert error.result_code is ResultCode.FORMAT_ERROR
    assert error.add_info == "slir/eqop/hor_acc: bad"
    assert error.line == 3
    assert str(error) == "105 FORMAT ERROR: slir/eqop/hor_acc: bad"


def test_unknown_service_error_is_108() -> None:
    error = MlpUnknownServiceError("'tlrr' is not supported")
    assert isinstance(error, MlpDecodeError)
    assert error.result_code is ResultCode.SERVICE_NOT_SUPPORTED


def test_enumerations_cover_the_spec_values() -> None:
    assert {"MSISDN", "IMSI", "IMEI", "SIP_URI", "TEL_URL", "ANONYMOUS"} <= set(MsidType)
    assert set(LocType) == {
        "CURRENT",
        "LAST",
        "CURRENT_OR_LAST",
        "LAST_OR_CURRENT",
        "INITIAL",
        "CURRENT_AND_INTERMEDIATE",
        "LOCATION_URI",
    }
