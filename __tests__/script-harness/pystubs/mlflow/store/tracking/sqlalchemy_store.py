"""Stand-in for mlflow/store/tracking/sqlalchemy_store.py: SqlAlchemyStore opens its engine
(one per store class and URI, cached), creates the schema when tables are missing, and
refuses a schema that is not at the installed version's head (_verify_schema)."""
import os

from _fake import record
from mlflow.store.db import utils


class SqlAlchemyStore:
    _engine_map = {}

    def __init__(self, db_uri, default_artifact_root):
        if db_uri not in SqlAlchemyStore._engine_map:
            SqlAlchemyStore._engine_map[db_uri] = utils.create_sqlalchemy_engine_with_retry(db_uri)
        self.engine = SqlAlchemyStore._engine_map[db_uri]
        if not utils._all_tables_exist(self.engine):
            record("mlflow create schema", uri_from_environment=db_uri == os.environ.get("MLFLOW_BACKEND_STORE_URI"),
                   artifact_root=default_artifact_root)
            utils._initialize_tables(self.engine)
        utils._verify_schema(self.engine)
