"""MLflow stand-in of the fake venvs (harness; the fake uv links it in for `mlflow==X`).
It has only what templates/mlflow-db-upgrade.py and the unit's `mlflow server` use, each
function following MLflow's source (mlflow/mlflow master, read November 2026; the module
that each file stands in for is named in it), and runs on the real SQLAlchemy, psycopg2
and alembic against the real database. Only the schema is its own: a few real alembic
migrations (store/db_migrations, server/auth/db/migrations) with MLflow's version tables,
alembic_version and alembic_version_auth; each MLflow version ships the migrations under
versions/<the version that introduced them>/, so 3.18.0 has one more than 3.17.2."""
from _fake import mlflow_version

__version__ = mlflow_version()
