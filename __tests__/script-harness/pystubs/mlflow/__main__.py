"""`python -m mlflow ...`, as mlflow/__main__.py: `from mlflow.cli import cli; cli.main()`
(templates/mlflow-gc.py starts its private `mlflow server --artifacts-only` so)."""
from mlflow.cli import cli

cli.main()
