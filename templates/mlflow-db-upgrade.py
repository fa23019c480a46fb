"""Brings MLflow's database schema up to date; mlflow.service runs it before every start.

Written by the cdktf-mlflow-gcp startup script (from templates/mlflow-db-upgrade.py).
The database URI, password included, comes from the environment (the root-only
EnvironmentFile), never from a command line, so it does not show in the process list.
A failure exits non-zero: systemd then retries the whole start (Restart=always).
"""
import os

import sqlalchemy

URI = os.environ["MLFLOW_BACKEND_STORE_URI"]


def tracking_schema_exists() -> bool:
    engine = sqlalchemy.create_engine(URI, pool_pre_ping=True)
    try:
        return sqlalchemy.inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()


def main() -> None:
    if tracking_schema_exists():
        # `mlflow db upgrade` is a no-op on a current schema.
        print("mlflow-db-upgrade: mlflow db upgrade", flush=True)
        from mlflow.cli import cli

        cli.main(args=["db", "upgrade", URI], prog_name="mlflow", standalone_mode=False)
    else:
        # An empty database: `mlflow db upgrade` expects existing tables, while the store
        # creates the current schema (and stamps it) on an empty one.
        print("mlflow-db-upgrade: empty database, creating the tracking schema", flush=True)
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        SqlAlchemyStore(URI, "mlflow-artifacts:/")
    if os.environ.get("MLFLOW_AUTH_CONFIG_PATH"):
        # Same as `python -m mlflow.server.auth db upgrade --url <uri>`; the auth tables
        # use their own alembic_version_auth table in the same database.
        print("mlflow-db-upgrade: basic-auth db upgrade", flush=True)
        from mlflow.server.auth.cli import commands

        commands.main(args=["db", "upgrade", "--url", URI], prog_name="mlflow.server.auth", standalone_mode=False)
    print("mlflow-db-upgrade: schema up to date", flush=True)


if __name__ == "__main__":
    main()
