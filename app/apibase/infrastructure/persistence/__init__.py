"""SQLAlchemy 2 async persistence: engines, the declarative base, the generic repository and unit of work, Alembic."""
