"""Stand-in for mlflow/store/model_registry/sqlalchemy_store.py: an engine of its own (cached
per class and URI: "to prevent connection pool leaks") on the same schema."""
from mlflow.store.db import utils


class SqlAlchemyStore:
    _engine_map = {}

    def __init__(self, db_uri):
        if db_uri not in SqlAlchemyStore._engine_map:
            SqlAlchemyStore._engine_map[db_uri] = utils.create_sqlalchemy_engine_with_retry(db_uri)
        self.engine = SqlAlchemyStore._engine_map[db_uri]
        utils._verify_schema(self.engine)
