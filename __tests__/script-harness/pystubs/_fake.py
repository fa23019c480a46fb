"""Shared by the stand-in packages in this directory (a fake venv's "site-packages"):
the fake database's state, failing on demand and recording to the call log.

The database is outside the VM: /harness/state/db/ holds the schema version each part
was migrated to (files `tracking` and `auth`, absent while the database is empty).
While /harness/state/control/db-down exists, every connection fails.
"""
import json
import os

STATE = "/harness/state"


def mlflow_version():
    """The mlflow version pip "installed" into this venv."""
    with open(os.path.join(os.environ["FAKE_VENV"], "lib/python3.11/site-packages/fake-installed.txt")) as f:
        for line in f:
            name, _, version = line.strip().partition("==")
            if name.split("[")[0] == "mlflow":
                return version
    raise ModuleNotFoundError("No module named 'mlflow'")


def installed(requirement_name):
    with open(os.path.join(os.environ["FAKE_VENV"], "lib/python3.11/site-packages/fake-installed.txt")) as f:
        return any(line.split("==")[0] == requirement_name for line in f)


def record(cmd, **fields):
    line = {"caller": "service" if os.environ.get("INVOCATION_ID") else "script", "cmd": cmd, "argv": [],
            "version": mlflow_version(), "venv": os.environ["FAKE_VENV"], "uid": os.getuid(), **fields}
    with open(os.path.join(STATE, "log/calls.jsonl"), "a") as f:
        f.write(json.dumps(line) + "\n")


class OperationalError(Exception):
    pass


def connect(uri):
    """Fails like psycopg2 while the database is down; refuses what is not PostgreSQL."""
    if not uri.startswith("postgresql://"):
        raise ValueError("the fake database speaks PostgreSQL only, got another URI scheme")
    if os.path.exists(os.path.join(STATE, "control/db-down")):
        host = uri.split("@")[-1].split("/")[0]
        raise OperationalError(f'(psycopg2.OperationalError) connection to server at "{host}" failed: Connection timed out')


def _vtuple(v):
    return tuple(int(p) for p in v.split("."))


def schema(part):
    try:
        with open(os.path.join(STATE, "db", part)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def migrate(part, uri):
    """Brings one part of the schema to this venv's mlflow version (never down)."""
    connect(uri)
    current, wanted = schema(part), mlflow_version()
    if current and _vtuple(current) > _vtuple(wanted):
        raise RuntimeError(f"Can't locate revision: the {part} schema is from mlflow {current}, newer than {wanted}")
    with open(os.path.join(STATE, "db", part), "w") as f:
        f.write(wanted)
