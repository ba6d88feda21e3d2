"""The read model: what a location request reads, held in memory by every worker.

Answering a SLIR reads a client (its credential hash, networks, certificate pins, domains
and authorized targets), the enabled appliance holding the target's SIM, its latest
observation and the cells that observation names. Reading them from the database on every
request cost three round trips; here they are loaded once and kept current from the
change log (:mod:`gmlc.store.changes`), so the request path reads no database at all and
authorization is a few set and dictionary look-ups, whatever the number of SIMs.

What is held:

* clients by id (:class:`~gmlc.store.ClientRecord`: targets, networks, pins and domains
  as frozensets);
* enabled appliances by MSISDN and by IMSI;
* per appliance, its latest observation *prepared*: positioning
  (:func:`gmlc.positioning.locate`) is run once when the observation arrives, with the
  store's cell look-ups recorded, and the request path runs it again over those recorded
  answers only. A cell import therefore reaches a target with its appliance's next
  observation.

Staleness is bounded by the change feed (:mod:`gmlc.changefeed`) that calls
:meth:`ReadModel.apply`: a change committed anywhere is visible here within the feed's
interval plus one reload of the changed entry.

Concurrency: one writer (the feed's thread, or the intake after it stored an
observation, under :attr:`ReadModel` 's lock); readers take no lock, because every entry
is an immutable object swapped into a dictionary in one step.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from gmlc.positioning import (
    AreaEstimate,
    AreaLookup,
    CellKey,
    CellLike,
    CellLookup,
    PositioningLimits,
    locate,
)
from gmlc.store import ApplianceRecord, Change, ClientRecord, ObservationRecord, Store
from mlp.codes import MsidType

__all__ = ["CellCache", "PreparedObservation", "ReadModel", "TargetView", "prepare_observation"]

_AreaKey = tuple[str, int, int, int]
_KINDS: Final = frozenset({"client", "appliance", "observation"})


class CellCache:
    """A short-lived memory of cell database answers (found and not found).

    The cell table only changes when an operator imports a new export, while every
    location request looks the same few cells up; remembering answers for ``ttl_s``
    saves a database round trip per request. An import shows up after at most ``ttl_s``.

    Args:
        find_cells: The store's batch cell lookup.
        find_area: The store's location-area estimate.
        ttl_s: How long an answer is reused.
        max_entries: Bound on remembered answers (least recently used dropped first).
        monotonic: Clock for expiry.
    """

    def __init__(
        self,
        find_cells: CellLookup,
        find_area: AreaLookup,
        *,
        ttl_s: float = 60.0,
        max_entries: int = 50000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._find_cells = find_cells
        self._find_area = find_area
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._monotonic():
                return False, None
            self._entries.move_to_end(key)
            return True, entry[1]

    def _put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._entries[key] = (self._monotonic() + self._ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def find_cells(self, keys: Sequence[CellKey]) -> dict[CellKey, CellLike]:
        """Cells by key, from memory where possible (same contract as the store's)."""
        found: dict[CellKey, CellLike] = {}
        missing: list[CellKey] = []
        for key in keys:
            known, value = self._get(("cell", *key))
            if not known:
                missing.append(key)
            elif value is not None:
                found[key] = value
        if missing:
            looked_up = self._find_cells(missing)
            for key in missing:
                value = looked_up.get(key)
                self._put(("cell", *key), value)
                if value is not None:
                    found[key] = value
        return found

    def find_area(self, radio: str, mcc: int, mnc: int, area: int) -> AreaEstimate | None:
        """A location-area estimate, from memory where possible."""
        key = ("area", radio, mcc, mnc, area)
        known, value = self._get(key)
        if known:
            estimate: AreaEstimate | None = value
            return estimate
        estimate = self._find_area(radio, mcc, mnc, area)
        self._put(key, estimate)
        return estimate


@dataclass(frozen=True, slots=True)
class PreparedObservation:
    """An observation with the cell database answers positioning needs for it.

    Attributes:
        record: The stored observation.
        cells: The cells its report names that the cell database knows.
        areas: Location-area estimates looked up for it (None: unknown area).
    """

    record: ObservationRecord
    cells: Mapping[CellKey, CellLike] = field(default_factory=dict)
    areas: Mapping[_AreaKey, AreaEstimate | None] = field(default_factory=dict)

    def find_cells(self, keys: Sequence[CellKey]) -> Mapping[CellKey, CellLike]:
        """The recorded cells among ``keys`` (the :data:`~gmlc.positioning.CellLookup`)."""
        return {key: self.cells[key] for key in keys if key in self.cells}

    def find_area(self, radio: str, mcc: int, mnc: int, area: int) -> AreaEstimate | None:
        """The recorded area estimate (the :data:`~gmlc.positioning.AreaLookup`)."""
        return self.areas.get((radio, mcc, mnc, area))


@dataclass(frozen=True, slots=True)
class TargetView:
    """An enabled appliance holding a target's SIM, and its latest observation (if any)."""

    appliance: ApplianceRecord
    observation: PreparedObservation | None


def prepare_observation(
    record: ObservationRecord,
    limits: PositioningLimits,
    find_cells: CellLookup,
    find_area: AreaLookup,
) -> PreparedObservation:
    """Run positioning once, recording every cell and area look-up it made.

    The look-ups do not depend on the time (the age checks come first and are made again
    on every request), so the request path gets the same answers from the record.
    """
    cells: dict[CellKey, CellLike] = {}
    areas: dict[_AreaKey, AreaEstimate | None] = {}

    def recording_cells(keys: Sequence[CellKey]) -> Mapping[CellKey, CellLike]:
        found = find_cells(keys)
        cells.update(found)
        return found

    def recording_area(radio: str, mcc: int, mnc: int, area: int) -> AreaEstimate | None:
        estimate = find_area(radio, mcc, mnc, area)
        areas[(radio, mcc, mnc, area)] = estimate
        return estimate

    locate(
        record.report,
        observed_at=record.observed_at,
        find_cells=recording_cells,
        find_area=recording_area,
        limits=limits,
        now=record.observed_at,
    )
    return PreparedObservation(record, cells, areas)


class ReadModel:
    """Clients, enabled appliances and latest observations, in memory (see module doc).

    Args:
        store: Where everything is loaded from.
        limits: Positioning limits (for preparing observations).
        monotonic: Clock for :attr:`loaded_at`.
    """

    def __init__(
        self,
        store: Store,
        limits: PositioningLimits,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._limits = limits
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._clients: dict[str, ClientRecord] = {}
        self._appliances: dict[str, ApplianceRecord] = {}
        self._by_msisdn: dict[str, str] = {}
        self._by_imsi: dict[str, str] = {}
        self._observations: dict[str, PreparedObservation] = {}
        self.loaded_at: float | None = None

    # -- reading (the request path) -----------------------------------------------------

    def client(self, client_id: str) -> ClientRecord | None:
        """The client with that id, or None."""
        return self._clients.get(client_id)

    def target(self, kind: MsidType, value: str) -> TargetView | None:
        """The enabled appliance holding the SIM with that MSISDN or IMSI, or None."""
        index = self._by_msisdn if kind is MsidType.MSISDN else self._by_imsi
        appliance_id = index.get(value)
        if appliance_id is None:
            return None
        appliance = self._appliances.get(appliance_id)
        if appliance is None:
            return None
        return TargetView(appliance, self._observations.get(appliance_id))

    @property
    def sizes(self) -> dict[str, int]:
        """How many clients, enabled appliances and observations are held."""
        return {
            "clients": len(self._clients),
            "appliances": len(self._appliances),
            "observations": len(self._observations),
        }

    # -- loading and keeping current -----------------------------------------------------

    def load(self) -> None:
        """Load everything from the store, replacing what is held.

        Raises:
            StoreError: the database cannot be read.
        """
        clients = {record.client_id: record for record in self._store.list_clients()}
        appliances = {a.appliance_id: a for a in self._store.list_appliances() if a.enabled}
        latest = self._store.latest_observations()
        # Many appliances share cells: each is read once for the whole load.
        cache = CellCache(self._store.find_cells, self._store.area_estimate)
        observations = {
            appliance_id: prepare_observation(
                record, self._limits, cache.find_cells, cache.find_area
            )
            for appliance_id, record in latest.items()
            if appliance_id in appliances
        }
        with self._lock:
            self._clients = clients
            self._appliances = appliances
            self._observations = observations
            self._by_msisdn = {a.msisdn: i for i, a in appliances.items() if a.msisdn}
            self._by_imsi = {a.imsi: i for i, a in appliances.items()}
            self.loaded_at = self._monotonic()

    def apply(self, changes: Iterable[Change]) -> None:
        """Reload what the changes name (each client or appliance once).

        Raises:
            StoreError: the database cannot be read (what was applied so far stays).
        """
        wanted: dict[str, set[str]] = {kind: set() for kind in _KINDS}
        for change in changes:
            if change.kind in wanted:
                wanted[change.kind].add(change.key)
        for client_id in sorted(wanted["client"]):
            self._reload_client(client_id)
        for appliance_id in sorted(wanted["appliance"]):
            self._reload_appliance(appliance_id)
        for appliance_id in sorted(wanted["observation"] - wanted["appliance"]):
            self.reload_observation(appliance_id)

    def _reload_client(self, client_id: str) -> None:
        record = self._store.get_client(client_id)
        with self._lock:
            if record is None:
                self._clients.pop(client_id, None)
            else:
                self._clients[client_id] = record

    def _reload_appliance(self, appliance_id: str) -> None:
        record = self._store.get_appliance(appliance_id)
        enabled = record is not None and record.enabled
        prepared = self._prepared(appliance_id) if enabled else None
        with self._lock:
            previous = self._appliances.pop(appliance_id, None)
            if previous is not None:
                if previous.msisdn and self._by_msisdn.get(previous.msisdn) == appliance_id:
                    del self._by_msisdn[previous.msisdn]
                if self._by_imsi.get(previous.imsi) == appliance_id:
                    del self._by_imsi[previous.imsi]
            self._observations.pop(appliance_id, None)
            if record is None or not record.enabled:
                return
            if prepared is not None:
                self._observations[appliance_id] = prepared
            self._appliances[appliance_id] = record
            if record.msisdn:
                self._by_msisdn[record.msisdn] = appliance_id
            self._by_imsi[record.imsi] = appliance_id

    def _prepared(self, appliance_id: str) -> PreparedObservation | None:
        record = self._store.latest_observation(appliance_id)
        if record is None:
            return None
        return prepare_observation(
            record, self._limits, self._store.find_cells, self._store.area_estimate
        )

    def reload_observation(self, appliance_id: str) -> None:
        """Read an appliance's latest observation again (the intake calls this after
        storing one, so the worker that accepted it uses it at once).

        Raises:
            StoreError: the database cannot be read.
        """
        if appliance_id not in self._appliances:
            # Enrolled or enabled since the last change this worker applied: take it now.
            self._reload_appliance(appliance_id)
            return
        prepared = self._prepared(appliance_id)
        with self._lock:
            current = self._observations.get(appliance_id)
            if prepared is None:
                self._observations.pop(appliance_id, None)
            elif current is None or current.record.seq <= prepared.record.seq:
                self._observations[appliance_id] = prepared
