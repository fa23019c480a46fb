"""Stand-in for mlflow/store/db_migrations/env.py: online migrations on a new connection of
the engine whose connection _upgrade_db shares (config.attributes["connection"])."""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = None


def run_migrations_online():
    connection = config.attributes.get("connection", None)
    engine = connection.engine if connection is not None else None
    if engine is None:
        engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
