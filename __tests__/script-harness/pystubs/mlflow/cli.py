"""Stand-in for mlflow/cli/__init__.py: `mlflow server ...` (mlflow/server/_standin.py) and
`mlflow db upgrade URL` (mlflow/db.py upgrade -> mlflow.store.db.utils._upgrade_url)."""
import os
import sys

from _fake import record


class _Cli:
    def main(self, args=None, prog_name=None, standalone_mode=True):
        args = list(sys.argv[1:] if args is None else args)
        if args[:1] == ["server"]:
            from mlflow.server._standin import server

            return server(args[1:])
        if args[:2] == ["db", "upgrade"] and len(args) == 3:
            from mlflow.store.db.utils import _upgrade_url

            # The URI holds the password: record only whether it is the one from the environment.
            record("mlflow db upgrade", uri_from_environment=args[2] == os.environ.get("MLFLOW_BACKEND_STORE_URI"))
            return _upgrade_url(args[2])
        print(f"mlflow (stand-in): only `mlflow server` and `mlflow db upgrade URL` are emulated, got: {args}", file=sys.stderr)
        sys.exit(2)

    def __call__(self):
        return self.main()


cli = _Cli()
