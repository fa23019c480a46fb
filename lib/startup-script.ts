// Renders what the tracking-server VM runs: the startup script (templates/startup-script.sh)
// with the systemd units (the server, gc and its timer), the basic-auth INI, the schema-upgrade
// and gc helpers and the Ops Agent configuration embedded in it. Pure functions, text in and
// text out; tested on their own and inside the synthesized stack.
import { readTemplate, renderTemplate, escapeTerraformTemplate } from "./template";
import { DEFAULT_GC_OLDER_THAN, DEFAULT_GC_SCHEDULE } from "./operations";
import { toOnCalendar } from "./schedule";
import {
  DATABASE_DRIVER, DEFAULT_DEPENDENCY_CUTOFF, MlflowPermission, ServerEndpoint, UV_VERSION, allowedHosts, corsOrigins,
  pythonRequirements, gcEnvironment, serverEnvironment,
} from "./server-runtime";

/** Everything the startup script needs to know; secrets only by their Secret Manager name. */
export interface StartupScriptOptions {
  /** Project that holds the secrets. */
  readonly projectId: string;
  /** Exact MLflow version, e.g. `3.18.0`. */
  readonly mlflowVersion: string;
  /**
   * RFC 3339 instant every unpinned Python dependency is resolved at (uv `--exclude-newer`).
   * @default DEFAULT_DEPENDENCY_CUTOFF
   */
  readonly dependencyCutoff?: string;
  /** Port MLflow listens on. */
  readonly port: number;
  /** Address MLflow binds to: `0.0.0.0`, or `127.0.0.1` behind a local reverse proxy. */
  readonly bindAddress: "0.0.0.0" | "127.0.0.1";
  /** uvicorn worker processes. */
  readonly workers: number;
  /** Private IP (or name) of the PostgreSQL server. */
  readonly databaseHost: string;
  readonly databasePort: number;
  readonly databaseName: string;
  readonly databaseUser: string;
  /** Secret Manager secret id of the database password. */
  readonly databasePasswordSecret: string;
  /** PEM of the CA of the database server's certificate (not secret). */
  readonly databaseCaCertificate: string;
  /** `gs://bucket/prefix` that MLflow proxies artifacts to. */
  readonly artifactsDestination: string;
  /** Run MLflow's `basic-auth` app. */
  readonly basicAuth: boolean;
  /** Secret id of the MLflow admin password (needed with basic auth). @default - none; required when `basicAuth` is true */
  readonly adminPasswordSecret?: string;
  /** Secret id of the Flask secret key (needed with basic auth). @default - none; required when `basicAuth` is true */
  readonly flaskSecretKeySecret?: string;
  /** @default "READ" */
  readonly defaultPermission?: MlflowPermission;
  /** @default "admin" */
  readonly adminUsername?: string;
  /**
   * Every way clients reach the server (besides loopback): they become `--allowed-hosts`
   * and `--cors-allowed-origins`.
   * @default []
   */
  readonly endpoints?: readonly ServerEndpoint[];
  /**
   * Public DNS name served over HTTPS by Caddy on the VM, which proxies to MLflow on
   * 127.0.0.1 (set `bindAddress` to `127.0.0.1` with it).
   * @default - no HTTPS proxy
   */
  readonly domain?: string;
  /**
   * Device name of the persistent disk that keeps Caddy's certificates across VM
   * replacements (required with `domain`).
   * @default - none
   */
  readonly caddyDataDevice?: string;
  /**
   * `PROJECT/INSTANCE` of the Cloud SQL instance to back up before a schema migration.
   * @default - no backup
   */
  readonly backupInstance?: string;
  /**
   * Seconds the schema-upgrade step waits after a failed backup before it fails (systemd
   * then restarts the unit; the pause keeps it from requesting backups back to back).
   * @default 300
   */
  readonly backupRetryPauseSeconds?: number;
  /** MLflow's job runner (MLFLOW_SERVER_ENABLE_JOB_EXECUTION). @default false */
  readonly enableJobExecution?: boolean;
  /** SQLAlchemy pool size per engine (planConnections chooses it). @default 2 */
  readonly poolSize?: number;
  // MLflow ignores 0: `if pool_max_overflow:` (mlflow/store/db/utils.py create_sqlalchemy_engine).
  /** SQLAlchemy overflow per engine (at least 1: MLflow ignores 0). @default 2 */
  readonly maxOverflow?: number;
  /** When `mlflow gc` runs: a cron expression in UTC (lib/schedule.ts). @default "0 4 * * *" */
  readonly gcSchedule?: string;
  /** `mlflow gc --older-than`. @default "30d" */
  readonly gcOlderThan?: string;
}

/**
 * Google's Ops Agent, pinned: installed by its repository script with
 * `--also-install --version=<this>` (GoogleCloudPlatform/ops-agent, tag 2.70.0).
 */
export const OPS_AGENT_VERSION = "2.70.0";

/** Where the Ops Agent's repository script is fetched from, over HTTPS. */
export const OPS_AGENT_REPO_SCRIPT_URL = "https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh";

/** Root-only file with the admin password the Ops Agent sends to scrape /metrics (basic auth). */
export const OPS_AGENT_PASSWORD_FILE = "/etc/google-cloud-ops-agent/mlflow-metrics-password";

/**
 * mlflow.service's RuntimeDirectory=: systemd creates /run/<this> empty at each start of the
 * server and removes it at each stop (systemd.exec(5), RuntimeDirectory=).
 */
const METRICS_RUNTIME_DIRECTORY = "mlflow-metrics";

/** The directory `mlflow server --expose-prometheus` keeps its workers' metric files in (RuntimeDirectory=). */
export const METRICS_DIR = `/run/${METRICS_RUNTIME_DIRECTORY}`;

/** The unit that runs gc (templates/mlflow-gc.service), started by mlflow-gc.timer. */
export const GC_UNIT = "mlflow-gc.service";
/** The unit of Caddy, the HTTPS proxy in front of MLflow with a domain (the caddy package's). */
export const CADDY_UNIT = "caddy.service";
/**
 * The units whose journal entries the Ops Agent sends to Cloud Logging: the server, gc, Caddy
 * and the startup script (its log tells why a first boot failed).
 */
export const LOGGED_UNITS = ["mlflow.service", GC_UNIT, CADDY_UNIT, "google-startup-scripts.service"] as const;

/** The `mlflow server` arguments (no secrets: the database URI comes from the environment). */
export function serverArguments(options: StartupScriptOptions): string[] {
  const endpoints = options.endpoints ?? [];
  const args = [
    "--host", options.bindAddress,
    "--port", String(options.port),
    "--workers", String(options.workers),
    "--serve-artifacts",
    "--artifacts-destination", options.artifactsDestination,
    "--allowed-hosts", allowedHosts(endpoints).join(","),
    // /metrics for the Ops Agent (prometheus-flask-exporter, multiprocess files in METRICS_DIR).
    "--expose-prometheus", METRICS_DIR,
  ];
  const origins = corsOrigins(endpoints);
  if (origins.length > 0) args.push("--cors-allowed-origins", origins.join(","));
  if (options.basicAuth) args.push("--app-name", "basic-auth");
  return args;
}

/** The environment of mlflow.service (no secrets), as `Environment=` values. */
export function unitEnvironment(options: StartupScriptOptions): Record<string, string> {
  return {
    ...serverEnvironment({
      enableJobExecution: options.enableJobExecution ?? false,
      poolSize: options.poolSize ?? 2,
      maxOverflow: options.maxOverflow ?? 2,
    }),
    CLOUD_SQL_BACKUP_INSTANCE: options.backupInstance ?? "",
    MLFLOW_BACKUP_RETRY_PAUSE_SECONDS: String(options.backupRetryPauseSeconds ?? 300),
  };
}

/**
 * The systemd unit, as written on the VM. Values are checked, not quoted: none may contain
 * white space, quotes, backslashes or `%` (systemd specifiers).
 */
export function renderMlflowUnit(options: StartupScriptOptions): string {
  const args = serverArguments(options);
  checkUnitValues("renderMlflowUnit", args);
  const environment = environmentLines("renderMlflowUnit", unitEnvironment(options));
  const authConfig = options.basicAuth
    ? [
        "# The basic-auth INI (root-only, admin password inside) reaches the service as a",
        "# credential: systemd copies it into a directory only this service can read.",
        "LoadCredential=basic_auth.ini:/etc/mlflow/basic_auth.ini",
        "Environment=MLFLOW_AUTH_CONFIG_PATH=%d/basic_auth.ini",
      ].join("\n")
    : "# Basic auth is off: no credentials.";
  return renderTemplate(
    readTemplate("mlflow.service"),
    {
      AUTH_CONFIG: authConfig,
      ENVIRONMENT: environment,
      METRICS_RUNTIME_DIRECTORY,
      SERVER_ARGS: args.join(" "),
      HARDENING: hardening(),
    },
    { name: "mlflow.service", quote: false },
  );
}

/**
 * The sandbox settings mlflow.service and mlflow-gc.service share: templates/hardening.conf
 * without its leading comment lines.
 */
function hardening(): string {
  return readTemplate("hardening.conf").replace(/^(#[^\n]*\n)*/, "").trimEnd();
}

/** Throws when a value cannot go into a systemd unit line unquoted. */
function checkUnitValues(unit: string, values: readonly string[]): void {
  for (const value of values) {
    if (/[\s"'\\%;]/.test(value)) throw new Error(`${unit}: ${JSON.stringify(value)} cannot go into a systemd unit line`);
  }
}

/** A unit's `Environment=KEY=value` lines, each `KEY=value` checked by checkUnitValues. */
function environmentLines(unit: string, environment: Readonly<Record<string, string>>): string {
  const assignments = Object.entries(environment).map(([k, v]) => `${k}=${v}`);
  checkUnitValues(unit, assignments);
  return assignments.map((a) => `Environment=${a}`).join("\n");
}

/** The environment of mlflow-gc.service (no secrets: the database URI comes from mlflow.env). */
export function gcUnitEnvironment(options: StartupScriptOptions): Record<string, string> {
  return gcEnvironment({
    poolSize: options.poolSize ?? 2,
    maxOverflow: options.maxOverflow ?? 2,
    olderThan: options.gcOlderThan ?? DEFAULT_GC_OLDER_THAN,
    artifactsDestination: options.artifactsDestination,
  });
}

/** mlflow-gc.service: one run of templates/mlflow-gc.py as the mlflow user. */
export function renderGcUnit(options: StartupScriptOptions): string {
  return renderTemplate(readTemplate("mlflow-gc.service"), {
    ENVIRONMENT: environmentLines("renderGcUnit", gcUnitEnvironment(options)),
    HARDENING: hardening(),
  }, { name: "mlflow-gc.service", quote: false });
}

/** mlflow-gc.timer: the gc schedule as a systemd calendar event (UTC). */
export function renderGcTimer(options: Pick<StartupScriptOptions, "gcSchedule">): string {
  const cron = options.gcSchedule ?? DEFAULT_GC_SCHEDULE;
  return renderTemplate(readTemplate("mlflow-gc.timer"), { CRON: JSON.stringify(cron), ON_CALENDAR: toOnCalendar(cron) },
    { name: "mlflow-gc.timer", quote: false });
}

/**
 * The Ops Agent's config.yaml: MLflow's units' journal to Cloud Logging, MLflow's /metrics
 * (on loopback; with basic auth as the admin, password from OPS_AGENT_PASSWORD_FILE) to
 * Cloud Monitoring.
 */
export function renderOpsAgentConfig(options: Pick<StartupScriptOptions, "port" | "basicAuth" | "adminUsername">): string {
  const kept = LOGGED_UNITS.flatMap((u) => [`jsonPayload._SYSTEMD_UNIT = "${u}"`, `jsonPayload.UNIT = "${u}"`]);
  const username = options.adminUsername ?? "admin";
  if (!/^[A-Za-z0-9_.@-]+$/.test(username)) throw new Error(`renderOpsAgentConfig: ${JSON.stringify(username)} cannot go into the YAML unquoted`);
  // The password comes from a root-only file, read at every scrape (prometheus/common
  // config/http_config.go, basicAuthRoundTripper: password_file, whitespace trimmed): it is
  // neither in this file nor in the configuration the agent generates from it.
  const basicAuth = options.basicAuth
    ? ["            basic_auth:", `              username: ${username}`, `              password_file: ${OPS_AGENT_PASSWORD_FILE}`].join("\n")
    : "            # Basic auth is off: /metrics needs no credentials.";
  return renderTemplate(readTemplate("ops-agent.yaml"), {
    EXCLUDE_FILTER: `NOT (${kept.join(" OR ")})`,
    TARGET: `127.0.0.1:${options.port}`,
    BASIC_AUTH: basicAuth,
  }, { name: "ops-agent.yaml", quote: false });
}

/** The basic-auth INI, with @DATABASE_URI@ and @ADMIN_PASSWORD@ left for boot time. */
export function renderBasicAuthIni(options: Pick<StartupScriptOptions, "defaultPermission" | "adminUsername">): string {
  return renderTemplate(
    readTemplate("basic_auth.ini"),
    { DEFAULT_PERMISSION: options.defaultPermission ?? "READ", ADMIN_USERNAME: options.adminUsername ?? "admin" },
    { name: "basic_auth.ini", quote: false },
  );
}

/** The Caddyfile for HTTPS on `domain`, proxying to MLflow on 127.0.0.1. */
export function renderCaddyfile(options: Pick<StartupScriptOptions, "domain" | "port">): string {
  if (!options.domain) throw new Error("renderCaddyfile: no domain");
  if (!/^[a-z0-9.-]+$/.test(options.domain)) throw new Error(`renderCaddyfile: ${JSON.stringify(options.domain)} is not a DNS name`);
  return renderTemplate(readTemplate("Caddyfile"), { DOMAIN: options.domain, PORT: options.port }, { name: "Caddyfile", quote: false });
}

/**
 * The startup script exactly as the VM runs it. Terraform references (cdktf tokens) in the
 * options stay in the text as tokens; use `renderStartupScriptForTerraform` for a value
 * that goes into a resource attribute.
 */
export function renderStartupScript(options: StartupScriptOptions): string {
  if (options.basicAuth && (!options.adminPasswordSecret || !options.flaskSecretKeySecret)) {
    throw new Error("renderStartupScript: basicAuth needs adminPasswordSecret and flaskSecretKeySecret");
  }
  if (options.domain && options.bindAddress !== "127.0.0.1") {
    throw new Error("renderStartupScript: with a domain, MLflow must listen on 127.0.0.1 (behind Caddy)");
  }
  if (options.domain && !options.caddyDataDevice) {
    throw new Error("renderStartupScript: with a domain, Caddy's certificates need a persistent disk (caddyDataDevice)");
  }
  return renderTemplate(
    readTemplate("startup-script.sh"),
    {
      PROJECT_ID: options.projectId,
      PYTHON_REQUIREMENTS: pythonRequirements(options),
      DEPENDENCY_CUTOFF: options.dependencyCutoff ?? DEFAULT_DEPENDENCY_CUTOFF,
      UV_VERSION,
      // In the URI's double-quoted string, not a setting of its own: a bare word
      // (dialect+driver), which shellQuote leaves unquoted.
      DATABASE_DRIVER,
      DB_HOST: options.databaseHost,
      DB_PORT: options.databasePort,
      DB_NAME: options.databaseName,
      DB_USER: options.databaseUser,
      DB_PASSWORD_SECRET: options.databasePasswordSecret,
      DB_CA_CERT: options.databaseCaCertificate,
      BASIC_AUTH: options.basicAuth,
      ADMIN_PASSWORD_SECRET: options.adminPasswordSecret ?? "",
      FLASK_SECRET_KEY_SECRET: options.flaskSecretKeySecret ?? "",
      MLFLOW_PORT: options.port,
      DOMAIN: options.domain ?? "",
      // write_file adds the final newline itself
      CADDYFILE: options.domain ? renderCaddyfile(options).trimEnd() : "",
      CADDY_DATA_DEVICE: options.domain ? options.caddyDataDevice! : "",
      MLFLOW_UNIT: renderMlflowUnit(options).trimEnd(),
      BASIC_AUTH_INI: options.basicAuth ? renderBasicAuthIni(options) : "",
      DB_UPGRADE_SCRIPT: readTemplate("mlflow-db-upgrade.py").trimEnd(),
      GC_SCRIPT: readTemplate("mlflow-gc.py").trimEnd(),
      GC_UNIT: renderGcUnit(options).trimEnd(),
      GC_TIMER: renderGcTimer(options).trimEnd(),
      OPS_AGENT_VERSION,
      OPS_AGENT_REPO_SCRIPT_URL,
      OPS_AGENT_CONFIG: renderOpsAgentConfig(options).trimEnd(),
      OPS_AGENT_PASSWORD_FILE,
    },
    { name: "startup-script.sh" },
  );
}

/**
 * The startup script as a Terraform string: the script's own `${…}` and `%{…}` escaped so
 * Terraform hands them to the VM unchanged, cdktf tokens left as live references.
 */
export function renderStartupScriptForTerraform(options: StartupScriptOptions): string {
  return escapeTerraformTemplate(renderStartupScript(options));
}
