"""Alembic migrations of the GMLC store.

Run them with ``Store.migrate()`` or ``salve-gmlc db upgrade``.
"""
