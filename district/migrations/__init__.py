"""Alembic migrations of the district database, run by `district.db.Database.migrate`."""
