"""Starts a process of the Cloud Run kind (the server, the migration job, the gc job) with
its database settings in place; written by cdktf-mlflow-gcp (templates/cloud-run-launcher.py)
and run as `python -c <this file> COMMAND...`.

Cloud Run hands secrets to a container as environment variables from Secret Manager
references; files must be written by the container itself. So, before it replaces itself
with COMMAND (os.execvp):
  - the Cloud SQL server CA (DB_CA_CERT, not secret) goes to a file, and the backend store
    URI is built from the parts with the driver named (postgresql+psycopg2, since SQLAlchemy
    2.1 maps a bare postgresql:// to psycopg 3) and sslmode=verify-ca: MLFLOW_BACKEND_STORE_URI;
  - with basic auth (MLFLOW_ADMIN_PASSWORD set), the basic-auth INI goes to a 0600 file:
    MLFLOW_AUTH_CONFIG_PATH;
  - the password variables are removed from the environment COMMAND sees.
Environment: DB_USER DB_HOST DB_PORT DB_NAME DB_CA_CERT; DB_PASSWORD, MLFLOW_ADMIN_PASSWORD
(Secret Manager references); MLFLOW_ADMIN_USERNAME, MLFLOW_DEFAULT_PERMISSION.
"""
import os
import sys
import tempfile
import urllib.parse

# In the container's own temporary directory (Cloud Run: in memory, per instance).
CONFIG_DIR = os.path.join(tempfile.gettempdir(), "mlflow-config")


def write(path, text, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def main():
    env = os.environ
    os.makedirs(CONFIG_DIR, mode=0o700, exist_ok=True)
    ca_file = os.path.join(CONFIG_DIR, "cloudsql-server-ca.pem")
    write(ca_file, env["DB_CA_CERT"] + "\n", 0o644)
    quote = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    # The driver is DATABASE_DRIVER of lib/server-runtime.ts (this file is not rendered: keep them in step).
    uri = (
        f"postgresql+psycopg2://{quote(env['DB_USER'])}:{quote(env.pop('DB_PASSWORD'))}@{env['DB_HOST']}:{env['DB_PORT']}"
        f"/{env['DB_NAME']}?sslmode=verify-ca&sslrootcert={ca_file}&connect_timeout=10"
    )
    env["MLFLOW_BACKEND_STORE_URI"] = uri
    admin_password = env.pop("MLFLOW_ADMIN_PASSWORD", None)
    if admin_password is not None:
        ini = os.path.join(CONFIG_DIR, "basic_auth.ini")
        # configparser reads it: a literal % is written %%.
        write(ini, "\n".join([
            "[mlflow]",
            f"default_permission = {env.get('MLFLOW_DEFAULT_PERMISSION', 'READ')}",
            f"database_uri = {uri.replace('%', '%%')}",
            f"admin_username = {env.get('MLFLOW_ADMIN_USERNAME', 'admin')}",
            f"admin_password = {admin_password.replace('%', '%%')}",
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
            "",
        ]), 0o600)
        env["MLFLOW_AUTH_CONFIG_PATH"] = ini
    os.execvp(sys.argv[1], sys.argv[1:])


main()
