"""Stand-in for mlflow/store/db/utils.py: the same functions with the same behaviour (engine
options from MLFLOW_SQLALCHEMYSTORE_*, passed only when truthy; retries; alembic config with
"%" escaped; upgrade over a shared connection; schema checks), on the stand-in's schema.
Differences: the initial schema is the stand-in's first migration (MLflow creates
InitialBase's tables, then migrates), and retry delays follow the fake VM's clock."""
import os
import time

import sqlalchemy
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import AssertionPool, NullPool, QueuePool, SingletonThreadPool, StaticPool

from _fake import CLOCK_SPEEDUP, mlflow_version
from mlflow.exceptions import MlflowException

MAX_RETRY_COUNT = 10
# The tables of the stand-in's ORM (MLflow: Base.metadata.tables).
_ORM_TABLES = {"experiments", "runs"}


def _get_package_dir():
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))


def _all_tables_exist(engine):
    actual = {t for t in sqlalchemy.inspect(engine).get_table_names() if not t.startswith("alembic_")}
    return _ORM_TABLES.issubset(actual)


def _is_empty_database(engine):
    return all(t.startswith("alembic_") for t in sqlalchemy.inspect(engine).get_table_names())


def _initialize_tables(engine):
    _upgrade_db(engine)


def _get_latest_schema_revision():
    config = _get_alembic_config(db_url="")
    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) != 1:
        raise MlflowException(f"Migration script directory was in unexpected state. Got {len(heads)} head "
                              f"database versions but expected only 1. Found versions: {heads}")
    return heads[0]


def _verify_schema(engine):
    head_revision = _get_latest_schema_revision()
    current_rev = _get_schema_version(engine)
    if current_rev != head_revision:
        raise MlflowException(
            f"Detected out-of-date database schema (found version {current_rev}, "
            f"but expected {head_revision}). Take a backup of your database, then run "
            "'mlflow db upgrade <database_uri>' to migrate your database to the latest schema. "
            "NOTE: schema migration may result in database downtime - please consult your "
            "database's documentation for more detail.")


def version_locations(migrations_dir):
    """The migration directories the installed MLflow version ships (os.pathsep-separated)."""
    installed = tuple(int(p) for p in mlflow_version().split("."))
    root = os.path.join(migrations_dir, "versions")
    dirs = [d for d in os.listdir(root) if tuple(int(p) for p in d.split(".")) <= installed]
    return os.pathsep.join(os.path.join(root, d) for d in sorted(dirs))


def _get_alembic_config(db_url, alembic_dir=None):
    from alembic.config import Config

    final_alembic_dir = os.path.join(_get_package_dir(), "store", "db_migrations") if alembic_dir is None else alembic_dir
    # Escape any '%' that appears in a db_url (configparser interpolation), as MLflow does.
    db_url = db_url.replace("%", "%%")
    config = Config(os.path.join(final_alembic_dir, "alembic.ini"))
    config.set_main_option("script_location", final_alembic_dir)
    config.set_main_option("sqlalchemy.url", db_url)
    config.set_main_option("version_locations", version_locations(final_alembic_dir))
    return config


def _upgrade_db(engine):
    from alembic import command

    db_url = str(engine.url)
    config = _get_alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def _upgrade_url(url):
    # `mlflow db upgrade` (mlflow/db.py); an empty database gets the initial schema first
    # (mlflow PR #23752, "Fix `mlflow db upgrade` on a fresh database").
    engine = create_sqlalchemy_engine_with_retry(url)
    try:
        if _is_empty_database(engine):
            _initialize_tables(engine)
        else:
            _upgrade_db(engine)
    finally:
        engine.dispose()


def _get_schema_version(engine):
    with engine.connect() as connection:
        mc = MigrationContext.configure(connection)
        return mc.get_current_revision()


def create_sqlalchemy_engine_with_retry(db_uri):
    attempts = 0
    while True:
        attempts += 1
        engine = create_sqlalchemy_engine(db_uri)
        try:
            sqlalchemy.inspect(engine)
            return engine
        except Exception as e:
            if attempts < MAX_RETRY_COUNT:
                sleep_duration = 0.1 * ((2**attempts) - 1)
                print(f"SQLAlchemy engine could not be created. The following exception is caught.\n{e}\n"
                      f"Operation will be retried in {sleep_duration:.1f} seconds", flush=True)
                time.sleep(sleep_duration / CLOCK_SPEEDUP)
                continue
            raise


def _int_env(name):
    # mlflow/environment_variables.py: _EnvironmentVariable(name, int, None).get()
    value = os.environ.get(name)
    return int(value) if value is not None else None


def create_sqlalchemy_engine(db_uri):
    pool_size = _int_env("MLFLOW_SQLALCHEMYSTORE_POOL_SIZE")
    pool_max_overflow = _int_env("MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW")
    pool_recycle = _int_env("MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE")
    poolclass = os.environ.get("MLFLOW_SQLALCHEMYSTORE_POOLCLASS")
    kwargs = {}
    # Send argument only if they have been injected (a 0 is not).
    if pool_size:
        kwargs["pool_size"] = pool_size
    if pool_max_overflow:
        kwargs["max_overflow"] = pool_max_overflow
    if pool_recycle:
        kwargs["pool_recycle"] = pool_recycle
    if poolclass:
        pool_class_map = {"AssertionPool": AssertionPool, "NullPool": NullPool, "QueuePool": QueuePool,
                          "SingletonThreadPool": SingletonThreadPool, "StaticPool": StaticPool}
        if poolclass not in pool_class_map:
            raise ValueError(f"Invalid poolclass parameter: {poolclass}")
        kwargs["poolclass"] = pool_class_map[poolclass]
    return sqlalchemy.create_engine(db_uri, pool_pre_ping=True, **kwargs)
