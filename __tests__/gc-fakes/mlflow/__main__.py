"""`python -m mlflow ...`: the real mlflow/__main__.py is `from mlflow.cli import cli; cli.main()`.
Here only `mlflow server --artifacts-only ... --host H --port P` is emulated: it records its
argv and environment, then serves GET /health with 200 "OK" (mlflow/server/__init__.py,
health) until SIGTERM. FAKE_SERVER=exit makes it exit at once with status 1 (as `mlflow
server` does on a usage error); FAKE_SERVER=silent makes it run without answering;
FAKE_SERVER=stubborn makes it record SIGTERM and go on serving (as uvicorn does while a request
is in flight: it waits for it before it exits)."""
import http.server
import os
import signal
import sys
import time

from mlflow import record

args = sys.argv[1:]
record("server", argv=args, env=sorted(os.environ), cwd=os.getcwd())
mode = os.environ.get("FAKE_SERVER", "")
if mode == "exit":
    sys.exit(1)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, lambda *_: record("server-sigterm-ignored"))
else:
    signal.signal(signal.SIGTERM, lambda *_: (record("server-stopped"), sys.exit(0)))
if mode == "silent":
    while True:
        time.sleep(1)
host, port = args[args.index("--host") + 1], int(args[args.index("--port") + 1])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"OK" if self.path == "/health" else b"not found"
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


http.server.HTTPServer((host, port), Handler).serve_forever()
