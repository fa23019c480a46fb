"""Shared by the MLflow stand-in (installed into a fake venv by the fake uv, see venv/uv):
which MLflow version the venv holds, whether an extra is installed, the fake VM's clock,
and the harness call log. The stand-in itself talks to the real database with the real
SQLAlchemy, psycopg2 and alembic."""
import json
import os
import sys
import sysconfig
import time

STATE = "/harness/state"
# Time on the fake VM runs 100 times faster (bin/sleep): MLflow's retry delays are divided by it.
CLOCK_SPEEDUP = 100


def venv():
    return os.path.realpath(sys.prefix)


def _installed():
    with open(os.path.join(sysconfig.get_paths()["purelib"], "fake-installed.txt")) as f:
        return [line.strip() for line in f if line.strip()]


def mlflow_version():
    """The mlflow version uv "installed" into this venv."""
    for line in _installed():
        name, _, version = line.partition("==")
        if name.split("[")[0] == "mlflow":
            return version
    raise ModuleNotFoundError("No module named 'mlflow'")


def installed(requirement_name):
    return any(line.split("==")[0] == requirement_name for line in _installed())


def control(name):
    return os.path.exists(os.path.join(STATE, "control", name))


def record(cmd, **fields):
    line = {"caller": "service" if os.environ.get("INVOCATION_ID") else "script", "cmd": cmd, "argv": [],
            "version": mlflow_version(), "venv": venv(), "uid": os.getuid(), "pid": os.getpid(), "t": time.time(), **fields}
    with open(os.path.join(STATE, "log/calls.jsonl"), "a") as f:
        f.write(json.dumps(line) + "\n")
