"""Brings MLflow's database schema up to date before the server starts: on a VM,
mlflow.service runs it (ExecStartPre) before every start; on Cloud Run, the migration job
runs it once per change, before the new revision serves.

Written by cdktf-mlflow-gcp (from templates/mlflow-db-upgrade.py). What it decides, for
the tracking tables (version table alembic_version) and, with basic auth, the auth tables
(alembic_version_auth, MLflow >= 3.6: mlflow/server/auth/db/migrations/env.py):
  - an empty database: create the schema (nothing to lose, so no backup);
  - a schema at the installed MLflow's head: nothing (no backup, no migration);
  - a schema behind it: take an on-demand Cloud SQL backup and wait for it, then migrate.
    MLflow's migrations are not transactional ("always take a backup of your database
    before running migrations": mlflow/db.py); when the backup fails, nothing is migrated
    and the script fails;
  - a schema MLflow does not know (written by a newer MLflow): fail, touching nothing.

Environment:
  MLFLOW_BACKEND_STORE_URI   the database URI, password included (from the root-only
                             EnvironmentFile or a Secret Manager reference, never a command
                             line, so it does not show in the process list)
  MLFLOW_AUTH_CONFIG_PATH    set with basic auth: its tables are migrated too
  CLOUD_SQL_BACKUP_INSTANCE  "PROJECT/INSTANCE" to back up before a migration; empty: no backup
  MLFLOW_BACKUP_RETRY_PAUSE_SECONDS  pause after a failed backup before failing (default 0)
  MLFLOW_BACKUP_POLL_SECONDS  how often the backup operation is polled (default 10)
  MLFLOW_CREATE_ADMIN_USER   "true": with basic auth, also create the admin user from the INI
                             (Cloud Run: the migration job does it once, instead of racing
                             server instances at their first start)
  GCE_METADATA_HOST          metadata server, as google-auth reads it (default
                             metadata.google.internal)
  CLOUDSDK_API_ENDPOINT_OVERRIDES_SQL  Cloud SQL Admin API root, a bare root only (default
                             https://sqladmin.googleapis.com/; /v1/... is appended; unlike
                             gcloud, a value with a version path is not supported). Set only
                             by the fake API of the test harness.
A failure exits non-zero: systemd retries the whole start (Restart=always); a failed
Cloud Run job execution fails the apply.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

import sqlalchemy

URI = os.environ["MLFLOW_BACKEND_STORE_URI"]
BACKUP_INSTANCE = os.environ.get("CLOUD_SQL_BACKUP_INSTANCE", "")
METADATA_HOST = os.environ.get("GCE_METADATA_HOST", "metadata.google.internal")
SQLADMIN = os.environ.get("CLOUDSDK_API_ENDPOINT_OVERRIDES_SQL", "https://sqladmin.googleapis.com/").rstrip("/")
# A backup of a large instance takes minutes; give up after an hour.
BACKUP_TIMEOUT_SECONDS = 3600
BACKUP_POLL_SECONDS = float(os.environ.get("MLFLOW_BACKUP_POLL_SECONDS", "10"))
# After a failed backup, wait this long before exiting: on a VM, systemd restarts the unit
# 10 s after a failure and would request another backup every few seconds.
BACKUP_RETRY_PAUSE_SECONDS = int(os.environ.get("MLFLOW_BACKUP_RETRY_PAUSE_SECONDS", "0"))


def log(message):
    print(f"mlflow-db-upgrade: {message}", flush=True)


class BackupFailed(Exception):
    pass


# ---- what the database holds --------------------------------------------------------------


def table_names(engine):
    return set(sqlalchemy.inspect(engine).get_table_names())


def tracking_state(engine):
    """"empty", "current", "behind" or "unknown" (newer than this MLflow), and the revisions."""
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config, _get_schema_version

    # As mlflow.store.db.utils._is_empty_database: alembic's own tables do not count.
    if all(t.startswith("alembic_") for t in table_names(engine)):
        return "empty", None, None
    # Loaded once for the head and for compare, as in auth_state. get_current_head fails on
    # several heads, as mlflow.store.db.utils._get_latest_schema_revision does.
    script = ScriptDirectory.from_config(_get_alembic_config(URI))
    current, head = _get_schema_version(engine), script.get_current_head()
    return compare(current, head, script), current, head


def auth_state(engine):
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from mlflow.server.auth.db.utils import _get_alembic_config

    if "users" not in table_names(engine):
        return "empty", None, None
    script = ScriptDirectory.from_config(_get_alembic_config(URI))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": "alembic_version_auth"})
        current = context.get_current_revision()
    head = script.get_current_head()
    if current is None:
        # Auth tables from before MLflow 3.6, without a version table: MLflow stamps them at its
        # initial revision (mlflow/server/auth/db/utils.py _stamp_legacy_database).
        return "behind", None, head
    return compare(current, head, script), current, head


def compare(current, head, script):
    if current == head:
        return "current"
    try:
        script.get_revision(current)
    except Exception:  # alembic.util.exc.CommandError: unknown revision
        return "unknown"
    return "behind"


# ---- the on-demand Cloud SQL backup ---------------------------------------------------------


def api(method, url, token=None, body=None):
    headers = {"Metadata-Flavor": "Google"} if token is None else {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        raise BackupFailed(f"{method} {url.split('?')[0]}: HTTP {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise BackupFailed(f"{method} {url.split('?')[0]}: {error}") from None


def access_token():
    url = f"http://{METADATA_HOST}/computeMetadata/v1/instance/service-accounts/default/token"
    return api("GET", url)["access_token"]


def backup(reason):
    """Takes an on-demand backup (Cloud SQL Admin API backupRuns.insert) and waits for it.

    POST v1/projects/P/instances/I/backupRuns, then operations.get v1/projects/P/operations/N
    (googleapis google/cloud/sql/v1 cloud_sql_backup_runs.proto, cloud_sql_operations.proto).
    """
    project, _, instance = BACKUP_INSTANCE.partition("/")
    log(f"backing up Cloud SQL instance {instance} before migrating ({reason})")
    operation = api(
        "POST",
        f"{SQLADMIN}/v1/projects/{project}/instances/{instance}/backupRuns",
        access_token(),
        {"description": f"cdktf-mlflow-gcp: before a schema migration ({reason})"},
    )
    deadline = time.monotonic() + BACKUP_TIMEOUT_SECONDS
    while operation.get("status") != "DONE":
        if time.monotonic() > deadline:
            raise BackupFailed(f"operation {operation.get('name')} not done after {BACKUP_TIMEOUT_SECONDS} s")
        time.sleep(BACKUP_POLL_SECONDS)
        operation = api("GET", f"{SQLADMIN}/v1/projects/{project}/operations/{operation['name']}", access_token())
    if operation.get("error"):
        raise BackupFailed(f"operation {operation['name']} failed: {json.dumps(operation['error'])[:500]}")
    log(f"backup done (operation {operation['name']})")


# ---- the migrations ---------------------------------------------------------------------------


def create_tracking_schema():
    # `mlflow db upgrade` expects existing tables; the store creates the current schema (and
    # stamps it) on an empty database (SqlAlchemyStore.__init__, _safe_initialize_tables).
    log("empty database, creating the tracking schema")
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(URI, "mlflow-artifacts:/")


def upgrade_tracking_schema():
    log("mlflow db upgrade")
    from mlflow.cli import cli

    cli.main(args=["db", "upgrade", URI], prog_name="mlflow", standalone_mode=False)


def upgrade_auth_schema():
    # Same as `python -m mlflow.server.auth db upgrade --url <uri>`.
    log("basic-auth db upgrade")
    from mlflow.server.auth.cli import commands

    commands.main(args=["db", "upgrade", "--url", URI], prog_name="mlflow.server.auth", standalone_mode=False)


def create_admin_user():
    # As the basic-auth app does at start (mlflow/server/auth/__init__.py create_admin_user):
    # only when the user does not exist; a later change of the INI's password does not
    # change an existing admin's password.
    from mlflow.server.auth.config import read_auth_config
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore as AuthStore

    config = read_auth_config()
    store = AuthStore()
    store.init_db(config.database_uri)
    if store.has_user(config.admin_username):
        log(f"admin user {config.admin_username} exists")
    else:
        store.create_user(config.admin_username, config.admin_password, is_admin=True)
        log(f"created admin user {config.admin_username}")


def main():
    engine = sqlalchemy.create_engine(URI, pool_pre_ping=True)
    try:
        tracking, current, head = tracking_state(engine)
        auth = auth_state(engine) if os.environ.get("MLFLOW_AUTH_CONFIG_PATH") else None
    finally:
        engine.dispose()
    log(f"tracking schema: {tracking}" + (f" ({current} -> {head})" if tracking == "behind" else ""))
    if auth:
        log(f"auth schema: {auth[0]}" + (f" ({auth[1]} -> {auth[2]})" if auth[0] == "behind" else ""))
    states = (("tracking", tracking), ("auth", auth and auth[0]))
    unknown = [part for part, state in states if state == "unknown"]
    if unknown:
        log(f"ERROR: the {' and '.join(unknown)} schema was written by a newer MLflow than this one; "
            "downgrades are not supported: deploy that version (or restore a backup)")
        sys.exit(3)

    behind = [part for part, state in states if state == "behind"]
    if behind:
        if BACKUP_INSTANCE:
            try:
                backup(f"{' and '.join(behind)} schema behind")
            except BackupFailed as error:
                log(f"ERROR: backup failed, nothing migrated: {error}")
                time.sleep(BACKUP_RETRY_PAUSE_SECONDS)
                sys.exit(4)
        else:
            log("backup before migrations is off (operations.backupBeforeUpgrade: false)")

    if tracking == "empty":
        create_tracking_schema()
    elif tracking == "behind":
        upgrade_tracking_schema()
    if auth and auth[0] in ("empty", "behind"):
        upgrade_auth_schema()
    if auth and os.environ.get("MLFLOW_CREATE_ADMIN_USER") == "true":
        create_admin_user()
    log("schema up to date")


if __name__ == "__main__":
    main()
