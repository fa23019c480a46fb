"""Stand-in for mlflow/server/auth/db/migrations/env.py: online migrations on an engine made
from the configured URL (which mlflow/server/auth/db/utils.py renders from the store's
engine), in the version table alembic_version_auth."""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = None


def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, version_table="alembic_version_auth")
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
