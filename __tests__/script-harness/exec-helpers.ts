// Shared by the startup-script execution tests (*.exec.test.ts): the test's secrets, fake VMs
// with their database and disks (cleaned up after each test), and the checks every scenario
// makes (files written, the server that runs, no secret in any log).
import * as fs from "fs";
import {
  renderBasicAuthIni, renderGcTimer, renderGcUnit, renderMlflowUnit, renderOpsAgentConfig, renderStartupScript, serverArguments,
  unitEnvironment, StartupScriptOptions,
} from "../../lib";
import { OPS_AGENT_PASSWORD_FILE } from "../../lib/startup-script";
import { readTemplate } from "../../lib/template";
import { SCRIPT_OPTIONS, tool, verifyMlflowUnit } from "../helpers";
import { destroyTemplates, FakeCloudSql, instanceCas } from "./cloudsql";
import { DB_PASSWORD, SECRETS } from "./secrets";
import { ACCESS_TOKEN, Call, FakeDisk, FakeVm, FakeVmOptions, JobResult, sandboxProblem } from "./vm";

export { DB_PASSWORD, SECRETS };

const problem = sandboxProblem();
if (problem && process.env.CI) throw new Error(`the startup-script harness must run in CI: ${problem}`);
if (problem) console.warn(`skipping the startup-script execution tests: ${problem}`);
/** `describe`, or `describe.skip` where the sandbox cannot run (never in CI: that throws above). */
export const describeVm = problem ? describe.skip : describe;

export const NO_AUTH: Partial<StartupScriptOptions> = { basicAuth: false, adminPasswordSecret: undefined, flaskSecretKeySecret: undefined };
/** Public mode, plain HTTP: reached at the external IP too. */
export const PUBLIC: Partial<StartupScriptOptions> = {
  endpoints: [...(SCRIPT_OPTIONS.endpoints ?? []), { scheme: "http", host: "34.76.1.2", port: 5000 }],
};
export const UNIT = "/etc/systemd/system/mlflow.service";
export const DB_UPGRADE = "/opt/mlflow/bin/mlflow-db-upgrade.py";
export const GC_SCRIPT = "/opt/mlflow/bin/mlflow-gc.py";
export const GC_UNIT = "/etc/systemd/system/mlflow-gc.service";
export const GC_TIMER = "/etc/systemd/system/mlflow-gc.timer";
export const OPS_AGENT_CONFIG = "/etc/google-cloud-ops-agent/config.yaml";
export { OPS_AGENT_PASSWORD_FILE };
export const CA_FILE = "/etc/mlflow/cloudsql-server-ca.pem";
export const SCHEMA_STEPS = ["mlflow create schema", "mlflow db upgrade", "mlflow auth db upgrade"];
/** The stand-in's schema heads per MLflow version (pystubs/mlflow/**\/migrations/versions). */
export const TRACKING_HEAD: Record<string, string> = { "3.17.2": "standin_0001", "3.18.0": "standin_0002" };
export const AUTH_HEAD: Record<string, string> = { "3.17.2": "standin_auth_0001", "3.18.0": "standin_auth_0002" };

/** The CA of the fake Cloud SQL instances' server certificates (what `server_ca_cert` gives). */
export function databaseCa(): string {
  return instanceCas(DB_PASSWORD).caPem;
}

/** A CA that did not sign the instances' certificates. */
export function otherCa(): string {
  return instanceCas(DB_PASSWORD).otherCaPem;
}

/** SCRIPT_OPTIONS with a random high port (free: each VM has its own network namespace) and the instance's CA. */
export function options(overrides: Partial<StartupScriptOptions> = {}): StartupScriptOptions {
  return { ...SCRIPT_OPTIONS, port: 20000 + Math.floor(Math.random() * 40000), databaseCaCertificate: databaseCa(), ...overrides };
}

const cleanups: Array<() => Promise<void> | void> = [];
/** KEEP_VMS=1: VMs are powered off but their directories (and databases, disks) kept. */
const KEEP = Boolean(process.env.KEEP_VMS);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => destroyTemplates());

/** A database the test owns (removed after the test). */
export function newDatabase(): FakeCloudSql {
  const db = new FakeCloudSql({ password: DB_PASSWORD });
  cleanups.push(() => (KEEP ? console.log(`KEEP_VMS: database ${db.dir}`) : db.destroy()));
  return db;
}

/** A persistent disk the test owns (removed after the test). */
export function newDisk(): FakeDisk {
  const disk = new FakeDisk();
  cleanups.push(() => (KEEP ? undefined : disk.destroy()));
  return disk;
}

export interface TestVm {
  vm: FakeVm;
  db: FakeCloudSql;
}

/** A VM (powered off) with its own database unless one is given; both removed after the test. */
export function newVm(vmOptions: Partial<FakeVmOptions> = {}): TestVm {
  const db = vmOptions.database ?? newDatabase();
  const vm = new FakeVm(SCRIPT_OPTIONS.projectId, SECRETS, { cloudSqlInstance: SCRIPT_OPTIONS.backupInstance, ...vmOptions, database: db });
  cleanups.push(async () => {
    if (KEEP) {
      await vm.powerOff();
      console.log(`KEEP_VMS: VM ${vm.dir}`);
    } else {
      await vm.destroy();
    }
  });
  return { vm, db };
}

export async function bootedVm(vmOptions: Partial<FakeVmOptions> = {}): Promise<TestVm> {
  const t = newVm(vmOptions);
  await t.vm.boot();
  return t;
}

/** Fails with the script's output, the journal and the database log when the exit status is not `code`. */
export function expectExit(result: JobResult, code: number, vm: FakeVm): void {
  if (result.code !== code) {
    const db = vm.options.database?.log().slice(-2000) ?? "";
    throw new Error(`startup script exited ${result.code}, expected ${code}\n--- output ---\n${result.output}\n--- journal ---\n${vm.journal().slice(-6000)}\n--- database log ---\n${db}\n--- dir ---\n${vm.dir}`);
  }
}

export async function runScript(vm: FakeVm, opts: StartupScriptOptions, code = 0): Promise<JobResult> {
  const result = await vm.startJob(renderStartupScript(opts));
  expectExit(result, code, vm);
  return result;
}

export const last = <T>(items: T[]): T => items[items.length - 1];
export const byScript = (calls: Call[], cmd: string): string[][] => calls.filter((c) => c.caller === "script" && c.cmd === cmd).map((c) => c.argv);
export const serverEvents = (calls: Call[], event: string): Call[] => calls.filter((c) => c.cmd === "mlflow" && c.event === event);
/** The calls recorded since `mark` (a length of an earlier calls()). */
export const after = (calls: Call[], mark: number): Call[] => calls.slice(mark);
/** The records of one kind, e.g. "timer armed" or "mlflow gc". */
export const events = (calls: Call[], cmd: string): Call[] => calls.filter((c) => c.cmd === cmd);
export const dbUpgradeRuns = (calls: Call[]): Call[] => calls.filter((c) => c.caller === "service" && c.cmd === "python" && c.argv[0] === DB_UPGRADE);
export const schemaSteps = (calls: Call[]): string[] => calls.filter((c) => SCHEMA_STEPS.includes(c.cmd)).map((c) => c.cmd);
export const backupRequests = (calls: Call[]): Call[] => calls.filter((c) => c.caller === "google" && c.cmd === "sqladmin.backupRuns.insert");

/**
 * From the old server's stop on: one on-demand backup of the right instance, taken while the
 * schema was still at the old revisions, polled until DONE, before any migration; then the
 * migrations; then the new server.
 */
export function expectBumpOrder(calls: Call[], e: { project: string; instance: string; oldTracking: string; oldAuth?: string; version: string }): void {
  const index = (pred: (c: Call) => boolean): number => calls.findIndex(pred);
  const requests = backupRequests(calls);
  expect(requests).toHaveLength(1);
  expect(requests[0]).toMatchObject({
    project: e.project, instance: e.instance, description: expect.stringContaining("before a schema migration"),
    schema: { alembic_version: e.oldTracking, alembic_version_auth: e.oldAuth ?? null },
  });
  const insert = calls.indexOf(requests[0]);
  const polls = calls.filter((c) => c.cmd === "sqladmin.operations.get" && c.operation === requests[0].operation);
  expect(polls.map((c) => c.status)).toEqual(["RUNNING", "DONE"]);
  const done = calls.indexOf(last(polls));
  const firstMigration = index((c) => SCHEMA_STEPS.includes(c.cmd));
  const migrations = calls.filter((c) => SCHEMA_STEPS.includes(c.cmd));
  expect(migrations.map((c) => [c.cmd, c.version])).toEqual([
    ["mlflow db upgrade", e.version], ...(e.oldAuth ? [["mlflow auth db upgrade", e.version]] : []),
  ]);
  const started = index((c) => c.cmd === "mlflow" && c.event === "start" && c.version === e.version);
  expect(insert).toBeGreaterThanOrEqual(0);
  expect(done).toBeGreaterThan(insert);
  expect(firstMigration).toBeGreaterThan(done);
  expect(started).toBeGreaterThan(calls.indexOf(last(migrations)));
}

/** Python's urllib.parse.quote(s, safe=""), which the script uses. */
export function urlQuote(s: string): string {
  return Array.from(Buffer.from(s, "utf8")).map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_.~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}

/** The backend-store URI exactly as the script must write it. */
export function backendUri(opts: StartupScriptOptions, password = DB_PASSWORD): string {
  return `postgresql+psycopg2://${urlQuote(opts.databaseUser)}:${urlQuote(password)}@${opts.databaseHost}:${opts.databasePort}/` +
    `${opts.databaseName}?sslmode=verify-ca&sslrootcert=${CA_FILE}&connect_timeout=10`;
}

export function mode(vm: FakeVm, vmPath: string): string {
  const st = fs.statSync(vm.file(vmPath));
  return `${(st.mode & 0o7777).toString(8)} uid=${st.uid}`;
}

/** systemd-analyze verify on the unit file the script wrote. */
export function expectUnitVerifies(vm: FakeVm): void {
  if (!tool("systemd-analyze", "systemd")) return;
  expect(verifyMlflowUnit(vm.read(UNIT))).toEqual({ output: "", status: 0 });
}

/** The files the script writes: exact contents, modes and owners. */
export function expectConfigFiles(vm: FakeVm, opts: StartupScriptOptions): void {
  // 0711: the mlflow user may open the CA certificate by name, nothing else in here.
  expect(mode(vm, "/etc/mlflow")).toBe("711 uid=0");
  expect(mode(vm, CA_FILE)).toBe("644 uid=0");
  expect(vm.read(CA_FILE)).toBe(`${opts.databaseCaCertificate}\n`);
  expect(mode(vm, "/etc/mlflow/mlflow.env")).toBe("600 uid=0");
  const env = [`MLFLOW_BACKEND_STORE_URI='${backendUri(opts)}'`];
  if (opts.basicAuth) env.push(`MLFLOW_FLASK_SERVER_SECRET_KEY='${SECRETS[opts.flaskSecretKeySecret!]}'`);
  expect(vm.read("/etc/mlflow/mlflow.env")).toBe(`${env.join("\n")}\n`);
  if (opts.basicAuth) {
    expect(mode(vm, "/etc/mlflow/basic_auth.ini")).toBe("600 uid=0");
    const ini = renderBasicAuthIni(opts)
      .split("@DATABASE_URI@").join(backendUri(opts).replace(/%/g, "%%"))
      .split("@ADMIN_PASSWORD@").join(SECRETS[opts.adminPasswordSecret!].replace(/%/g, "%%"));
    expect(vm.read("/etc/mlflow/basic_auth.ini")).toBe(ini);
  } else {
    expect(vm.exists("/etc/mlflow/basic_auth.ini")).toBe(false);
  }
  expect(mode(vm, UNIT)).toBe("644 uid=0");
  expect(vm.read(UNIT)).toBe(renderMlflowUnit(opts));
  expect(fs.readlinkSync(vm.file("/etc/systemd/system/multi-user.target.wants/mlflow.service"))).toBe(UNIT);
  expect(mode(vm, DB_UPGRADE)).toBe("644 uid=0");
  expect(vm.read(DB_UPGRADE).trimEnd()).toBe(readTemplate("mlflow-db-upgrade.py").trimEnd());
  // gc: the helper, its unit and its timer, enabled (timers.target wants it).
  for (const [file, text] of [[GC_SCRIPT, readTemplate("mlflow-gc.py")], [GC_UNIT, renderGcUnit(opts)], [GC_TIMER, renderGcTimer(opts)]]) {
    expect(mode(vm, file)).toBe("644 uid=0");
    expect(vm.read(file)).toBe(`${text.trimEnd()}\n`);
  }
  expect(fs.readlinkSync(vm.file("/etc/systemd/system/timers.target.wants/mlflow-gc.timer"))).toBe(GC_TIMER);
  // The Ops Agent's configuration, and the admin password for the /metrics scrape in a
  // root-only file with basic auth (none without).
  expect(mode(vm, OPS_AGENT_CONFIG)).toBe("644 uid=0");
  expect(vm.read(OPS_AGENT_CONFIG)).toBe(`${renderOpsAgentConfig(opts).trimEnd()}\n`);
  if (opts.basicAuth) {
    expect(mode(vm, OPS_AGENT_PASSWORD_FILE)).toBe("600 uid=0");
    expect(vm.read(OPS_AGENT_PASSWORD_FILE)).toBe(`${SECRETS[opts.adminPasswordSecret!]}\n`);
  } else {
    expect(vm.exists(OPS_AGENT_PASSWORD_FILE)).toBe(false);
  }
  expect(vm.read("/etc/passwd").split("\n").filter((l) => l.startsWith("mlflow:"))).toEqual([
    expect.stringMatching(/^mlflow:x:\d+:\d+::\/var\/lib\/mlflow:\/usr\/sbin\/nologin$/),
  ]);
}

export function mlflowUid(vm: FakeVm): number {
  return Number(/^mlflow:x:(\d+):/m.exec(vm.read("/etc/passwd"))![1]);
}

/**
 * The server that runs now: flags, version, user, environment, what reached it, a TLS
 * connection as the mlflow user; the database's schema at this version's heads; it answers
 * on loopback.
 */
export async function expectServing(t: TestVm, opts: StartupScriptOptions, version: string): Promise<void> {
  const { vm, db } = t;
  const calls = vm.calls();
  const listening = last(serverEvents(calls, "listening"));
  expect(listening.argv).toEqual(["server", ...serverArguments(opts)]);
  expect(listening.version_served).toBe(version);
  expect(listening.workers).toBe(opts.workers);
  expect(listening.database_tls).toEqual({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/), user: opts.databaseUser });
  expect(fs.readlinkSync(vm.file("/opt/mlflow/venv"))).toBe(listening.venv);
  const start = last(serverEvents(calls, "start"));
  expect(start.uid).toBe(mlflowUid(vm));
  expect(start.cwd).toBe("/var/lib/mlflow");
  const checks: Record<string, unknown> = {
    backend_uri_from_environment: true,
    db_password_is_a_secret: true,
    environment: { ...unitEnvironment(opts), TMPDIR: "/var/tmp" },
  };
  if (opts.basicAuth) {
    Object.assign(checks, {
      auth_config_path: "/run/credentials/mlflow.service/basic_auth.ini",
      flask_secret_key_is_a_secret: true,
      admin_password_is_a_secret: true,
      auth_database_uri_is_backend_uri: true,
      admin_username: opts.adminUsername ?? "admin",
      default_permission: opts.defaultPermission ?? "READ",
    });
  }
  expect(start.checks).toEqual(checks);
  expect(db.revision("alembic_version")).toBe(TRACKING_HEAD[version]);
  if (opts.basicAuth) {
    expect(db.revision("alembic_version_auth")).toBe(AUTH_HEAD[version]);
    expect(db.query(`SELECT username, is_admin FROM users`)).toBe(`${opts.adminUsername ?? "admin"}\tt`);
  }
  // /health is open; /version needs credentials with basic auth (as every path but /health and
  // static files: mlflow/server/auth/__init__.py), given as a client would, here in a curl
  // config on standard input (not on the command line, which the fake curl records).
  const credentials = opts.basicAuth ? curlConfigString(`${opts.adminUsername ?? "admin"}:${SECRETS[opts.adminPasswordSecret!]}`) : "";
  const health = await vm.sh(`curl -fsS http://127.0.0.1:${opts.port}/health && echo && curl -fsS --config - http://127.0.0.1:${opts.port}/version <<'EOF'\n` +
    `${credentials ? `user = ${credentials}\n` : ""}EOF`);
  expect(health.output).toBe(`OK\n${version}`);
}

/** TEXT as a double-quoted string of a curl config file (curl(1), -K: \\ and \" escaped). */
function curlConfigString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** No secret value (raw, URL-encoded, %-escaped or base64) and no token in any log or output. */
export function expectNoSecretInLogs(vm: FakeVm): void {
  const logs = vm.allLogs() + (vm.options.database?.log() ?? "");
  for (const secret of Object.values(SECRETS)) {
    for (const form of [secret, urlQuote(secret), secret.replace(/%/g, "%%"), Buffer.from(secret).toString("base64")]) {
      expect(logs).not.toContain(form);
    }
  }
  expect(logs).not.toContain(ACCESS_TOKEN);
}

/** Every file the script manages (content and mode), to compare across runs. */
export function snapshot(vm: FakeVm): Record<string, string> {
  const files = ["/etc/mlflow/mlflow.env", "/etc/mlflow/basic_auth.ini", CA_FILE, UNIT, DB_UPGRADE, GC_SCRIPT, GC_UNIT, GC_TIMER,
    OPS_AGENT_CONFIG, OPS_AGENT_PASSWORD_FILE, "/etc/passwd", "/etc/group", "/etc/fstab", "/var/lib/fake-dpkg/installed",
    "/var/lib/fake-dpkg/versions", "/etc/apt/sources.list.d/google-cloud-ops-agent.list"];
  const out: Record<string, string> = {};
  for (const f of files) if (vm.exists(f)) out[f] = `${mode(vm, f)}\n${vm.read(f)}`;
  out["/opt/mlflow"] = fs.readdirSync(vm.file("/opt/mlflow")).sort().join(" ");
  out["/etc/mlflow"] = fs.readdirSync(vm.file("/etc/mlflow")).sort().join(" ");
  out.venv = fs.readlinkSync(vm.file("/opt/mlflow/venv"));
  return out;
}

export function venvDirs(vm: FakeVm): string[] {
  return fs.readdirSync(vm.file("/opt/mlflow")).filter((d) => d.startsWith("venv-")).map((d) => `/opt/mlflow/${d}`);
}
