"""Runs `mlflow gc` once: runs and experiments deleted long enough ago are removed for good,
with their artifacts. Written by cdktf-mlflow-gcp (from templates/mlflow-gc.py); on a VM
mlflow-gc.service runs it from its timer, on Cloud Run the gc job does (through the launcher,
which builds MLFLOW_BACKEND_STORE_URI).

Why it starts a server of its own: gc deletes a run's artifacts through the run's artifact
URI, and runs logged through a server that proxies artifacts have `mlflow-artifacts:/` URIs,
which MLflow resolves against MLFLOW_TRACKING_URI ("If you are running an MLflow tracking
server with artifact proxying enabled, you **must** set the MLFLOW_TRACKING_URI environment
variable before running this command": the gc docstring, mlflow/cli/__init__.py; without it
gc aborts, mlflow/mlflow#11642). The team's server asks for basic-auth credentials (and on
Cloud Run sits behind IAP), so instead this starts a private `mlflow server --artifacts-only`
on loopback, with no auth app and the team server's --artifacts-destination, points
MLFLOW_TRACKING_URI at it, runs gc in this process and stops the server. Nothing needs a
password but the database URI, and that never reaches a command line: `mlflow gc
--backend-store-uri` has no environment variable, so gc is called in-process (/proc/*/cmdline
is readable by every user on the VM).

Environment:
  MLFLOW_BACKEND_STORE_URI         the database URI (root-only EnvironmentFile, or the
                                   launcher on Cloud Run); not passed to the private server,
                                   which refuses one in --artifacts-only mode
                                   (mlflow/utils/server_cli_utils.py, artifacts_only_config_validation)
  MLFLOW_GC_OLDER_THAN             `mlflow gc --older-than`, e.g. 30d
  MLFLOW_GC_ARTIFACTS_DESTINATION  gs://bucket/prefix, as the team server's --artifacts-destination
  MLFLOW_GC_SERVER_START_SECONDS   how long to wait for the private server's /health (default 300)
Exit status: 0 done, 1 gc failed (or anything else went wrong), 2 the private server did not
start; every failure writes one line starting "mlflow-gc: ERROR" (the Cloud Run gc alert
matches it). A failure leaves the team's server alone; the next scheduled run tries again
(gc is idempotent). SIGTERM (a stop: systemctl stop, or Cloud Run ending the task) kills the
private server at once and ends this process by the same signal, which mlflow-gc.service
counts as clean (SuccessExitStatus=SIGTERM): left to finish an artifact deletion, the server
could outlast the stop's timeout, which systemd counts as a failed run.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

# Nothing of the team server's database, auth or metrics reaches the private server.
PRIVATE_SERVER_DROPS = (
    "MLFLOW_BACKEND_STORE_URI",
    "MLFLOW_REGISTRY_STORE_URI",
    "MLFLOW_AUTH_CONFIG_PATH",
    "MLFLOW_FLASK_SERVER_SECRET_KEY",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_EXPOSE_PROMETHEUS",
    "prometheus_multiproc_dir",
    "PROMETHEUS_MULTIPROC_DIR",
)


def log(message):
    print(f"mlflow-gc: {message}", flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_private_server(destination, port, workdir):
    env = {k: v for k, v in os.environ.items() if k not in PRIVATE_SERVER_DROPS}
    # No job runner (it would want a database) and no telemetry.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--artifacts-only", "--serve-artifacts",
        "--artifacts-destination", destination,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]
    log(f"starting a private artifacts-only server on 127.0.0.1:{port} for {destination}")
    # A process group of its own: `mlflow server` runs uvicorn as a child, and both must go.
    return subprocess.Popen(command, env=env, cwd=workdir, start_new_session=True)


def wait_healthy(server, url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log(f"ERROR: the private server exited with status {server.returncode}")
            return False
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    log(f"ERROR: the private server did not answer {url}/health within {seconds} s")
    return False


def stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    try:
        os.killpg(server.pid, signal.SIGKILL)  # whatever of the group is left (uvicorn)
    except ProcessLookupError:
        pass


def end_with_sigterm(server, workdir):
    """SIGTERM's handler while the private server runs (see the module docstring); whatever
    goes wrong in it, the process still ends by SIGTERM, as a stop must."""
    def handler(signum, frame):
        try:
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            shutil.rmtree(workdir, ignore_errors=True)
            log("stopped (SIGTERM): the private server is killed; the next scheduled run does the rest")
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
    signal.signal(signal.SIGTERM, handler)


def run_gc(uri, older_than, tracking_uri):
    # Set before mlflow.cli is imported: gc's --tracking-uri defaults to the variable as it
    # is at import; the artifact repositories read it again when they resolve URIs.
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    # Deleting a large run's artifacts is one request; MLflow's default timeout is 120 s
    # (MLFLOW_HTTP_REQUEST_TIMEOUT, mlflow/environment_variables.py).
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "900")
    from mlflow.cli import cli

    log(f"mlflow gc --older-than {older_than} --tracking-uri {tracking_uri}")
    cli.main(
        args=["gc", "--backend-store-uri", uri, "--older-than", older_than, "--tracking-uri", tracking_uri],
        prog_name="mlflow",
        standalone_mode=False,
    )


def setting(name):
    value = os.environ.get(name, "")
    if not value:
        # An empty --older-than would mean "no age limit" to mlflow gc.
        raise SystemExit(f"mlflow-gc: ERROR: {name} is not set")
    return value


def main():
    uri = setting("MLFLOW_BACKEND_STORE_URI")
    older_than = setting("MLFLOW_GC_OLDER_THAN")
    destination = setting("MLFLOW_GC_ARTIFACTS_DESTINATION")
    start_seconds = int(os.environ.get("MLFLOW_GC_SERVER_START_SECONDS", "300"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workdir = tempfile.mkdtemp(prefix="mlflow-gc-")
    server = start_private_server(destination, port, workdir)
    end_with_sigterm(server, workdir)
    try:
        if not wait_healthy(server, url, start_seconds):
            return 2
        try:
            run_gc(uri, older_than, url)
        except BaseException as error:  # noqa: BLE001 - click raises SystemExit/Abort too
            if isinstance(error, SystemExit) and error.code in (0, None):
                pass
            else:
                traceback.print_exc()
                log(f"ERROR: mlflow gc failed: {error!r}; runs removed before the failure stay removed, the next run retries the rest")
                return 1
        log("done")
        return 0
    finally:
        stop(server)
        # The server is gone (its process group id may be reused): SIGTERM is plain again.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        status = main()
    except SystemExit:
        raise  # setting(): its message is the error line
    except BaseException as error:  # noqa: BLE001 - anything else is a failure too
        traceback.print_exc()
        log(f"ERROR: {error!r}")
        status = 1
    sys.exit(status)
