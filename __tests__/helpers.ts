// Shared test helpers: synthesize a stack to parsed Terraform JSON and pick resources.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, Testing } from "cdktf";
import { MlflowTrackingStack, MlflowTrackingStackProps, MlflowValidationError, StartupScriptOptions } from "../lib";

export type TfJson = {
  resource: Record<string, Record<string, any>>;
  data?: Record<string, Record<string, any>>;
  output: Record<string, { value: any; description?: string }>;
  provider: Record<string, any[]>;
  /** `moved` blocks (cdktf's moveFromId/moveToId). */
  moved?: Array<{ from: string; to: string }>;
};

export const BASE_PROPS: MlflowTrackingStackProps = { projectId: "acme-ml-prod", region: "europe-west1" };

/** The stack and its synthesized JSON, for given props (BASE_PROPS merged in). */
export function synthStack(props: Partial<MlflowTrackingStackProps> = {}): { stack: MlflowTrackingStack; json: TfJson; text: string } {
  const app = Testing.app();
  const stack = new MlflowTrackingStack(app, "mlflow", { ...BASE_PROPS, ...props });
  const text = Testing.synth(stack);
  return { stack, json: JSON.parse(text) as TfJson, text };
}

export function newApp(): App {
  return Testing.app();
}

/** All resources of a type, as [address name, config]. */
export function resourcesOf(json: TfJson, type: string): Array<[string, any]> {
  return Object.entries(json.resource[type] ?? {});
}

/** The one resource of a type (fails if there are none or several). */
export function onlyResource(json: TfJson, type: string): any {
  const all = resourcesOf(json, type);
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0][1];
}

/** The VM's startup script as the VM receives it (Terraform's escapes undone). */
export function vmScript(json: TfJson): string {
  return unescapeTerraform(onlyResource(json, "google_compute_instance").metadata_startup_script);
}

/** What Terraform does to literal text: `$${` → `${`, `%%{` → `%{`. */
export function unescapeTerraform(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}

/** A PEM-shaped stand-in for the Cloud SQL server CA (the harness's real PostgreSQL brings its own). */
export const TEST_CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest0CA0for0the0startup0script0tests\n-----END CERTIFICATE-----";

/** Startup-script options with concrete values (what the VM sees after apply). */
export const SCRIPT_OPTIONS: StartupScriptOptions = {
  projectId: "acme-ml-prod",
  mlflowVersion: "3.18.0",
  port: 5000,
  bindAddress: "0.0.0.0",
  workers: 2,
  databaseHost: "10.91.0.3",
  databasePort: 5432,
  databaseName: "mlflow",
  databaseUser: "mlflow",
  databasePasswordSecret: "mlflow-db-password",
  databaseCaCertificate: TEST_CA_PEM,
  artifactsDestination: "gs://acme-ml-prod-mlflow-artifacts/mlartifacts",
  basicAuth: true,
  adminPasswordSecret: "mlflow-admin-password",
  flaskSecretKeySecret: "mlflow-flask-secret-key",
  defaultPermission: "READ",
  endpoints: [{ scheme: "http", host: "10.20.0.2", port: 5000 }],
  backupInstance: "acme-ml-prod/mlflow-db",
};

/**
 * Whether a command-line tool exists here. In CI (CI=true) the tools are required: .ci/run
 * installs them, so a missing one is a failure, not a skip. Locally the check is skipped
 * with a warning naming the Debian package.
 */
export function tool(name: string, debianPackage = name): boolean {
  const found = spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
  if (!found && process.env.CI) throw new Error(`${name} is required in CI (.ci/run installs it)`);
  if (!found) console.warn(`${name} not installed: skipping its check (apt-get install ${debianPackage})`);
  return found;
}

/**
 * `systemd-analyze verify` of an mlflow.service text, in a small root holding the unit's
 * executables and systemd's own units, so it checks the unit itself, not this machine's
 * /opt. Returns what verify printed (empty when the unit is clean) and its exit status.
 */
export function verifyMlflowUnit(unitText: string): { output: string; status: number | null } {
  return verifyUnits({ "mlflow.service": unitText });
}

/**
 * `systemd-analyze verify` of several unit files checked together (a service and its timer),
 * in a small root like verifyMlflowUnit's. Returns what verify printed and its exit status.
 */
export function verifyUnits(units: Record<string, string>): { output: string; status: number | null } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-verify-"));
  try {
    fs.mkdirSync(path.join(root, "opt/mlflow/venv/bin"), { recursive: true });
    fs.mkdirSync(path.join(root, "etc/systemd/system"), { recursive: true });
    fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
    fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
    for (const exe of ["python", "mlflow"]) fs.writeFileSync(path.join(root, "opt/mlflow/venv/bin", exe), "#!/bin/sh\n", { mode: 0o755 });
    for (const [name, text] of Object.entries(units)) fs.writeFileSync(path.join(root, "etc/systemd/system", name), text);
    const result = spawnSync("systemd-analyze", ["verify", `--root=${root}`, ...Object.keys(units).map((n) => `/etc/systemd/system/${n}`)], { encoding: "utf8" });
    return { output: result.stderr + result.stdout, status: result.status };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Parses YAML with PyYAML (python3-yaml), as JSON. */
export function parseYaml(text: string): any {
  const result = spawnSync("python3", ["-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], { input: text, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`YAML does not parse: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/**
 * A Caddyfile as the real caddy binary reads it: `caddy adapt` (the JSON config, undefined
 * when it fails) and `caddy validate` (its output and exit status), in a scratch HOME so no
 * state of this machine is read or written. Undefined when caddy is not installed.
 */
export function checkCaddyfile(caddyfile: string): { config: any; adaptStatus: number | null; validation: { output: string; status: number | null } } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "caddy-"));
  try {
    const file = path.join(dir, "Caddyfile");
    fs.writeFileSync(file, caddyfile);
    const env = { ...process.env, HOME: dir, XDG_DATA_HOME: path.join(dir, "data"), XDG_CONFIG_HOME: path.join(dir, "config") };
    const adapted = spawnSync("caddy", ["adapt", "--config", file, "--adapter", "caddyfile"], { encoding: "utf8", env });
    const validated = spawnSync("caddy", ["validate", "--config", file, "--adapter", "caddyfile"], { encoding: "utf8", env, timeout: 30000 });
    return {
      config: adapted.status === 0 ? JSON.parse(adapted.stdout) : undefined,
      adaptStatus: adapted.status,
      validation: { output: validated.stdout + validated.stderr, status: validated.status },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The problems an MlflowValidationError lists for these props, as `path: expected`; [] when valid. */
export function problemsOf(props: Partial<MlflowTrackingStackProps>): string[] {
  try {
    synthStack(props);
  } catch (e) {
    if (e instanceof MlflowValidationError) return e.problems.map((p) => `${p.path}: ${p.expected}`);
    throw e;
  }
  return [];
}
