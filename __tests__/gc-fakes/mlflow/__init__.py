"""A stand-in for the mlflow package, for __tests__/mlflow-gc.test.ts only: just what
templates/mlflow-gc.py uses of it, each part following the real module named in its file.
Every call is recorded as one JSON line in $FAKE_RECORD."""
import json
import os


def record(event, **fields):
    with open(os.environ["FAKE_RECORD"], "a") as f:
        f.write(json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\n")
