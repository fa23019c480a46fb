// What an `mlflow server` process needs to run correctly, whatever starts it (the VM's
// systemd unit or a Cloud Run container): the pinned Python packages and the date their
// dependencies are resolved at, the database URI with its driver named, the environment,
// and the Host and Origin lists of MLflow's security middleware. Both server kinds use
// this module; every fact is cited where it is used.

/** The MLflow version installed when `mlflowVersion` is not given. */
export const DEFAULT_MLFLOW_VERSION = "3.18.0";

/**
 * Versions installed next to MLflow, pinned exactly. `psycopg2-binary` is the database
 * driver the URIs name (`postgresql+psycopg2://`); `google-cloud-storage` is the GCS client
 * MLflow imports for `gs://` artifacts but does not depend on (MLflow's artifact-store docs);
 * `prometheus-flask-exporter` serves `/metrics` for `mlflow server --expose-prometheus`, and
 * is only in MLflow's `extras` (mlflow/mlflow dev/pyproject.py: "Required for exporting
 * metrics from the MLflow server to Prometheus"), which would bring much more.
 */
export const PINNED_PYTHON_PACKAGES = {
  "psycopg2-binary": "2.9.13",
  "google-cloud-storage": "3.17.1",
  "prometheus-flask-exporter": "0.23.2",
} as const;

/**
 * Every Python package below the pinned ones is resolved as of this instant: uv's
 * `--exclude-newer` ignores every file uploaded to PyPI later (compared with each file's
 * upload time; astral-sh/uv docs/concepts/resolution.md, "Reproducible resolutions"). So a VM
 * replaced next month installs what was reviewed with this release of the library, not
 * whatever was published since. An `mlflowVersion` released after this instant cannot be
 * resolved: move `dependencyCutoff` past its release.
 */
export const DEFAULT_DEPENDENCY_CUTOFF = "2026-11-28T00:00:00Z";

/**
 * uv, the installer: a single binary in its PyPI wheel (maturin `bindings = "bin"`), so
 * `pip install uv==X` in a venv of its own gives a pinned uv without piping a script into
 * a shell (astral-sh/uv pyproject.toml; docs/getting-started/installation.md, "PyPI").
 */
export const UV_VERSION = "0.12.5";

/**
 * The SQLAlchemy dialect and driver in every database URI. Since SQLAlchemy 2.1 a bare
 * `postgresql://` means psycopg 3, no longer psycopg2 (docs.sqlalchemy.org/en/21/changelog/
 * migration_21.html, "Default PostgreSQL driver changed to psycopg"), and MLflow allows any
 * `sqlalchemy<3`: naming the driver keeps the URI and the installed driver in step. The VM's
 * startup script is rendered with it; the Cloud Run launcher (templates/cloud-run-launcher.py,
 * run as it is, not rendered) writes the same driver itself.
 */
export const DATABASE_DRIVER = "postgresql+psycopg2";

/** Permission every user has on experiments and models they did not create. */
export type MlflowPermission = "READ" | "EDIT" | "MANAGE" | "NO_PERMISSIONS";

/** Python requirement specifiers of the server, in install order. */
export function pythonRequirements(options: { readonly mlflowVersion: string; readonly basicAuth: boolean }): string[] {
  return [
    `${options.basicAuth ? "mlflow[auth]" : "mlflow"}==${options.mlflowVersion}`,
    ...Object.entries(PINNED_PYTHON_PACKAGES).map(([name, version]) => `${name}==${version}`),
  ];
}

/** A way clients reach the server: scheme, host (a name, an address or a Terraform reference) and port. */
export interface ServerEndpoint {
  readonly scheme: "http" | "https";
  readonly host: string;
  readonly port: number;
}

const DEFAULT_PORTS = { http: 80, https: 443 } as const;

/**
 * Host header values of loopback clients: an IAP tunnel or SSH port forward ends on
 * localhost, the health checks of the startup script and of the Ops Agent use 127.0.0.1,
 * and MLflow's own job runner calls back to `http://{--host}:{--port}`, i.e. `0.0.0.0:PORT`
 * when bound to every address (mlflow/server/jobs/utils.py, `MLFLOW_TRACKING_URI` of the
 * runner). MLflow's defaults cover these, but `--allowed-hosts` replaces the defaults
 * (mlflow/server/security_utils.py, get_allowed_hosts_from_env), so they are listed again.
 */
export const LOOPBACK_HOSTS = ["localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "0.0.0.0", "0.0.0.0:*"] as const;

/**
 * `--allowed-hosts`: every Host header a legitimate request carries. A request whose Host
 * matches none gets 403 "Invalid Host header - possible DNS rebinding attack detected"
 * (mlflow/server/fastapi_security.py, MLflow >= 3.5). Browsers leave a default port (80,
 * 443) out of Host, other clients may put it in, so both forms are listed.
 */
export function allowedHosts(endpoints: readonly ServerEndpoint[]): string[] {
  const hosts: string[] = [...LOOPBACK_HOSTS];
  for (const e of endpoints) hosts.push(e.host, `${e.host}:${e.port}`);
  return [...new Set(hosts)];
}

/**
 * `--cors-allowed-origins`: the origin of every URL the UI is opened at. Browsers send
 * `Origin` on every POST/PUT/DELETE/PATCH, same-origin ones included, and MLflow answers
 * 403 "Cross-origin request blocked" to a state-changing `/api/` or `/ajax-api/` request
 * from an origin it does not list (mlflow/server/security_utils.py,
 * should_block_cors_request; localhost origins are always allowed). Without this the UI
 * opened by IP or internal DNS name can read but not write.
 */
export function corsOrigins(endpoints: readonly ServerEndpoint[]): string[] {
  return [...new Set(endpoints.map((e) => (e.port === DEFAULT_PORTS[e.scheme] ? `${e.scheme}://${e.host}` : `${e.scheme}://${e.host}:${e.port}`)))];
}

/** What the server's environment depends on. */
export interface ServerEnvironmentOptions {
  /** Run MLflow's job runner (MLFLOW_SERVER_ENABLE_JOB_EXECUTION). */
  readonly enableJobExecution: boolean;
  /**
   * Per-engine SQLAlchemy pool bounds (lib/connection-budget.ts chooses them), passed
   * through MLFLOW_SQLALCHEMYSTORE_POOL_SIZE / _MAX_OVERFLOW (mlflow/store/db/utils.py
   * create_sqlalchemy_engine). Unset, SQLAlchemy's QueuePool allows 5 + 10 per engine.
   */
  readonly poolSize: number;
  readonly maxOverflow: number;
}

/**
 * Environment variables of every `mlflow server` (no secrets: those come from files or
 * Secret Manager references).
 */
export function serverEnvironment(options: ServerEnvironmentOptions): Record<string, string> {
  return {
    // MLflow sends usage telemetry unless this is set (mlflow/environment_variables.py,
    // MLFLOW_DISABLE_TELEMETRY; mlflow/telemetry/). A team server does not phone home.
    MLFLOW_DISABLE_TELEMETRY: "true",
    // The job runner (on by default in MLflow 3.x) starts Huey consumer processes with
    // database connections of their own and calls back to the server
    // (mlflow/server/jobs/); off unless asked for, so the connection budget holds.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: options.enableJobExecution ? "true" : "false",
    MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: String(options.poolSize),
    MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: String(options.maxOverflow),
  };
}

/** What `mlflow gc` (templates/mlflow-gc.py) is run with, besides the database connection. */
export interface GcEnvironmentOptions {
  /** Its engines are sized like a server's (the connection budget counts them so). */
  readonly poolSize: number;
  readonly maxOverflow: number;
  /** `--older-than`, MLflow's `#d#h#m#s` format. */
  readonly olderThan: string;
  /** Where the private artifacts-only server it deletes artifacts through keeps them. */
  readonly artifactsDestination: string;
}

/** Environment variables of every gc run, VM unit or Cloud Run job (no secrets). */
export function gcEnvironment(options: GcEnvironmentOptions): Record<string, string> {
  const server = serverEnvironment({ enableJobExecution: false, poolSize: options.poolSize, maxOverflow: options.maxOverflow });
  return {
    MLFLOW_DISABLE_TELEMETRY: server.MLFLOW_DISABLE_TELEMETRY,
    MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: server.MLFLOW_SQLALCHEMYSTORE_POOL_SIZE,
    MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: server.MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW,
    MLFLOW_GC_OLDER_THAN: options.olderThan,
    MLFLOW_GC_ARTIFACTS_DESTINATION: options.artifactsDestination,
  };
}
