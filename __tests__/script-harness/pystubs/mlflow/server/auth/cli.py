"""Stand-in for mlflow.server.auth.cli: only `db upgrade --url URI` (needs mlflow[auth])."""
import os

from _fake import installed, migrate, record

if not installed("mlflow[auth]"):
    raise ModuleNotFoundError("No module named 'flask_wtf' (pip install mlflow[auth])")


class _Commands:
    def main(self, args, prog_name=None, standalone_mode=True):
        if list(args[:3]) != ["db", "upgrade", "--url"] or len(args) != 4:
            raise SystemExit(f"mlflow.server.auth (stand-in): unsupported command {args[:3]}")
        record("mlflow auth db upgrade", uri_from_environment=args[3] == os.environ.get("MLFLOW_BACKEND_STORE_URI"))
        migrate("auth", args[3])


commands = _Commands()
