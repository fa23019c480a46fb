"""Stand-in for the bits of SQLAlchemy that mlflow-db-upgrade.py uses."""
from _fake import OperationalError, connect, schema  # noqa: F401


# The alembic version table of each part of MLflow's schema.
_SCHEMA_OF_TABLE = {"alembic_version": "tracking", "alembic_version_auth": "auth"}


class _Engine:
    def __init__(self, uri):
        self.uri = uri

    def dispose(self):
        pass


class _Inspector:
    def __init__(self, engine):
        connect(engine.uri)

    def has_table(self, name):
        return name in _SCHEMA_OF_TABLE and schema(_SCHEMA_OF_TABLE[name]) is not None


def create_engine(uri, **_kwargs):
    return _Engine(uri)


def inspect(engine):
    return _Inspector(engine)
