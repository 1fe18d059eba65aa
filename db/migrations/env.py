from __future__ import annotations

from alembic import context

from flowaudit.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    from flowaudit.db.engine import make_engine

    connection = make_engine(config.get_main_option("sqlalchemy.url")).connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
