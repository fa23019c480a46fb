#!/usr/bin/python3
"""Fake Google APIs of the fake VM (harness only, not a real tool), on 127.0.0.1:8089 in the
VM's network namespace, started by vm-init.sh at every boot. It is the fake VM's
"network" for what units reach through Google client conventions: the fake systemctl
gives every unit GCE_METADATA_HOST=127.0.0.1:8089 (the variable google-auth reads for the
metadata server) and CLOUDSDK_API_ENDPOINT_OVERRIDES_SQL=http://127.0.0.1:8089/ (gcloud's
override of the Cloud SQL Admin API root), which mlflow-db-upgrade.py honours. (The startup
script's own curl calls go to bin/curl.)

Metadata server (cloud.google.com/compute/docs/metadata/querying-metadata: requests need the
"Metadata-Flavor: Google" header, else 403):
  GET /computeMetadata/v1/instance/service-accounts/default/token
      -> {"access_token", "expires_in", "token_type": "Bearer"}
Cloud SQL Admin API v1 (cloud.google.com/sql/docs/postgres/admin-api/rest/v1), with
"Authorization: Bearer <the token>" (else 401):
  POST /v1/projects/P/instances/I/backupRuns       backupRuns.insert: an Operation
      (status PENDING, operationType BACKUP_VOLUME); another instance than the fake one: 404
  GET  /v1/projects/P/operations/NAME              operations.get: RUNNING at the first
      poll, DONE after (with "error" when the backup failed)
The backup is real enough to check: pg_dump of the database into
/harness/cloudsql/backups/NAME.sql, and the schema revisions it holds are recorded.
Failures on demand (control files): backup-refused (insert answers 403 notAuthorized, what a
missing cloudsql.backupRuns.create permission gives), backup-fails (the operation ends DONE
with an error). Every Admin API call is recorded to the call log (caller "google").
"""
import glob
import http.server
import json
import os
import re
import subprocess
import threading
import time
import uuid

import psycopg2

STATE = "/harness/state"
CLOUDSQL = "/harness/cloudsql"
TOKEN = "ya29.fake-access-token-for-tests"
PORT = 8089
LOCK = threading.Lock()
OPERATIONS = {}


def control(name):
    return os.path.exists(os.path.join(STATE, "control", name))


def record(cmd, **fields):
    with LOCK, open(os.path.join(STATE, "log/calls.jsonl"), "a") as f:
        f.write(json.dumps({"caller": "google", "cmd": cmd, "argv": [], "t": time.time(), **fields}) + "\n")


def the_instance():
    with open(os.path.join(STATE, "google/cloudsql-instance")) as f:
        return f.read().strip()


def database_port():
    with open(os.path.join(CLOUDSQL, "address")) as f:
        return f.read().split()[1]


def revisions():
    """The schema revisions in the database now (what the backup holds)."""
    out = {}
    with psycopg2.connect(host=os.path.join(CLOUDSQL, "run"), port=database_port(), user="postgres", dbname="mlflow") as conn:
        with conn.cursor() as cur:
            for table in ("alembic_version", "alembic_version_auth"):
                cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
                if cur.fetchone()[0]:
                    cur.execute(f"SELECT version_num FROM {table}")
                    row = cur.fetchone()
                    out[table] = row[0] if row else None
                else:
                    out[table] = None
    conn.close()
    return out


def pg_dump(path):
    pg_bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    subprocess.run([f"{pg_bin}/pg_dump", "-h", os.path.join(CLOUDSQL, "run"), "-p", database_port(), "-U", "postgres",
                    "-f", path, "mlflow"], check=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message, reason):
        self.reply(status, {"error": {"code": status, "message": message, "errors": [{"message": message, "domain": "global", "reason": reason}]}})

    def authorized(self):
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.error(401, "Request is missing required authentication credential.", "required")
            return False
        return True

    def do_GET(self):
        if self.path == "/computeMetadata/v1/instance/service-accounts/default/token":
            if self.headers.get("Metadata-Flavor") != "Google":
                self.send_response(403)
                self.end_headers()
                self.wfile.write(b"Missing Metadata-Flavor:Google header.")
                return
            self.reply(200, {"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})
            return
        m = re.fullmatch(r"/v1/projects/([^/]+)/operations/([^/?]+)", self.path)
        if m:
            if not self.authorized():
                return
            with LOCK:
                op = OPERATIONS.get(m.group(2))
                if op is None or op["targetProject"] != m.group(1):
                    self.error(404, "The operation does not exist.", "operationDoesNotExist")
                    return
                op["polls"] += 1
                if op["polls"] >= 2:
                    op["status"] = "DONE"
                    if op["fails"]:
                        op["error"] = {"kind": "sql#operationErrors", "errors": [
                            {"kind": "sql#operationError", "code": "INTERNAL_ERROR", "message": "fake: the backup failed on demand"}]}
                else:
                    op["status"] = "RUNNING"
                body = {k: v for k, v in op.items() if k not in ("polls", "fails")}
            record("sqladmin.operations.get", project=m.group(1), operation=m.group(2), status=body["status"], error="error" in body)
            self.reply(200, body)
            return
        self.error(404, "Not Found", "notFound")

    def do_POST(self):
        m = re.fullmatch(r"/v1/projects/([^/]+)/instances/([^/]+)/backupRuns", self.path)
        if not m:
            self.error(404, "Not Found", "notFound")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        project, instance = m.groups()
        fields = {"project": project, "instance": instance, "description": body.get("description")}
        if not self.authorized():
            record("sqladmin.backupRuns.insert", refused="unauthenticated", **fields)
            return
        if f"{project}/{instance}" != the_instance():
            record("sqladmin.backupRuns.insert", refused="no such instance", **fields)
            self.error(404, "The Cloud SQL instance does not exist.", "instanceDoesNotExist")
            return
        if control("backup-refused"):
            record("sqladmin.backupRuns.insert", refused="not authorized", **fields)
            self.error(403, "The client is not authorized to make this request.", "notAuthorized")
            return
        name = str(uuid.uuid4())
        backup = os.path.join(CLOUDSQL, "backups", f"{name}.sql")
        pg_dump(backup)
        record("sqladmin.backupRuns.insert", operation=name, schema=revisions(), backup=backup, **fields)
        op = {"kind": "sql#operation", "name": name, "operationType": "BACKUP_VOLUME", "status": "PENDING",
              "targetProject": project, "targetId": instance,
              "selfLink": f"https://sqladmin.googleapis.com/v1/projects/{project}/operations/{name}",
              "polls": 0, "fails": control("backup-fails")}
        with LOCK:
            OPERATIONS[name] = op
        self.reply(200, {k: v for k, v in op.items() if k not in ("polls", "fails")})

    def log_message(self, *_args):
        pass


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    open("/run/fake-google-apis.ready", "w").close()
    server.serve_forever()
