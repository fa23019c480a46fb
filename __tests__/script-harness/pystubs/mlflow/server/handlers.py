"""Stand-in for mlflow/server/handlers.py: the stores as process-wide singletons,
initialize_backend_stores (what `mlflow server` calls before it starts uvicorn)."""
import os

_tracking_store = None
_model_registry_store = None
_job_store = None


def _uri():
    return os.environ["MLFLOW_BACKEND_STORE_URI"]


def _get_tracking_store(backend_store_uri=None, default_artifact_root=None):
    global _tracking_store
    if _tracking_store is None:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        _tracking_store = SqlAlchemyStore(backend_store_uri or _uri(), default_artifact_root or "mlflow-artifacts:/")
    return _tracking_store


def _get_model_registry_store(registry_store_uri=None):
    global _model_registry_store
    if _model_registry_store is None:
        from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

        _model_registry_store = SqlAlchemyStore(registry_store_uri or _uri())
    return _model_registry_store


def _get_job_store():
    global _job_store
    if _job_store is None:
        from mlflow.store.jobs.sqlalchemy_store import SqlAlchemyJobStore

        _job_store = SqlAlchemyJobStore(_uri())
    return _job_store


def initialize_backend_stores(backend_store_uri=None, registry_store_uri=None, default_artifact_root=None):
    _get_tracking_store(backend_store_uri, default_artifact_root)
    _get_model_registry_store(registry_store_uri)
