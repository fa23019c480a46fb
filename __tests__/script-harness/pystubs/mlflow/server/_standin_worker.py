"""One server process of the `mlflow server` stand-in (a uvicorn worker): see _standin.py.
Arguments: the listening socket's and the readiness pipe's file descriptors."""
import http.server
import os
import signal
import socket
import sys
import threading
import time

from _fake import control, mlflow_version, record


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/health": "OK", "/version": mlflow_version()}.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write((body or "Not Found").encode())

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
    auth_store = None
    if os.environ.get("_MLFLOW_STANDIN_APP") == "basic-auth":
        from mlflow.server.auth import create_app

        auth_store = create_app()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = socket.socket(fileno=sock_fd)
    threading.Thread(target=watch, args=(auth_store,), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)
    os.read(go_fd, 1)  # EOF once the parent has recorded "listening"
    os.close(go_fd)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
