"""Stand-in for mlflow/server/auth/db/utils.py: the same functions (alembic config with "%"
escaped, legacy stamp, migrate, migrate_if_needed on alembic_version_auth), on the
stand-in's auth schema."""
import os

from alembic.command import stamp, upgrade
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from mlflow.store.db.utils import version_locations

INITIAL_REVISION = "standin_auth_0001"


def _get_alembic_dir():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def _get_alembic_config(url):
    alembic_dir = _get_alembic_dir()
    alembic_cfg = Config(os.path.join(alembic_dir, "alembic.ini"))
    alembic_cfg.set_main_option("script_location", str(alembic_dir))
    url = url.replace("%", "%%")
    alembic_cfg.set_main_option("sqlalchemy.url", url)
    alembic_cfg.set_main_option("version_locations", version_locations(alembic_dir))
    return alembic_cfg


def _is_legacy_database(engine):
    existing_tables = inspect(engine).get_table_names()
    return "users" in existing_tables and "alembic_version_auth" not in existing_tables


def _stamp_legacy_database(engine, revision):
    alembic_cfg = _get_alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        alembic_cfg.attributes["connection"] = conn
        stamp(alembic_cfg, revision)


def migrate(engine, revision):
    if _is_legacy_database(engine):
        _stamp_legacy_database(engine, INITIAL_REVISION)
        return
    alembic_cfg = _get_alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        alembic_cfg.attributes["connection"] = conn
        upgrade(alembic_cfg, revision)


def migrate_if_needed(engine, revision):
    if _is_legacy_database(engine):
        _stamp_legacy_database(engine, INITIAL_REVISION)
        return
    alembic_cfg = _get_alembic_config(engine.url.render_as_string(hide_password=False))
    script_dir = ScriptDirectory.from_config(alembic_cfg)
    with engine.begin() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "alembic_version_auth"})
        if context.get_current_revision() != script_dir.get_current_head():
            upgrade(alembic_cfg, revision)
