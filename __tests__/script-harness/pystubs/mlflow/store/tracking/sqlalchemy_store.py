"""Stand-in for SqlAlchemyStore: on an empty database it creates the current schema."""
import os

from _fake import migrate, record, schema


class SqlAlchemyStore:
    def __init__(self, uri, default_artifact_root):
        record("mlflow create schema", uri_from_environment=uri == os.environ.get("MLFLOW_BACKEND_STORE_URI"),
               artifact_root=default_artifact_root)
        if schema("tracking") is None:
            migrate("tracking", uri)
