"""What changed between two looks at the modem: a pure function over two snapshots.

The daemon reduces each cycle to a :class:`Snapshot` (is the modem there, what the
SIM says, is there service, on which RAT and cell) and asks :func:`detect_changes`
what happened since the previous one. Each :class:`Change` becomes a log event, a
counter and, for the kinds that need a person, an alert.

Identities carry forward: while the SIM is locked or missing, or the modem is gone,
the snapshot keeps the last IMSI/ICCID it saw (see :func:`take_snapshot`), so a SIM
swapped while the modem was unplugged is still noticed when it comes back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from modem.models import CellObservation, Rat, ServingCell, SimIdentity, SimState

__all__ = [
    "Change",
    "EventKind",
    "Snapshot",
    "detect_changes",
    "identity_change",
    "take_snapshot",
]


class EventKind(enum.StrEnum):
    """Every event the daemon reports; the values are the log/metric/alert names."""

    CELL_CHANGED = "cell_changed"
    RAT_CHANGED = "rat_changed"
    SERVICE_LOST = "service_lost"
    SERVICE_RESTORED = "service_restored"
    SIM_REMOVED = "sim_removed"
    SIM_INSERTED = "sim_inserted"
    SIM_SWAPPED = "sim_swapped"
    PIN_REQUIRED = "pin_required"
    MODEM_LOST = "modem_lost"
    MODEM_BACK = "modem_back"
    GMLC_UNREACHABLE = "gmlc_unreachable"
    GMLC_BACK = "gmlc_back"
    GMLC_REJECTED = "gmlc_rejected"
    QUEUE_DROPPED = "queue_dropped"

    @property
    def severity(self) -> str:
        """``critical``, ``warning`` or ``info``: how urgently a person should look."""
        return _SEVERITY.get(self, "info")


_SEVERITY = {
    EventKind.SERVICE_LOST: "warning",
    EventKind.SIM_REMOVED: "critical",
    EventKind.SIM_SWAPPED: "critical",
    EventKind.PIN_REQUIRED: "critical",
    EventKind.MODEM_LOST: "critical",
    EventKind.GMLC_UNREACHABLE: "warning",
    EventKind.GMLC_REJECTED: "critical",
    EventKind.QUEUE_DROPPED: "warning",
}

_LOCKED_STATES = frozenset(
    {
        SimState.SIM_PIN,
        SimState.SIM_PUK,
        SimState.SIM_PIN2,
        SimState.SIM_PUK2,
        SimState.PH_SIM_PIN,
        SimState.PH_NET_PIN,
    }
)


@dataclass(frozen=True, slots=True)
class CellKey:
    """The global identity of a serving cell (what a cell change changes)."""

    rat: Rat | None
    mcc: str | None
    mnc: str | None
    area: int | None
    ci: int | None
    pci: int | None

    def describe(self) -> str:
        """``LTE 228-01 area 1234 cell 27440068`` (unknown parts as ``?``)."""

        def show(value: object) -> str:
            return "?" if value is None else str(value)

        return (
            f"{show(self.rat)} {show(self.mcc)}-{show(self.mnc)} "
            f"area {show(self.area)} cell {show(self.ci)}"
        )

    @classmethod
    def of(cls, cell: ServingCell) -> CellKey:
        """The key of a serving cell."""
        return cls(cell.rat, cell.mcc, cell.mnc, cell.area, cell.ci, cell.pci)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one cycle saw, reduced to what change detection needs."""

    modem_present: bool
    sim_state: SimState | None = None
    imsi: str | None = None
    iccid: str | None = None
    registered: bool = False
    rat: Rat | None = None
    cell: CellKey | None = None

    def modem_gone(self) -> Snapshot:
        """This snapshot with the modem absent and everything else carried forward."""
        return replace(self, modem_present=False)


@dataclass(frozen=True, slots=True)
class Change:
    """One detected event, with plain words and machine-readable details."""

    kind: EventKind
    message: str
    details: dict[str, str | int | None] = field(default_factory=dict)


def take_snapshot(
    previous: Snapshot | None, sim: SimIdentity, observation: CellObservation | None
) -> Snapshot:
    """Reduces one cycle's SIM reading and observation to a snapshot.

    Args:
        previous: the last snapshot, whose SIM identity carries forward while the
            SIM cannot tell its own (locked, missing).
        sim: what the SIM said this cycle.
        observation: the cell observation, or ``None`` when none was taken.

    Returns:
        The new snapshot (modem present).
    """
    imsi, iccid = sim.imsi, sim.iccid
    if (imsi is None or iccid is None) and previous is not None:
        imsi, iccid = previous.imsi, previous.iccid
    registered = observation is not None and observation.is_registered
    serving = observation.serving if observation is not None else None
    rat = serving.rat if serving is not None else None
    if rat is None and observation is not None:
        rat = next((r.rat for r in observation.registrations if r.rat is not None), None)
    return Snapshot(
        modem_present=True,
        sim_state=sim.state,
        imsi=imsi,
        iccid=iccid,
        registered=registered,
        rat=rat if registered else None,
        cell=CellKey.of(serving) if registered and serving is not None else None,
    )


def detect_changes(before: Snapshot | None, after: Snapshot) -> tuple[Change, ...]:
    """Lists what changed from ``before`` to ``after`` (``before`` None: first look).

    The first look reports only conditions a person must fix (no SIM, SIM locked);
    the rest needs a previous state to differ from.

    Returns:
        The changes, in the order a person would want to read them.
    """
    changes: list[Change] = []
    if before is not None and before.modem_present != after.modem_present:
        if after.modem_present:
            changes.append(Change(EventKind.MODEM_BACK, "the modem is back"))
        else:
            changes.append(Change(EventKind.MODEM_LOST, "the modem is gone (unplugged or reset)"))
            return tuple(changes)
    if not after.modem_present:
        return tuple(changes)
    changes.extend(_sim_changes(before, after))
    if before is None or not before.modem_present:
        return tuple(changes)
    changes.extend(_radio_changes(before, after))
    return tuple(changes)


def _sim_changes(before: Snapshot | None, after: Snapshot) -> list[Change]:
    changes: list[Change] = []
    previous_state = before.sim_state if before is not None else None
    if after.sim_state == SimState.NOT_INSERTED and previous_state != SimState.NOT_INSERTED:
        message = "the SIM was removed" if before is not None else "there is no SIM in the modem"
        changes.append(
            Change(
                EventKind.SIM_REMOVED,
                message,
                {"imsi": before.imsi if before is not None else None},
            )
        )
    elif previous_state == SimState.NOT_INSERTED and after.sim_state != SimState.NOT_INSERTED:
        changes.append(Change(EventKind.SIM_INSERTED, "a SIM was inserted"))
    if after.sim_state in _LOCKED_STATES and previous_state != after.sim_state:
        word = "PUK" if after.sim_state in (SimState.SIM_PUK, SimState.SIM_PUK2) else "PIN"
        changes.append(
            Change(
                EventKind.PIN_REQUIRED,
                f"the SIM is locked and needs its {word} ({after.sim_state.value})",
                {"sim_state": after.sim_state.value},
            )
        )
    if before is not None and before.imsi is not None and before.iccid is not None:
        swapped = identity_change(before.imsi, before.iccid, after)
        if swapped is not None:
            changes.append(swapped)
    return changes


def identity_change(imsi: str, iccid: str, after: Snapshot) -> Change | None:
    """A SIM_SWAPPED change when ``after`` carries another SIM than ``imsi``/``iccid``.

    Used on its own at start-up, against the identity remembered from the last run.
    """
    if after.imsi is None or (after.imsi == imsi and after.iccid == iccid):
        return None
    return Change(
        EventKind.SIM_SWAPPED,
        f"the SIM changed: IMSI {imsi} -> {after.imsi}, ICCID {iccid} -> {after.iccid}",
        {"old_imsi": imsi, "new_imsi": after.imsi, "old_iccid": iccid, "new_iccid": after.iccid},
    )


def _radio_changes(before: Snapshot, after: Snapshot) -> list[Change]:
    changes: list[Change] = []
    if before.registered and not after.registered:
        changes.append(Change(EventKind.SERVICE_LOST, "the modem lost network service"))
        return changes
    if not before.registered and after.registered:
        where = after.cell.describe() if after.cell is not None else "an unidentified cell"
        changes.append(Change(EventKind.SERVICE_RESTORED, f"network service is back on {where}"))
        return changes
    if not after.registered:
        return changes
    if before.rat is not None and after.rat is not None and before.rat != after.rat:
        changes.append(
            Change(
                EventKind.RAT_CHANGED,
                f"the radio technology changed from {before.rat} to {after.rat}",
                {"from": str(before.rat), "to": str(after.rat)},
            )
        )
    if before.cell is not None and after.cell is not None and before.cell != after.cell:
        changes.append(
            Change(
                EventKind.CELL_CHANGED,
                f"the serving cell changed from {before.cell.describe()} to "
                f"{after.cell.describe()}",
                {"from": before.cell.describe(), "to": after.cell.describe()},
            )
        )
    return changes
