"""Change detection as a pure function over two snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

from appliance.changes import EventKind, Snapshot, detect_changes, take_snapshot
from modem.models import (
    CellObservation,
    Rat,
    Registration,
    RegistrationDomain,
    RegistrationStatus,
    ServingCell,
    SimIdentity,
    SimState,
)

SIM_A = SimIdentity(SimState.READY, imsi="228011234567890", iccid="8941011234567890123")
SIM_B = SimIdentity(SimState.READY, imsi="228019999999999", iccid="8941019999999999999")


def observation(
    stat: RegistrationStatus, *, ci: int = 27440068, rat: Rat = Rat.LTE
) -> CellObservation:
    registration = Registration(RegistrationDomain.CEREG, stat, tac=1234, ci=ci, rat=rat)
    serving = ServingCell(rat=rat, mcc="228", mnc="01", tac=1234, ci=ci, pci=101)
    return CellObservation(
        observed_at=datetime(2026, 1, 1, tzinfo=UTC),
        registrations=(registration,),
        serving=serving if stat.is_registered else None,
    )


def kinds(before: Snapshot | None, after: Snapshot) -> list[EventKind]:
    return [change.kind for change in detect_changes(before, after)]


HOME = take_snapshot(None, SIM_A, observation(RegistrationStatus.HOME))


def test_nothing_changes_nothing_reported() -> None:
    again = take_snapshot(HOME, SIM_A, observation(RegistrationStatus.HOME))
    assert kinds(HOME, again) == []
    assert kinds(None, HOME) == []


def test_cell_change() -> None:
    moved = take_snapshot(HOME, SIM_A, observation(RegistrationStatus.HOME, ci=45948417))
    changes = detect_changes(HOME, moved)
    assert [c.kind for c in changes] == [EventKind.CELL_CHANGED]
    assert "45948417" in changes[0].message


def test_rat_change_is_also_a_cell_change() -> None:
    umts = take_snapshot(HOME, SIM_A, observation(RegistrationStatus.HOME, ci=5, rat=Rat.UMTS))
    assert kinds(HOME, umts) == [EventKind.RAT_CHANGED, EventKind.CELL_CHANGED]


def test_service_lost_and_restored() -> None:
    searching = take_snapshot(HOME, SIM_A, observation(RegistrationStatus.SEARCHING))
    assert kinds(HOME, searching) == [EventKind.SERVICE_LOST]
    assert kinds(searching, HOME) == [EventKind.SERVICE_RESTORED]
    assert kinds(searching, searching) == []


def test_roaming_still_counts_as_service() -> None:
    roaming = take_snapshot(HOME, SIM_A, observation(RegistrationStatus.ROAMING))
    assert kinds(HOME, roaming) == []


def test_sim_swap_detected_directly() -> None:
    swapped = take_snapshot(HOME, SIM_B, observation(RegistrationStatus.HOME))
    changes = detect_changes(HOME, swapped)
    assert [c.kind for c in changes] == [EventKind.SIM_SWAPPED]
    assert changes[0].details["new_imsi"] == SIM_B.imsi


def test_sim_removed_then_another_inserted() -> None:
    removed = take_snapshot(HOME, SimIdentity(SimState.NOT_INSERTED), None)
    assert removed.imsi == SIM_A.imsi  # identity carries forward
    assert kinds(HOME, removed) == [EventKind.SIM_REMOVED, EventKind.SERVICE_LOST]
    other = take_snapshot(removed, SIM_B, observation(RegistrationStatus.HOME))
    assert kinds(removed, other) == [
        EventKind.SIM_INSERTED,
        EventKind.SIM_SWAPPED,
        EventKind.SERVICE_RESTORED,
    ]


def test_pin_needed() -> None:
    locked = take_snapshot(None, SimIdentity(SimState.SIM_PIN), None)
    changes = detect_changes(None, locked)
    assert [c.kind for c in changes] == [EventKind.PIN_REQUIRED]
    assert "PIN" in changes[0].message
    puk = take_snapshot(locked, SimIdentity(SimState.SIM_PUK), None)
    assert "PUK" in detect_changes(locked, puk)[0].message
    assert kinds(locked, locked) == []


def test_no_sim_at_start_is_reported() -> None:
    assert kinds(None, take_snapshot(None, SimIdentity(SimState.NOT_INSERTED), None)) == [
        EventKind.SIM_REMOVED
    ]


def test_modem_gone_and_back_with_a_different_sim() -> None:
    gone = HOME.modem_gone()
    assert kinds(HOME, gone) == [EventKind.MODEM_LOST]
    assert kinds(gone, gone) == []
    back_same = take_snapshot(gone, SIM_A, observation(RegistrationStatus.HOME))
    assert kinds(gone, back_same) == [EventKind.MODEM_BACK]
    back_other = take_snapshot(gone, SIM_B, observation(RegistrationStatus.HOME))
    assert kinds(gone, back_other) == [EventKind.MODEM_BACK, EventKind.SIM_SWAPPED]


def test_severities() -> None:
    assert EventKind.SIM_SWAPPED.severity == "critical"
    assert EventKind.CELL_CHANGED.severity == "info"
    assert EventKind.GMLC_UNREACHABLE.severity == "warning"
