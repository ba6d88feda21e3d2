"""Persistent state of the GMLC: clients, appliances, observations, cells and the audit log.

SQLAlchemy Core over SQLite (the default, one file in the state directory, WAL mode) or
PostgreSQL (for several GMLC nodes behind a load balancer). The schema is created and
upgraded by the Alembic migrations in ``gmlc/migrations``.

One module per concept, each a store over the shared :class:`~gmlc.store.database.Database`:

* :mod:`gmlc.store.clients` — web-server clients, the targets each may locate and the
  networks each may connect from;
* :mod:`gmlc.store.domains` — the domains each client gets statements for, its statement
  options, and the M2DMRT declarations exchanged with each domain's front;
* :mod:`gmlc.store.appliances` — appliances, their SIMs and their observations;
* :mod:`gmlc.store.cells` — the cell database and location-area estimates;
* :mod:`gmlc.store.audit` — the append-only audit log;
* :mod:`gmlc.store.changes` — the change log that keeps the read models current;

and :class:`Store` is all of them over one connection pool, which is what the service,
the CLI and the tests open.

Every method is synchronous, thread-safe, and runs in its own short transaction, so a
caller never holds a transaction across a network round trip. Concurrency rules that
matter for correctness live in SQL, not in Python locks, because several processes (uvicorn
workers, GMLC nodes) share one database: the replay check of observations, one enabled
appliance per SIM, and an audit table that refuses UPDATE and DELETE through triggers.

Wrong argument values raise ``ValueError``/``TypeError`` and change nothing; database
failures raise :class:`~gmlc.errors.StoreError`.
"""

from __future__ import annotations

from gmlc.store.appliances import ApplianceRecord, ApplianceStore, ObservationRecord
from gmlc.store.audit import AuditEntry, AuditRecord, AuditStore
from gmlc.store.cells import (
    CELL_RADIOS,
    AreaEstimate,
    CellFieldError,
    CellKey,
    CellRecord,
    CellStore,
)
from gmlc.store.changes import Change, ChangeListener, ChangeStore
from gmlc.store.clients import ANYWHERE, ClientRecord, ClientStore
from gmlc.store.domains import (
    DeclarationRecord,
    DomainEnrolment,
    DomainRecord,
    DomainStore,
    StatementMode,
)

__all__ = [
    "ANYWHERE",
    "CELL_RADIOS",
    "ApplianceRecord",
    "AreaEstimate",
    "AuditEntry",
    "AuditRecord",
    "CellFieldError",
    "CellKey",
    "CellRecord",
    "Change",
    "ChangeListener",
    "ClientRecord",
    "DeclarationRecord",
    "DomainEnrolment",
    "DomainRecord",
    "ObservationRecord",
    "StatementMode",
    "Store",
]


class Store(ClientStore, DomainStore, ApplianceStore, CellStore, AuditStore, ChangeStore):
    """Access to the whole GMLC database. Create with :meth:`open`; close with :meth:`close`."""
