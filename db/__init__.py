"""Storage: SQLAlchemy models, engine, one writer, read queries, Alembic migrations."""
