"""Stand-in for mlflow/cli/__init__.py: `mlflow server ...` (mlflow/server/_standin.py),
`mlflow db upgrade URL` (mlflow/db.py upgrade -> mlflow.store.db.utils._upgrade_url) and
`mlflow gc` (below). `cli.main(args, prog_name, standalone_mode=False)` runs a command in
this process and lets its exceptions through, as click does.

`mlflow gc` follows gc() and _gc_tracking_resources() (mlflow/mlflow master, read November
2026): the tracking store from --backend-store-uri (_get_store: the SqlAlchemyStore, so the
schema must be at the installed version's head); --older-than parsed with MLflow's regex
into milliseconds ("Could not parse any time information from ..." otherwise); the tracking
URI from --tracking-uri, whose default is MLFLOW_TRACKING_URI as it was when this module was
imported, else "Tracking URL is not set"; the runs deleted at least that long ago, plus the
deleted experiments last updated before now - older_than and their deleted runs; each run
must be deleted and, with --older-than, among the old ones ("Run ... is not older than the
required age"); its artifacts are deleted through its artifact repository, for an
`mlflow-artifacts:` URI an HTTP DELETE of
<tracking URI>/api/2.0/mlflow-artifacts/artifacts/<path> (MlflowArtifactsRepository.resolve_uri,
HttpArtifactRepository.delete_artifacts; an HTTP error raises), then its row; then each
experiment's row. It prints MLflow's "Run with ID ... has been permanently deleted." lines
and records "mlflow gc" (what it was given: --older-than, the tracking URI, whether the
database URI is the one in its environment and holds a secret, never the URI) and
"mlflow gc done" (the run and experiment ids it deleted). Options gc has that the helper
does not use (--run-ids, --experiment-ids, --logged-model-ids, --jobs, ...) are refused
here; logged models are not stood in."""
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from _fake import record

# --tracking-uri's default: the environment at import (mlflow/cli/__init__.py, gc's option).
_TRACKING_URI_AT_IMPORT = os.environ.get("MLFLOW_TRACKING_URI")
_GC_VALUE_OPTIONS = {"--older-than", "--backend-store-uri", "--tracking-uri", "--artifacts-destination"}
# Settings reported in "mlflow gc" (no secrets among them).
_GC_REPORTED_ENV = ("MLFLOW_DISABLE_TELEMETRY", "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE", "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW",
                    "MLFLOW_GC_OLDER_THAN", "MLFLOW_GC_ARTIFACTS_DESTINATION", "MLFLOW_HTTP_REQUEST_TIMEOUT", "TMPDIR")
_GC_OPTIONS_NOT_STOOD_IN = {"--run-ids", "--experiment-ids", "--logged-model-ids", "--jobs", "--job-ids", "--workspace",
                            "--all-workspaces"}


class UsageError(Exception):
    """click.exceptions.UsageError (exit status 2 in standalone mode)."""


def _parse_gc(args):
    opts, i = {}, 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name in _GC_OPTIONS_NOT_STOOD_IN:
            raise UsageError(f"mlflow gc (stand-in): {name} is not stood in")
        if name not in _GC_VALUE_OPTIONS:
            raise UsageError(f"No such option: {args[i]}")
        if not eq:
            i += 1
            if i == len(args):
                raise UsageError(f"Option '{name}' requires an argument.")
            value = args[i]
        opts[name] = value
        i += 1
    return opts


def _delete_artifacts(artifact_uri, tracking_uri):
    from mlflow.exceptions import MlflowException

    parsed = urllib.parse.urlparse(artifact_uri)
    if parsed.scheme != "mlflow-artifacts":
        raise MlflowException(f"mlflow gc (stand-in): only mlflow-artifacts: URIs are stood in, got {artifact_uri}")
    track = urllib.parse.urlparse(tracking_uri)
    if track.scheme not in ("http", "https"):
        raise MlflowException("When an mlflow-artifacts URI was supplied, the tracking URI must be a valid http or https URI, "
                              f"but it was currently set to {tracking_uri}.")
    path = re.sub(r"//+", "/", f"{track.path}/api/2.0/mlflow-artifacts/artifacts/{parsed.path}")
    url = urllib.parse.urlunparse((track.scheme, parsed.netloc or track.netloc, path, "", "", ""))
    timeout = float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "120"))
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=timeout).close()
    except urllib.error.HTTPError as error:
        # augmented_raise_for_status: the status and the server's message.
        raise MlflowException(f"{error.code} Server Error: {error.reason} for url: {url}. Response text: "
                              f"{error.read().decode(errors='replace')}") from None


def gc(args):
    import time

    from mlflow.exceptions import MlflowException
    from mlflow.server._standin import known_secrets
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    opts = _parse_gc(args)
    uri = opts.get("--backend-store-uri")
    older_than = opts.get("--older-than")
    tracking_uri = opts.get("--tracking-uri", _TRACKING_URI_AT_IMPORT)
    password = urllib.parse.unquote(urllib.parse.urlsplit(uri or "").password or "")
    record("mlflow gc", older_than=older_than, tracking_uri=tracking_uri, cwd=os.getcwd(),
           backend_uri_from_environment=uri is not None and uri == os.environ.get("MLFLOW_BACKEND_STORE_URI"),
           db_password_is_a_secret=password in known_secrets(),
           environment={k: os.environ[k] for k in _GC_REPORTED_ENV if k in os.environ})
    store = SqlAlchemyStore(uri or "sqlite:///mlflow.db", opts.get("--artifacts-destination"))
    time_delta = 0
    if older_than is not None:
        parts = re.match(r"^((?P<days>[\.\d]+?)d)?((?P<hours>[\.\d]+?)h)?((?P<minutes>[\.\d]+?)m)"
                         r"?((?P<seconds>[\.\d]+?)s)?$", older_than)
        if parts is None:
            raise MlflowException(f"Could not parse any time information from '{older_than}'. "
                                  "Examples of valid strings: '8h', '2d8h5m20s', '2m4s'")
        from datetime import timedelta

        time_delta = int(timedelta(**{k: float(v) for k, v in parts.groupdict().items() if v}).total_seconds() * 1000)
    if not tracking_uri:
        raise MlflowException("Tracking URL is not set. Please set MLFLOW_TRACKING_URI environment variable "
                              "or provide --tracking-uri cli option.")
    old_runs = store._get_deleted_runs(older_than=time_delta)
    to_delete = list(old_runs)
    threshold = int(time.time() * 1000) - time_delta
    experiments = store.deleted_experiment_ids(threshold if older_than else None)
    if experiments:
        to_delete.extend(store.deleted_run_ids_of(experiments))
    deleted_runs = []
    for run_id in sorted(set(to_delete)):
        run = store.get_run(run_id)
        if run["lifecycle_stage"] != "deleted":
            raise MlflowException(f"Run {run_id} is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle "
                                  "stage can be deleted.")
        if older_than and run_id not in old_runs:
            raise MlflowException(f"Run {run_id} is not older than the required age. Only runs older than {older_than} "
                                  "can be deleted.")
        _delete_artifacts(run["artifact_uri"], tracking_uri)
        store._hard_delete_run(run_id)
        deleted_runs.append(run_id)
        print(f"Run with ID {run_id} has been permanently deleted.", flush=True)
    for experiment_id in experiments:
        store._hard_delete_experiment(experiment_id)
        print(f"Experiment with ID {experiment_id} has been permanently deleted.", flush=True)
    record("mlflow gc done", runs=deleted_runs, experiments=experiments)


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
        if args[:1] == ["gc"]:
            if standalone_mode:
                try:
                    gc(args[1:])
                except UsageError as error:
                    print(f"Usage: mlflow gc [OPTIONS]\nTry 'mlflow gc --help' for help.\n\nError: {error}", file=sys.stderr)
                    sys.exit(2)
                sys.exit(0)
            return gc(args[1:])
        print(f"mlflow (stand-in): only `mlflow server`, `mlflow db upgrade URL` and `mlflow gc` are emulated, got: {args}",
              file=sys.stderr)
        sys.exit(2)

    def __call__(self):
        return self.main()


cli = _Cli()
