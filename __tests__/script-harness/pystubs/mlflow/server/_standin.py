"""Stand-in for `mlflow server` (mlflow/cli/__init__.py server() and mlflow/server/__init__.py
_run_server), with the process and connection structure of the real one:
  - the CLI process refuses options MLflow does not have, fails without mlflow[auth] for
    --app-name basic-auth, then initializes the tracking and model-registry stores
    (initialize_backend_stores: an engine each, schema created when empty, refused when not
    at the installed version's head: "Error initializing backend store", exit 1) and keeps
    them while it waits for the server processes (_exec_cmd: a subprocess, not an exec);
  - uvicorn's --workers processes (default 4), sharing one listening socket. Each worker
    with --app-name basic-auth runs the auth app factory at start (create_app: an auth
    engine, auth migrations when needed, the admin user); its tracking, registry and job
    stores open their engines when first used. Every engine has the pool the
    MLFLOW_SQLALCHEMYSTORE_* variables give (mlflow/store/db/utils.py).
Workers answer GET /health ("OK") and GET /version (with basic auth, only with credentials)
on 127.0.0.1:<--port>, whatever --host says (tests send traffic to loopback only; see
_standin_worker.py). While the control file saturate-pools exists,
every worker opens every engine it would have and checks out as many connections as each
pool allows (the worst case lib/connection-budget.ts counts), tries one more (SQLAlchemy's
QueuePool blocks it), and records what it got; it lets them go when the file goes.
It records to the call log: "start" (argv, user, working directory, and checks of what
reached it through systemd: true/false, paths and non-secret settings, never a secret),
"listening" (with the TLS state of a database connection, from pg_stat_ssl) and "stopped"
(SIGTERM).
--expose-prometheus DIR (or MLFLOW_EXPOSE_PROMETHEUS) is passed to the server processes as
prometheus_multiproc_dir, as _run_server does (mlflow/server/__init__.py; the variable name
is PROMETHEUS_EXPORTER_ENV_VAR, mlflow/server/constants.py); each process then needs
prometheus-flask-exporter installed (mlflow/server/prometheus_exporter.py imports it) and
creates DIR when missing, as the app module does, which the mlflow user cannot do in /run
(systemd's RuntimeDirectory= makes it); see _standin_worker.py for /metrics.
--artifacts-only (the private server templates/mlflow-gc.py starts) refuses a backend store
URI, given or from MLFLOW_BACKEND_STORE_URI, with MLflow's usage error
(mlflow/utils/server_cli_utils.py, artifacts_only_config_validation), opens no database and
serves /health and the artifact API's DELETE (see _standin_worker.py); it records as
"mlflow artifacts-only" (start, listening, stopped). Control: artifacts-server-fails (it
exits with status 1 at start, as when its artifact store cannot be set up)."""
import configparser
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.parse

from _fake import STATE, control, installed, mlflow_version, record

# `mlflow server` options (MLflow 3.x), and whether each takes a value.
VALUE_OPTIONS = {
    "--backend-store-uri", "--registry-store-uri", "--default-artifact-root", "--artifacts-destination",
    "--host", "-h", "--port", "-p", "--workers", "-w", "--allowed-hosts", "--cors-allowed-origins",
    "--x-frame-options", "--static-prefix", "--uvicorn-opts", "--gunicorn-opts", "--waitress-opts",
    "--expose-prometheus", "--app-name", "--secrets-cache-ttl", "--secrets-cache-max-size",
    "--read-replica-backend-store-uri", "--workspace-store-uri", "--trace-archival-config",
}
FLAG_OPTIONS = {
    "--serve-artifacts", "--no-serve-artifacts", "--artifacts-only", "--disable-security-middleware", "--dev",
    "--enable-workspaces", "--disable-workspaces",
}
# What templates/mlflow-gc.py must keep from its private server (reported by name only).
TEAM_SERVER_ENV = ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_REGISTRY_STORE_URI", "MLFLOW_AUTH_CONFIG_PATH",
                   "MLFLOW_FLASK_SERVER_SECRET_KEY", "MLFLOW_TRACKING_URI", "MLFLOW_EXPOSE_PROMETHEUS", "prometheus_multiproc_dir")
# Environment variables reported in "start" (no secrets among them).
REPORTED_ENV = ("MLFLOW_DISABLE_TELEMETRY", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE",
                "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW", "CLOUD_SQL_BACKUP_INSTANCE", "MLFLOW_BACKUP_RETRY_PAUSE_SECONDS",
                "TMPDIR")


def usage_error(message):
    print(f"Usage: mlflow server [OPTIONS]\nTry 'mlflow server --help' for help.\n\nError: {message}", file=sys.stderr)
    sys.exit(2)


def parse(args):
    opts, i = {}, 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name in VALUE_OPTIONS:
            if not eq:
                i += 1
                if i == len(args):
                    usage_error(f"Option '{name}' requires an argument.")
                value = args[i]
            opts[name] = value
        elif args[i] in FLAG_OPTIONS:
            opts[args[i]] = True
        else:
            usage_error(f"No such option: {args[i]}")
        i += 1
    return opts


def known_secrets():
    values = set()
    for directory, _, files in os.walk(os.path.join(STATE, "secret-manager")):
        for name in files:
            with open(os.path.join(directory, name)) as f:
                values.add(f.read())
    return values


def checks(opts, uri):
    """What MLflow would read, checked against the test's secrets (results only)."""
    secrets, parsed = known_secrets(), urllib.parse.urlsplit(uri)
    result = {
        "backend_uri_from_environment": "--backend-store-uri" not in opts and "MLFLOW_BACKEND_STORE_URI" in os.environ,
        "db_password_is_a_secret": urllib.parse.unquote(parsed.password or "") in secrets,
        "environment": {k: os.environ[k] for k in REPORTED_ENV if k in os.environ},
    }
    if opts.get("--app-name") == "basic-auth":
        path = os.environ.get("MLFLOW_AUTH_CONFIG_PATH", "")
        config = configparser.ConfigParser()
        config.read(path)
        section = config["mlflow"]
        result.update({
            "auth_config_path": path,
            "flask_secret_key_is_a_secret": os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY") in secrets,
            "admin_password_is_a_secret": section["admin_password"] in secrets,
            "auth_database_uri_is_backend_uri": section["database_uri"] == uri,
            "admin_username": section["admin_username"],
            "default_permission": section["default_permission"],
        })
    return result


def database_tls(engine):
    from sqlalchemy import text

    with engine.connect() as conn:
        row = conn.execute(text("SELECT ssl, version, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).first()
    return {"ssl": row[0], "version": row[1], "user": row[2]}


def start_workers(workers, sock, env, record_as, fields):
    """Starts the server processes on `sock`, records "listening" once all are ready, then
    waits: a process that dies stops the stand-in (uvicorn would restart it)."""
    # Workers say "ready" once set up, and serve once the parent has recorded "listening"
    # (the go pipe closes), so a test never sees /health answer before that record.
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    procs = [subprocess.Popen([sys.executable, "-m", "mlflow.server._standin_worker", str(sock.fileno()), str(ready_w), str(go_r)],
                              pass_fds=(sock.fileno(), ready_w, go_r), env=env) for _ in range(workers)]
    os.close(ready_w)
    os.close(go_r)

    def stop(_signum, _frame):
        # Without Popen's methods: this may interrupt one of them (it holds a lock they take).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for p in procs:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                os.waitpid(p.pid, 0)
            except ChildProcessError:
                pass
        record(record_as, argv=sys.argv[1:], event="stopped")
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    with os.fdopen(ready_r) as ready:
        started = sum(1 for _ in zip(range(workers), ready))
    if started < workers:
        for p in procs:
            p.terminate()
        sys.exit(f"mlflow (stand-in): {workers - started} of {workers} server processes failed to start")
    record(record_as, argv=sys.argv[1:], event="listening", pid=os.getpid(), workers=workers, worker_pids=[p.pid for p in procs],
           version_served=mlflow_version(), **fields)
    os.close(go_w)
    while True:
        pid, status = os.wait()
        # A server process died: the stand-in stops (uvicorn would restart it), unless it died
        # of the SIGTERM that systemd sends the whole unit when it stops it (then `stop` runs).
        time.sleep(0.2)
        for p in procs:
            p.terminate()
        sys.exit(f"mlflow (stand-in): server process {pid} exited ({status})")


def listen(opts):
    port = int(opts.get("--port", opts.get("-p", "5000")))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def artifacts_only_server(opts):
    uri = opts.get("--backend-store-uri") or os.environ.get("MLFLOW_BACKEND_STORE_URI")
    if uri and uri not in ("sqlite:///mlflow.db", "./mlruns"):
        usage_error("You are starting a tracking server in `--artifacts-only` mode and have provided a value for "
                    f"`--backend_store_uri`: '{uri}'. A tracking server in `--artifacts-only` mode cannot have a value set "
                    "for `--backend_store_uri` to properly proxy access to the artifact storage location.")
    destination = opts.get("--artifacts-destination", "./mlartifacts")
    record("mlflow artifacts-only", argv=sys.argv[1:], event="start", cwd=os.getcwd(), artifacts_destination=destination,
           environment={k: os.environ[k] for k in REPORTED_ENV if k in os.environ},
           team_server_settings=sorted(k for k in TEAM_SERVER_ENV if k in os.environ))
    if control("artifacts-server-fails"):
        print("mlflow (stand-in): the artifacts-only server fails at start (control file artifacts-server-fails)", file=sys.stderr)
        sys.exit(1)
    env = {**os.environ, "_MLFLOW_STANDIN_APP": "artifacts-only", "_MLFLOW_STANDIN_ARTIFACTS_DESTINATION": destination}
    start_workers(int(opts.get("--workers", opts.get("-w", "4"))), listen(opts), env, "mlflow artifacts-only", {})


def server(args):
    opts = parse(args)
    if opts.get("--artifacts-only") or os.environ.get("MLFLOW_ARTIFACTS_ONLY", "").lower() in ("true", "1"):
        return artifacts_only_server(opts)
    app = opts.get("--app-name")
    if app not in (None, "basic-auth"):
        usage_error(f"Invalid value for '--app-name': '{app}' is not one of 'basic-auth'.")
    if app and not installed("mlflow[auth]"):
        raise ModuleNotFoundError("No module named 'flask_wtf' (the basic-auth app needs mlflow[auth])")
    uri = opts.get("--backend-store-uri") or os.environ.get("MLFLOW_BACKEND_STORE_URI", "sqlite:///mlflow.db")
    os.environ["MLFLOW_BACKEND_STORE_URI"] = uri
    record("mlflow", argv=sys.argv[1:], event="start", cwd=os.getcwd(), checks=checks(opts, uri))

    from mlflow.server import handlers

    try:
        handlers.initialize_backend_stores(uri, uri, opts.get("--default-artifact-root"))
    except Exception:
        print("ERROR mlflow.cli: Error initializing backend store", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
    tls = database_tls(handlers._get_tracking_store().engine)

    workers = int(opts.get("--workers", opts.get("-w", "4")))
    sock = listen(opts)
    env = {**os.environ, "_MLFLOW_STANDIN_APP": app or ""}
    metrics_dir = opts.get("--expose-prometheus") or os.environ.get("MLFLOW_EXPOSE_PROMETHEUS")
    if metrics_dir:
        env["prometheus_multiproc_dir"] = metrics_dir
    start_workers(workers, sock, env, "mlflow", {"database_tls": tls})
