"""Appliances, the SIM each holds, and the observations they report.

Replay protection lives in SQL, because several processes (uvicorn workers, GMLC nodes)
share one database: :meth:`ApplianceStore.accept_observation` advances ``last_seq`` with a
conditional ``UPDATE ... WHERE last_seq < :seq``, and only the transaction that wins that
row stores its report. A SIM serves at most one enabled appliance (partial unique indexes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection

from gmlc.errors import DuplicateError, NotFoundError
from gmlc.schema import APPLIANCES, OBSERVATIONS
from gmlc.store import validation as check
from gmlc.store.database import Database
from gmlc.store.validation import MAX_BIGINT

__all__ = ["ApplianceRecord", "ApplianceStore", "ObservationRecord"]


@dataclass(frozen=True, slots=True)
class ApplianceRecord:
    """An enrolled appliance, the SIM it holds, and the last sequence number it used."""

    appliance_id: str
    public_key: str
    imsi: str
    iccid: str
    msisdn: str | None
    site: str
    enabled: bool
    last_seq: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ObservationRecord:
    """One accepted observation report (its verified claims)."""

    appliance_id: str
    seq: int
    observed_at: datetime
    received_at: datetime
    report: dict[str, Any]


# Built once: these are on every SLIR's path.
_ENABLED_BY_MSISDN = APPLIANCES.select().where(
    APPLIANCES.c.msisdn == sa.bindparam("value"), APPLIANCES.c.enabled.is_(True)
)
_ENABLED_BY_IMSI = APPLIANCES.select().where(
    APPLIANCES.c.imsi == sa.bindparam("value"), APPLIANCES.c.enabled.is_(True)
)
_LATEST_OBSERVATION = (
    OBSERVATIONS.select()
    .where(OBSERVATIONS.c.appliance_id == sa.bindparam("appliance_id"))
    .order_by(OBSERVATIONS.c.seq.desc())
    .limit(1)
)


def _target_lookup(msisdn: str | None, imsi: str | None) -> tuple[sa.Select[Any], str] | None:
    """The prebuilt query and normalised value for a target, None for an impossible value."""
    if (msisdn is None) == (imsi is None):
        raise ValueError("give exactly one of msisdn and imsi")
    try:
        if msisdn is not None:
            return _ENABLED_BY_MSISDN, check.msisdn(msisdn)
        return _ENABLED_BY_IMSI, check.imsi(imsi)
    except ValueError:
        return None


class ApplianceStore(Database):
    """Appliances and their observations."""

    def add_appliance(
        self,
        appliance_id: str,
        *,
        public_key: str,
        imsi: str,
        iccid: str,
        msisdn: str | None,
        site: str,
    ) -> ApplianceRecord:
        """Enrol an appliance (enabled, ``last_seq`` 0) with the SIM it holds.

        Raises:
            DuplicateError: the id exists, or the IMSI, ICCID or MSISDN is already bound to
                another enabled appliance.
            ValueError: a field is malformed.
        """
        record = ApplianceRecord(
            appliance_id=check.identifier("appliance id", appliance_id),
            public_key=check.public_key(public_key),
            imsi=check.imsi(imsi),
            iccid=check.iccid(iccid),
            msisdn=None if msisdn is None else check.msisdn(msisdn),
            site=check.site(site),
            enabled=True,
            last_seq=0,
            created_at=check.aware("clock()", self._clock()),
        )
        values = dataclasses.asdict(record)
        with self._write("adding an appliance") as conn:
            if conn.execute(
                sa.select(APPLIANCES.c.appliance_id).where(
                    APPLIANCES.c.appliance_id == appliance_id
                )
            ).first():
                raise DuplicateError(f"appliance {appliance_id!r} already exists")
            _refuse_sim_conflict(conn, appliance_id, values)
            try:
                with conn.begin_nested():
                    conn.execute(APPLIANCES.insert().values(**values))
            except exc.IntegrityError:
                # Lost a race with a concurrent enrolment on another connection or node.
                raise DuplicateError(
                    f"appliance {appliance_id!r} or its SIM is already enrolled"
                ) from None
        return record

    def get_appliance(self, appliance_id: str) -> ApplianceRecord | None:
        """The appliance with that id (enabled or not), or None."""
        if "\x00" in appliance_id:  # cannot be stored, so cannot match; PostgreSQL would refuse it
            return None
        with self._read("reading an appliance") as conn:
            row = conn.execute(
                APPLIANCES.select().where(APPLIANCES.c.appliance_id == appliance_id)
            ).one_or_none()
        return None if row is None else _appliance_record(row)

    def list_appliances(self) -> list[ApplianceRecord]:
        """Every appliance, ordered by id."""
        with self._read("listing appliances") as conn:
            rows = conn.execute(APPLIANCES.select().order_by(APPLIANCES.c.appliance_id)).all()
        return [_appliance_record(row) for row in rows]

    def set_appliance_enabled(self, appliance_id: str, enabled: bool) -> None:
        """Enable or disable an appliance.

        Raises:
            NotFoundError: no such appliance.
            DuplicateError: enabling it would bind its SIM to two enabled appliances.
        """
        with self._write("updating an appliance") as conn:
            row = conn.execute(
                APPLIANCES.select().where(APPLIANCES.c.appliance_id == appliance_id)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"appliance {appliance_id!r} does not exist")
            if enabled:
                _refuse_sim_conflict(conn, appliance_id, row._asdict())
            try:
                with conn.begin_nested():
                    conn.execute(
                        APPLIANCES.update()
                        .where(APPLIANCES.c.appliance_id == appliance_id)
                        .values(enabled=bool(enabled))
                    )
            except exc.IntegrityError:
                raise DuplicateError(
                    f"the SIM of appliance {appliance_id!r} is bound to another enabled appliance"
                ) from None

    def find_appliance_for_target(
        self, *, msisdn: str | None = None, imsi: str | None = None
    ) -> ApplianceRecord | None:
        """The enabled appliance holding the SIM with that MSISDN or IMSI, or None.

        Exactly one of ``msisdn`` and ``imsi`` must be given. A malformed value finds
        nothing (it cannot match an enrolled SIM).

        Raises:
            ValueError: neither or both were given.
        """
        lookup = _target_lookup(msisdn, imsi)
        if lookup is None:
            return None
        statement, value = lookup
        with self._read("finding an appliance") as conn:
            row = conn.execute(statement, {"value": value}).first()
        return None if row is None else _appliance_record(row)

    def target_snapshot(
        self, *, msisdn: str | None = None, imsi: str | None = None
    ) -> tuple[ApplianceRecord, ObservationRecord | None] | None:
        """The enabled appliance for a target and its latest observation, in one read.

        Same as :meth:`find_appliance_for_target` followed by :meth:`latest_observation`,
        but consistent (one transaction) and cheaper: this is on every SLIR's path.

        Raises:
            ValueError: neither or both of ``msisdn`` and ``imsi`` were given.
        """
        lookup = _target_lookup(msisdn, imsi)
        if lookup is None:
            return None
        statement, value = lookup
        with self._read("finding an appliance") as conn:
            row = conn.execute(statement, {"value": value}).first()
            if row is None:
                return None
            latest = conn.execute(_LATEST_OBSERVATION, {"appliance_id": row.appliance_id}).first()
        return _appliance_record(row), None if latest is None else _observation_record(latest)

    # ---- observations ----------------------------------------------------------------

    def accept_observation(
        self,
        appliance_id: str,
        seq: int,
        observed_at: datetime,
        report: dict[str, Any],
        received_at: datetime,
    ) -> bool:
        """Store an observation if its ``seq`` is above the appliance's ``last_seq``.

        The check and the advance are one conditional UPDATE, so concurrent deliveries
        of the same or older sequence numbers store nothing and return False.

        Returns:
            True if stored; False for a replay (``seq`` not above ``last_seq``).

        Raises:
            NotFoundError: no such appliance.
            ValueError, TypeError: a malformed argument.
        """
        if type(seq) is not int or not 1 <= seq <= MAX_BIGINT:
            raise ValueError(f"seq must be an integer 1..2^63-1, got {seq!r}")
        values = {
            "appliance_id": appliance_id,
            "seq": seq,
            "observed_at": check.aware("observed_at", observed_at),
            "received_at": check.aware("received_at", received_at),
            "report": check.json_object("report", report),
        }
        with self._write("storing an observation") as conn:
            advanced = conn.execute(
                APPLIANCES.update()
                .where(APPLIANCES.c.appliance_id == appliance_id, APPLIANCES.c.last_seq < seq)
                .values(last_seq=seq)
            ).rowcount
            if advanced == 0:
                known = conn.execute(
                    sa.select(APPLIANCES.c.appliance_id).where(
                        APPLIANCES.c.appliance_id == appliance_id
                    )
                ).first()
                if known is None:
                    raise NotFoundError(f"appliance {appliance_id!r} does not exist")
                return False
            conn.execute(OBSERVATIONS.insert().values(**values))
        return True

    def latest_observation(self, appliance_id: str) -> ObservationRecord | None:
        """The accepted observation with the highest ``seq``, or None."""
        if "\x00" in appliance_id:  # cannot be stored, so cannot match; PostgreSQL would refuse it
            return None
        with self._read("reading an observation") as conn:
            row = conn.execute(_LATEST_OBSERVATION, {"appliance_id": appliance_id}).first()
        return None if row is None else _observation_record(row)

    def latest_observations(self) -> dict[str, ObservationRecord]:
        """Every appliance's accepted observation with the highest ``seq``, by appliance id."""
        newest = (
            sa.select(OBSERVATIONS.c.appliance_id, sa.func.max(OBSERVATIONS.c.seq).label("seq"))
            .group_by(OBSERVATIONS.c.appliance_id)
            .subquery()
        )
        query = OBSERVATIONS.select().join(
            newest,
            sa.and_(
                OBSERVATIONS.c.appliance_id == newest.c.appliance_id,
                OBSERVATIONS.c.seq == newest.c.seq,
            ),
        )
        with self._read("reading observations") as conn:
            rows = conn.execute(query).all()
        return {row.appliance_id: _observation_record(row) for row in rows}

    def list_observations(
        self, appliance_id: str, *, limit: int | None = None
    ) -> list[ObservationRecord]:
        """Stored observations of one appliance, newest (highest ``seq``) first."""
        query = (
            OBSERVATIONS.select()
            .where(OBSERVATIONS.c.appliance_id == appliance_id)
            .order_by(OBSERVATIONS.c.seq.desc())
        )
        if limit is not None:
            query = query.limit(check.positive("limit", limit))
        with self._read("reading observations") as conn:
            rows = conn.execute(query).all()
        return [_observation_record(row) for row in rows]

    def count_observations(self, appliance_id: str | None = None) -> int:
        """How many observations are stored (for one appliance, or in total)."""
        return self._count(OBSERVATIONS, "counting observations", appliance_id=appliance_id)

    def prune_observations(self, *, older_than: datetime, keep_per_appliance: int) -> int:
        """Delete observations received before ``older_than`` and beyond the newest
        ``keep_per_appliance`` of each appliance (``last_seq`` is kept, so replays of
        pruned reports are still refused).

        Returns:
            The number of observations deleted.

        Raises:
            ValueError: ``keep_per_appliance`` below 1, or a naive ``older_than``.
        """
        cutoff = check.aware("older_than", older_than)
        keep = check.positive("keep_per_appliance", keep_per_appliance)
        deleted = 0
        with self._write("pruning observations") as conn:
            deleted += conn.execute(
                OBSERVATIONS.delete().where(OBSERVATIONS.c.received_at < cutoff)
            ).rowcount
            crowded = conn.execute(
                sa.select(OBSERVATIONS.c.appliance_id)
                .group_by(OBSERVATIONS.c.appliance_id)
                .having(sa.func.count() > keep)
            ).scalars()
            for appliance_id in list(crowded):
                oldest_kept = conn.execute(
                    sa.select(OBSERVATIONS.c.seq)
                    .where(OBSERVATIONS.c.appliance_id == appliance_id)
                    .order_by(OBSERVATIONS.c.seq.desc())
                    .offset(keep - 1)
                    .limit(1)
                ).scalar_one()
                deleted += conn.execute(
                    OBSERVATIONS.delete().where(
                        OBSERVATIONS.c.appliance_id == appliance_id,
                        OBSERVATIONS.c.seq < oldest_kept,
                    )
                ).rowcount
        return deleted


def _refuse_sim_conflict(conn: Connection, appliance_id: str, values: Mapping[str, Any]) -> None:
    for column_name, label in (("imsi", "IMSI"), ("iccid", "ICCID"), ("msisdn", "MSISDN")):
        value = values.get(column_name)
        if value is None:
            continue
        column = APPLIANCES.c[column_name]
        holder = conn.execute(
            sa.select(APPLIANCES.c.appliance_id).where(
                column == value,
                APPLIANCES.c.enabled.is_(True),
                APPLIANCES.c.appliance_id != appliance_id,
            )
        ).scalar_one_or_none()
        if holder is not None:
            raise DuplicateError(
                f"{label} {value} is already bound to enabled appliance {holder!r}"
            )


def _appliance_record(row: sa.Row[Any]) -> ApplianceRecord:
    return ApplianceRecord(
        appliance_id=row.appliance_id,
        public_key=row.public_key,
        imsi=row.imsi,
        iccid=row.iccid,
        msisdn=row.msisdn,
        site=row.site,
        enabled=bool(row.enabled),
        last_seq=int(row.last_seq),
        created_at=row.created_at,
    )


def _observation_record(row: sa.Row[Any]) -> ObservationRecord:
    return ObservationRecord(
        appliance_id=row.appliance_id,
        seq=int(row.seq),
        observed_at=row.observed_at,
        received_at=row.received_at,
        report=dict(row.report),
    )
