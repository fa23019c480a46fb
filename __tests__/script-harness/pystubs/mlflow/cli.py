"""Stand-in for mlflow.cli: only `db upgrade URI`."""
import os

from _fake import migrate, record


class _Cli:
    def main(self, args, prog_name=None, standalone_mode=True):
        if list(args[:2]) != ["db", "upgrade"] or len(args) != 3:
            raise SystemExit(f"mlflow (stand-in): unsupported command {args[:2]}")
        # The URI holds the password: record only whether it is the one from the environment.
        record("mlflow db upgrade", uri_from_environment=args[2] == os.environ.get("MLFLOW_BACKEND_STORE_URI"))
        migrate("tracking", args[2])


cli = _Cli()
