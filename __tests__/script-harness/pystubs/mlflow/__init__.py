"""Stand-in for the mlflow package of a fake venv (only what mlflow-db-upgrade.py uses)."""
from _fake import mlflow_version

__version__ = mlflow_version()
