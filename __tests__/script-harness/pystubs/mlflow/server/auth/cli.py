"""Stand-in for mlflow/server/auth/cli.py: `db upgrade --url URL` (what
`python -m mlflow.server.auth db upgrade --url URL` runs)."""
import os

from _fake import record


class _Commands:
    def main(self, args, prog_name=None, standalone_mode=True):
        if list(args[:3]) != ["db", "upgrade", "--url"] or len(args) != 4:
            raise SystemExit(f"mlflow.server.auth (stand-in): unsupported command {args[:3]}")
        from mlflow.server.auth.db import utils
        from mlflow.store.db.utils import create_sqlalchemy_engine_with_retry

        # The URI holds the password: record only whether it is the one from the environment.
        record("mlflow auth db upgrade", uri_from_environment=args[3] == os.environ.get("MLFLOW_BACKEND_STORE_URI"))
        engine = create_sqlalchemy_engine_with_retry(args[3])
        try:
            utils.migrate(engine, "head")
        finally:
            engine.dispose()


commands = _Commands()
