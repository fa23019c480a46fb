// Renders what the tracking-server VM runs: the startup script (templates/startup-script.sh)
// with the systemd unit, the basic-auth INI and the schema-upgrade helper embedded in it.
// Pure functions, text in and text out; tested on their own and inside the synthesized stack.
import { readTemplate, renderTemplate, escapeTerraformTemplate } from "./template";

/** Versions installed next to MLflow; pinned so every boot installs the same thing. */
export const PINNED_PYTHON_PACKAGES = {
  "psycopg2-binary": "2.9.13",
  "google-cloud-storage": "3.17.1",
} as const;

/** The MLflow version installed when `mlflowVersion` is not given. */
export const DEFAULT_MLFLOW_VERSION = "3.18.0";

/** Permission every user has on experiments and models they did not create. */
export type MlflowPermission = "READ" | "EDIT" | "MANAGE" | "NO_PERMISSIONS";

/** Everything the startup script needs to know; secrets only by their Secret Manager name. */
export interface StartupScriptOptions {
  /** Project that holds the secrets. */
  readonly projectId: string;
  /** Exact MLflow version, e.g. `3.18.0`. */
  readonly mlflowVersion: string;
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
   * Host header values MLflow accepts besides the localhost forms and the VM's internal IP
   * (which the script adds at boot): static IP, `IP:port`, domain.
   * @default []
   */
  readonly extraAllowedHosts?: readonly string[];
  /** Origins allowed to send state-changing API requests (the public URL). @default [] */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * Public DNS name served over HTTPS by Caddy on the VM, which proxies to MLflow on
   * 127.0.0.1 (set `bindAddress` to `127.0.0.1` with it).
   * @default - no HTTPS proxy
   */
  readonly domain?: string;
}

/** Marker the script replaces with the VM's internal IP at boot. */
const INTERNAL_IP_MARKER = "@INTERNAL_IP@";

/** pip requirement specifiers, in install order. */
export function pipRequirements(options: Pick<StartupScriptOptions, "mlflowVersion" | "basicAuth">): string[] {
  return [
    `${options.basicAuth ? "mlflow[auth]" : "mlflow"}==${options.mlflowVersion}`,
    ...Object.entries(PINNED_PYTHON_PACKAGES).map(([name, version]) => `${name}==${version}`),
  ];
}

/**
 * Every Host header MLflow should accept. Given hosts replace MLflow's defaults (they do
 * not add to them), so the localhost forms used through an IAP tunnel or a local proxy are
 * listed again, and the internal IP for clients inside the VPC.
 */
export function allowedHosts(options: Pick<StartupScriptOptions, "extraAllowedHosts">): string[] {
  const hosts = [
    "localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*",
    INTERNAL_IP_MARKER, `${INTERNAL_IP_MARKER}:*`,
    ...(options.extraAllowedHosts ?? []),
  ];
  return [...new Set(hosts)];
}

/** The `mlflow server` arguments (no secrets: the database URI comes from the environment). */
export function serverArguments(options: StartupScriptOptions): string[] {
  const args = [
    "--host", options.bindAddress,
    "--port", String(options.port),
    "--workers", String(options.workers),
    "--serve-artifacts",
    "--artifacts-destination", options.artifactsDestination,
    "--allowed-hosts", allowedHosts(options).join(","),
  ];
  if ((options.corsAllowedOrigins ?? []).length > 0) {
    args.push("--cors-allowed-origins", (options.corsAllowedOrigins ?? []).join(","));
  }
  if (options.basicAuth) args.push("--app-name", "basic-auth");
  return args;
}

/**
 * The systemd unit, as written on the VM (still holding the internal-IP marker, which the
 * script fills in at boot). Values are checked, not quoted: none may contain white space,
 * quotes, backslashes or `%` (systemd specifiers).
 */
export function renderMlflowUnit(options: StartupScriptOptions): string {
  const args = serverArguments(options);
  for (const arg of args) {
    if (/[\s"'\\%;]/.test(arg)) throw new Error(`renderMlflowUnit: argument ${JSON.stringify(arg)} cannot go into a systemd command line`);
  }
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
    { AUTH_CONFIG: authConfig, SERVER_ARGS: args.join(" ") },
    { name: "mlflow.service", quote: false },
  );
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
  return renderTemplate(
    readTemplate("startup-script.sh"),
    {
      PROJECT_ID: options.projectId,
      PIP_REQUIREMENTS: pipRequirements(options),
      DB_HOST: options.databaseHost,
      DB_PORT: options.databasePort,
      DB_NAME: options.databaseName,
      DB_USER: options.databaseUser,
      DB_PASSWORD_SECRET: options.databasePasswordSecret,
      BASIC_AUTH: options.basicAuth,
      ADMIN_PASSWORD_SECRET: options.adminPasswordSecret ?? "",
      FLASK_SECRET_KEY_SECRET: options.flaskSecretKeySecret ?? "",
      MLFLOW_PORT: options.port,
      DOMAIN: options.domain ?? "",
      // write_file adds the final newline itself
      CADDYFILE: options.domain ? renderCaddyfile(options).trimEnd() : "",
      MLFLOW_UNIT: renderMlflowUnit(options),
      BASIC_AUTH_INI: options.basicAuth ? renderBasicAuthIni(options) : "",
      DB_UPGRADE_SCRIPT: readTemplate("mlflow-db-upgrade.py").trimEnd(),
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
