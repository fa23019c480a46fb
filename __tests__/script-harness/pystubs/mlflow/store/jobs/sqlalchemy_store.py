"""Stand-in for mlflow/store/jobs/sqlalchemy_store.py: SqlAlchemyJobStore, an engine of its
own (cached per class and URI)."""
from mlflow.store.db import utils


class SqlAlchemyJobStore:
    _engine_map = {}

    def __init__(self, db_uri):
        if db_uri not in SqlAlchemyJobStore._engine_map:
            SqlAlchemyJobStore._engine_map[db_uri] = utils.create_sqlalchemy_engine_with_retry(db_uri)
        self.engine = SqlAlchemyJobStore._engine_map[db_uri]
