"""One server process of the `mlflow server` stand-in (a uvicorn worker): see _standin.py.
Arguments: the listening socket's and the readiness pipe's file descriptors.

What it answers:
  GET /health ("OK") and GET /version (the version), never counted in the metrics (MLflow's
    exporter has excluded_paths=["/health", "/version"], mlflow/server/prometheus_exporter.py).
    With the basic-auth app only /health is open to all: mlflow/server/auth/__init__.py has
    _UNPROTECTED_PATH_PREFIXES = ("/static", "/favicon.ico", "/health") and _before_request()
    answers 401 to any other path without valid credentials (mlflow/mlflow master, e.g. the
    stored version at commit 000d336a1aa8c48094d37b6e6a6a7f9447b8538d, which also lists
    (SERVER_VERSION, "GET") among the routes any signed-in user may read); so /version needs
    credentials, like every protected path below;
  GET /metrics, when prometheus_multiproc_dir is set (--expose-prometheus): every process
    counts the requests it served in a file of its own in that directory (from its start:
    the exporter sets its info metric when the app is set up) and /metrics adds
    up the files of the directory, as prometheus_client's multiprocess mode does (which is
    why stale files of earlier processes must not be there), in the text format:
    mlflow_exporter_info{version="0.23.2"} and mlflow_http_request_total{method,status}
    (prometheus_flask_exporter 0.23.2, export_defaults with prefix "mlflow"; the /metrics
    endpoint itself is not tracked). The files are JSON here, not prometheus_client's mmap
    format. With the basic-auth app, /metrics needs credentials like every protected path:
    401 with WWW-Authenticate: Basic realm="mlflow" without them (make_basic_auth_response);
  DELETE /api/2.0/mlflow-artifacts/artifacts/PATH, in --artifacts-only mode: deletes PATH
    under --artifacts-destination (handlers._delete_artifact_mlflow_artifacts); here nothing
    is stored, so it records "mlflow artifacts deleted" with the location and answers "{}".
    Control: artifacts-delete-fails (HTTP 500 with the storage's error, as when the service
    account may not delete from the bucket), artifacts-delete-slow (the request waits while
    the file exists, like a large deletion).
Other requests get 404."""
import base64
import glob
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time

from _fake import control, installed, mlflow_version, record

ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts/"
EXPORTER_VERSION = "0.23.2"
APP = os.environ.get("_MLFLOW_STANDIN_APP", "")
METRICS_DIR = os.environ.get("prometheus_multiproc_dir")

auth_store = None
counts = {}
counts_lock = threading.Lock()


def count(method, status):
    if METRICS_DIR is None:
        return
    with counts_lock:
        if method is not None:
            key = f"{method} {status}"
            counts[key] = counts.get(key, 0) + 1
        path = os.path.join(METRICS_DIR, f"counter_{os.getpid()}.db")
        with open(path + ".tmp", "w") as f:
            json.dump(counts, f)
        os.replace(path + ".tmp", path)


def metrics_text():
    total = {}
    for path in glob.glob(os.path.join(METRICS_DIR, "counter_*.db")):
        with open(path) as f:
            for key, n in json.load(f).items():
                total[key] = total.get(key, 0) + n
    lines = ["# HELP mlflow_exporter_info Information about the Prometheus Flask exporter", "# TYPE mlflow_exporter_info gauge",
             f'mlflow_exporter_info{{version="{EXPORTER_VERSION}"}} 1.0',
             "# HELP mlflow_http_request_total Total number of HTTP requests", "# TYPE mlflow_http_request_total counter"]
    for key in sorted(total):
        method, status = key.split(" ")
        lines.append(f'mlflow_http_request_total{{method="{method}",status="{status}"}} {float(total[key])}')
    return "\n".join(lines) + "\n"


def authenticated(header):
    if not header or not header.startswith("Basic "):
        return False
    try:
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return auth_store.authenticate_user(username, password)


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body, headers=(), tracked=True):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())
        if tracked:
            count(self.command, status)

    def do_GET(self):
        # /health and /version are excluded from the metrics whatever the answer.
        tracked = self.path not in ("/health", "/version")
        if self.path == "/health":
            return self.answer(200, "OK", tracked=False)
        if APP == "basic-auth" and not authenticated(self.headers.get("Authorization")):
            return self.answer(401, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html"
                               "#authenticating-to-mlflow on how to authenticate.", [("WWW-Authenticate", 'Basic realm="mlflow"')],
                               tracked=tracked)
        if self.path == "/version":
            return self.answer(200, mlflow_version(), tracked=False)
        if self.path == "/metrics" and METRICS_DIR is not None:
            return self.answer(200, metrics_text(), tracked=False)
        self.answer(404, "Not Found")

    def do_DELETE(self):
        if APP != "artifacts-only" or not self.path.startswith(ARTIFACTS_API):
            return self.answer(404, "Not Found")
        path = self.path[len(ARTIFACTS_API):].strip("/")
        location = os.environ["_MLFLOW_STANDIN_ARTIFACTS_DESTINATION"].rstrip("/") + "/" + path
        while control("artifacts-delete-slow"):
            time.sleep(0.02)
        if control("artifacts-delete-fails"):
            record("mlflow artifacts delete failed", location=location)
            return self.answer(500, json.dumps({"error_code": "INTERNAL_ERROR", "message": f"403 DELETE {location}: "
                                                "Permission 'storage.objects.delete' denied (artifacts-delete-fails)"}))
        record("mlflow artifacts deleted", location=location)
        self.answer(200, "{}")

    def log_message(self, *_args):
        pass


def engines(auth_store):
    """Every engine this process has at worst: tracking, registry and job stores, and auth."""
    from mlflow.server import handlers

    found = {
        "tracking": handlers._get_tracking_store().engine,
        "registry": handlers._get_model_registry_store().engine,
        "jobs": handlers._get_job_store().engine,
    }
    if auth_store is not None:
        found["auth"] = auth_store.engine
    return found


def saturate(auth_store):
    """Checks out every connection every pool allows, holds them while saturate-pools exists."""
    held, got, blocked = [], {}, {}
    for name, engine in engines(auth_store).items():
        limit = engine.pool.size() + engine.pool._max_overflow
        conns = [engine.connect() for _ in range(limit)]
        held.extend(conns)
        got[name] = len(conns)
        extra = threading.Thread(target=lambda e=engine: e.connect().close(), daemon=True)
        extra.start()
        extra.join(0.5)
        blocked[name] = extra.is_alive()
    record("mlflow worker saturated", connections=got, one_more_blocked=blocked)
    while control("saturate-pools"):
        time.sleep(0.02)
    for conn in held:
        conn.close()
    record("mlflow worker released")


def watch(auth_store):
    while True:
        if control("saturate-pools"):
            try:
                saturate(auth_store)
            except Exception as error:  # recorded for the test, which then fails
                record("mlflow worker saturation failed", error=repr(error))
                while control("saturate-pools"):
                    time.sleep(0.02)
        time.sleep(0.02)


def main(sock_fd, ready_fd, go_fd):
    global auth_store
    if METRICS_DIR is not None:
        # mlflow/server/__init__.py: the exporter is imported, and the directory made when missing.
        if not installed("prometheus-flask-exporter"):
            raise ModuleNotFoundError("No module named 'prometheus_flask_exporter'")
        if not os.path.exists(METRICS_DIR):
            os.makedirs(METRICS_DIR)
        count(None, None)  # its file, from the start (the exporter sets its info metric at setup)
    if APP == "basic-auth":
        from mlflow.server.auth import create_app

        auth_store = create_app()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = socket.socket(fileno=sock_fd)
    if APP != "artifacts-only":
        threading.Thread(target=watch, args=(auth_store,), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)
    os.read(go_fd, 1)  # EOF once the parent has recorded "listening"
    os.close(go_fd)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
