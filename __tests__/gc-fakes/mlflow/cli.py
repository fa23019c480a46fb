"""mlflow.cli: `cli` is a click group; `cli.main(args=[...], prog_name=..., standalone_mode=False)`
runs a command in-process and lets its exceptions propagate (click's main with
standalone_mode=False). Only `gc` is emulated: it records its arguments, the tracking URI of
the environment and whether a server answers /health there (gc deletes artifacts through it),
then fails with an MlflowException-like error when FAKE_GC=fail (mlflow/cli/__init__.py, gc:
any error but InvalidUrlException propagates), or takes a minute (a large deletion) when
FAKE_GC=slow."""
import os
import time
import urllib.request

from mlflow import record


class _Cli:
    def main(self, args, prog_name=None, standalone_mode=True):
        assert args[0] == "gc" and standalone_mode is False
        tracking_uri = os.environ.get("MLFLOW_TRACKING_URI")
        with urllib.request.urlopen(f"{tracking_uri}/health", timeout=5) as response:
            reachable = response.status == 200
        record("gc", args=args, tracking_uri=tracking_uri, server_reachable=reachable,
               http_timeout=os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT"))
        if os.environ.get("FAKE_GC") == "slow":
            time.sleep(60)
        if os.environ.get("FAKE_GC") == "fail":
            raise RuntimeError("HTTPError: 500 Server Error for url: .../api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts")


cli = _Cli()
