// Executes every rendered variant of the startup script on this machine, in a fake VM, and
// checks what it did: first boot, reboot, version bump, config changes and failures.
// Run with `npm run test:script` (not part of `npm test`; .ci/run runs both).
//
// Isolation: bubblewrap (script-harness/vm.ts). Each fake VM is one `bwrap` process whose
// root is built from bind mounts: the host's /usr read-only; /etc, /opt and /var from a
// temp "disk" that survives a reboot (/etc starts as the host's, read-only, with writable
// user databases and an empty /etc/systemd/system); fresh /tmp, /run and /root.
// Chosen over a chroot or a hand-made `unshare` because one command gives everything
// without mount bookkeeping to undo: nothing is mounted on the host, so a crashed test
// leaves nothing behind but a temp dir; a PID namespace, so killing bwrap kills every
// process the script started (a power cut, for the reboot test); a network namespace
// with only loopback, so nothing the script runs can reach another machine and its ports
// never collide with the host's; and --die-with-parent, so the VM never outlives jest.
// The script never touches the host's /etc, /opt, /var/lib or systemd.
//
// Stand-ins (script-harness/bin, venv, pystubs; each file says what it emulates) record
// their arguments to a call log and fail on demand (control files): apt-get, dpkg-query,
// python3 (-m venv makes a fake venv; -c runs the real interpreter), curl (metadata
// server, Secret Manager; loopback goes to the real curl), systemctl (a small service
// manager that runs the written unit: User=, EnvironmentFile=, LoadCredential=,
// ExecStartPre=, Restart=), sleep (100x faster), useradd/id (record, then the real tools
// on the VM's own user databases), pip, and a fake `mlflow server` that answers /health on
// 127.0.0.1. The venv's python runs the real mlflow-db-upgrade.py against stub sqlalchemy
// and mlflow modules and a fake database (state/db: the schema version of each part).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  pipRequirements, renderBasicAuthIni, renderCaddyfile, renderMlflowUnit, renderStartupScript, serverArguments,
  StartupScriptOptions,
} from "../lib";
import { readTemplate } from "../lib/template";
import { SCRIPT_OPTIONS, tool, verifyMlflowUnit } from "./helpers";
import { ACCESS_TOKEN, Call, FakeVm, INTERNAL_IP, JobResult, sandboxProblem } from "./script-harness/vm";

const problem = sandboxProblem();
if (problem && process.env.CI) throw new Error(`the startup-script harness must run in CI: ${problem}`);
if (problem) console.warn(`skipping the startup-script execution tests: ${problem}`);
const describeVm = problem ? describe.skip : describe;

/** The fake Secret Manager's values: characters that need URL encoding, INI %-escaping,
 * and that a shell or systemd could expand ($, %d) if the script handled them carelessly. */
const SECRETS: Record<string, string> = {
  "mlflow-db-password": "db pa$$:w/rd@x%41?#&+1",
  "mlflow-admin-password": "adm%in p@ss$1;#x",
  "mlflow-flask-secret-key": "flask-key$HOME %d 9",
};
const NO_AUTH: Partial<StartupScriptOptions> = { basicAuth: false, adminPasswordSecret: undefined, flaskSecretKeySecret: undefined };
const PUBLIC: Partial<StartupScriptOptions> = {
  extraAllowedHosts: ["34.76.1.2", "34.76.1.2:5000"],
  corsAllowedOrigins: ["http://34.76.1.2:5000"],
};
const UNIT = "/etc/systemd/system/mlflow.service";
const DB_UPGRADE = "/opt/mlflow/bin/mlflow-db-upgrade.py";
const SCHEMA_STEPS = ["mlflow create schema", "mlflow db upgrade"];

/** SCRIPT_OPTIONS with a random high port (free: each VM has its own network namespace). */
function options(overrides: Partial<StartupScriptOptions> = {}): StartupScriptOptions {
  return { ...SCRIPT_OPTIONS, port: 20000 + Math.floor(Math.random() * 40000), ...overrides };
}

const vms: FakeVm[] = [];
afterEach(async () => {
  const done = vms.splice(0);
  if (process.env.KEEP_VMS) {
    await Promise.all(done.map((vm) => vm.powerOff()));
    console.log(`KEEP_VMS: kept ${done.map((vm) => vm.dir).join(" ")}`);
  } else {
    await Promise.all(done.map((vm) => vm.destroy()));
  }
});

async function bootedVm(): Promise<FakeVm> {
  const vm = new FakeVm(SCRIPT_OPTIONS.projectId, SECRETS);
  vms.push(vm);
  await vm.boot();
  return vm;
}

/** Fails with the script's output and the journal when the exit status is not `code`. */
function expectExit(result: JobResult, code: number, vm: FakeVm): void {
  if (result.code !== code) {
    throw new Error(`startup script exited ${result.code}, expected ${code}\n--- output ---\n${result.output}\n--- journal ---\n${vm.journal().slice(-4000)}`);
  }
}

async function runScript(vm: FakeVm, opts: StartupScriptOptions, code = 0): Promise<JobResult> {
  const result = await vm.startJob(renderStartupScript(opts));
  expectExit(result, code, vm);
  return result;
}

const last = <T>(items: T[]): T => items[items.length - 1];
const byScript = (calls: Call[], cmd: string): string[][] => calls.filter((c) => c.caller === "script" && c.cmd === cmd).map((c) => c.argv);
const serverEvents = (calls: Call[], event: string): Call[] => calls.filter((c) => c.cmd === "mlflow" && c.event === event);
const dbUpgradeRuns = (calls: Call[]): Call[] => calls.filter((c) => c.caller === "service" && c.cmd === "python" && c.argv[0] === DB_UPGRADE);

function expectedServerArgv(opts: StartupScriptOptions): string[] {
  return ["server", ...serverArguments(opts).map((arg) => arg.split("@INTERNAL_IP@").join(INTERNAL_IP))];
}

/** Python's urllib.parse.quote(s, safe=""), which the script uses. */
function urlQuote(s: string): string {
  return Array.from(Buffer.from(s, "utf8")).map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_.~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}

function backendUri(opts: StartupScriptOptions): string {
  return `postgresql://${urlQuote(opts.databaseUser)}:${urlQuote(SECRETS[opts.databasePasswordSecret])}@${opts.databaseHost}:${opts.databasePort}/${opts.databaseName}?sslmode=require&connect_timeout=10`;
}

function mode(vm: FakeVm, vmPath: string): string {
  const st = fs.statSync(vm.file(vmPath));
  return `${(st.mode & 0o7777).toString(8)} uid=${st.uid}`;
}


/** systemd-analyze verify on the unit file the script wrote. */
function expectUnitVerifies(vm: FakeVm): void {
  if (!tool("systemd-analyze", "systemd")) return;
  expect(verifyMlflowUnit(vm.read(UNIT))).toEqual({ output: "", status: 0 });
}

/** The files the script writes: exact contents, modes and owners. */
function expectConfigFiles(vm: FakeVm, opts: StartupScriptOptions): void {
  expect(mode(vm, "/etc/mlflow")).toBe("700 uid=0");
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
  expect(vm.read(UNIT)).toBe(renderMlflowUnit(opts).split("@INTERNAL_IP@").join(INTERNAL_IP));
  expect(fs.readlinkSync(vm.file("/etc/systemd/system/multi-user.target.wants/mlflow.service"))).toBe(UNIT);
  expect(mode(vm, DB_UPGRADE)).toBe("644 uid=0");
  expect(vm.read(DB_UPGRADE).trimEnd()).toBe(readTemplate("mlflow-db-upgrade.py").trimEnd());
  expect(vm.read("/etc/passwd").split("\n").filter((l) => l.startsWith("mlflow:"))).toEqual([
    expect.stringMatching(/^mlflow:x:\d+:\d+::\/var\/lib\/mlflow:\/usr\/sbin\/nologin$/),
  ]);
}

function mlflowUid(vm: FakeVm): number {
  return Number(/^mlflow:x:(\d+):/m.exec(vm.read("/etc/passwd"))![1]);
}

/** The server that runs now: flags, version, user, what reached it; answers on loopback. */
async function expectServing(vm: FakeVm, opts: StartupScriptOptions, version: string): Promise<void> {
  const calls = vm.calls();
  const listening = last(serverEvents(calls, "listening"));
  expect(listening.argv).toEqual(expectedServerArgv(opts));
  expect(listening.version).toBe(version);
  expect(fs.readlinkSync(vm.file("/opt/mlflow/venv"))).toBe(listening.venv);
  const start = last(serverEvents(calls, "start"));
  expect(start.uid).toBe(mlflowUid(vm));
  expect(start.cwd).toBe("/var/lib/mlflow");
  const checks: Record<string, unknown> = {
    backend_uri_from_environment: true,
    backend_uri_postgresql_tls: true,
    db_password_is_a_secret: true,
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
  // The schema was brought to this version before this server started.
  const schemaStep = calls.map((c, i) => (SCHEMA_STEPS.includes(c.cmd) ? i : -1)).filter((i) => i >= 0);
  expect(schemaStep.length).toBeGreaterThan(0);
  expect(last(schemaStep)).toBeLessThan(calls.lastIndexOf(start));
  expect(calls[last(schemaStep)].version).toBe(version);
  const health = await vm.sh(`curl -fsS http://127.0.0.1:${opts.port}/health && echo && curl -fsS http://127.0.0.1:${opts.port}/version`);
  expect(health.output).toBe(`OK\n${version}`);
}

/** No secret value (raw, URL-encoded, %-escaped or base64) and no token in any log or output. */
function expectNoSecretInLogs(vm: FakeVm): void {
  const logs = vm.allLogs();
  for (const secret of Object.values(SECRETS)) {
    for (const form of [secret, urlQuote(secret), secret.replace(/%/g, "%%"), Buffer.from(secret).toString("base64")]) {
      expect(logs).not.toContain(form);
    }
  }
  expect(logs).not.toContain(ACCESS_TOKEN);
}

/** Every file the script manages (content and mode), to compare across runs. */
function snapshot(vm: FakeVm): Record<string, string> {
  const files = ["/etc/mlflow/mlflow.env", "/etc/mlflow/basic_auth.ini", UNIT, DB_UPGRADE, "/etc/passwd", "/etc/group", "/var/lib/fake-dpkg/installed"];
  const out: Record<string, string> = {};
  for (const f of files) if (vm.exists(f)) out[f] = `${mode(vm, f)}\n${vm.read(f)}`;
  out["/opt/mlflow"] = fs.readdirSync(vm.file("/opt/mlflow")).sort().join(" ");
  out["/etc/mlflow"] = fs.readdirSync(vm.file("/etc/mlflow")).sort().join(" ");
  out.venv = fs.readlinkSync(vm.file("/opt/mlflow/venv"));
  return out;
}

function venvDirs(vm: FakeVm): string[] {
  return fs.readdirSync(vm.file("/opt/mlflow")).filter((d) => d.startsWith("venv-")).map((d) => `/opt/mlflow/${d}`);
}

const variants: Array<[string, Partial<StartupScriptOptions>]> = [
  ["private (SCRIPT_OPTIONS)", {}],
  ["public, plain HTTP", PUBLIC],
  ["basic auth off", NO_AUTH],
  ["custom version 3.17.2", { mlflowVersion: "3.17.2" }],
];

describe("rendered scripts and fakes", () => {
  test.each(variants)("%s: no secret value in the script text", (_name, overrides) => {
    const script = renderStartupScript(options(overrides));
    for (const secret of Object.values(SECRETS)) expect(script).not.toContain(secret);
  });

  test("the shell fakes pass shellcheck", () => {
    if (!tool("shellcheck")) return;
    const dir = path.join(__dirname, "script-harness");
    const files = [...fs.readdirSync(path.join(dir, "bin")).map((f) => `bin/${f}`), "venv/pip", "venv/python", "vm-init.sh", "fake-lib.sh"];
    const result = spawnSync("shellcheck", ["-S", "warning", "-s", "bash", ...files], { cwd: dir, encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
  });
});

describeVm("the fakes themselves", () => {
  test("curl refuses non-loopback addresses and a token on the command line; Secret Manager needs the token on stdin", async () => {
    const vm = await bootedVm();
    const url = `https://secretmanager.googleapis.com/v1/projects/${SCRIPT_OPTIONS.projectId}/secrets/mlflow-db-password/versions/latest:access`;
    const run = async (cmd: string): Promise<string> => (await vm.sh(`${cmd}; echo " rc=$?"`)).output.trim();
    expect(await run("curl -fsS http://192.0.2.1/ 2>&1")).toMatch(/refusing to contact http:\/\/192.0.2.1\/[\s\S]*rc=7$/);
    expect(await run(`curl -fsS -H 'Authorization: Bearer ${ACCESS_TOKEN}' ${url} 2>&1`)).toMatch(/error: 400\s+rc=22$/);
    expect(await run(`curl -fsS ${url} 2>&1`)).toMatch(/error: 401\s+rc=22$/);
    const ok = await run(`echo 'header = "Authorization: Bearer ${ACCESS_TOKEN}"' | curl -fsS --config - ${url}`);
    expect(ok).toContain(`"data":"${Buffer.from(SECRETS["mlflow-db-password"]).toString("base64")}"`);
  });
});

describeVm("first boot", () => {
  test.each(variants)("%s", async (_name, overrides) => {
    const opts = options(overrides);
    const vm = await bootedVm();
    const result = await runScript(vm, opts);
    expect(result.output).toContain(`mlflow-startup: MLflow is healthy on port ${opts.port}`);
    const calls = vm.calls();

    // OS packages: only the missing one, once; the user; one venv with the pinned set.
    expect(byScript(calls, "apt-get")).toEqual([
      ["update", "-q", "-oDPkg::Lock::Timeout=300"], ["install", "-y", "-q", "--no-install-recommends", "-oDPkg::Lock::Timeout=300", "python3-venv"],
    ]);
    expect(byScript(calls, "useradd")).toHaveLength(1);
    expect(byScript(calls, "pip")).toEqual([["install", "--quiet", "--no-cache-dir", "--disable-pip-version-check", ...pipRequirements(opts)]]);
    expect(venvDirs(vm)).toEqual([fs.readlinkSync(vm.file("/opt/mlflow/venv"))]);

    // Secrets: each fetched from Secret Manager, the token only on curl's standard input.
    const secretNames = [opts.databasePasswordSecret, ...(opts.basicAuth ? [opts.adminPasswordSecret!, opts.flaskSecretKeySecret!] : [])];
    const fetched = byScript(calls, "curl").filter((argv) => argv.some((a) => a.startsWith("https://secretmanager.")));
    expect(fetched).toEqual(secretNames.map((name) => [
      "-fsS", "--config", "-", `https://secretmanager.googleapis.com/v1/projects/${opts.projectId}/secrets/${name}/versions/latest:access`,
    ]));

    expectConfigFiles(vm, opts);
    expectUnitVerifies(vm);
    await expectServing(vm, opts, opts.mlflowVersion);
    // First start on an empty database: the schema is created (and the auth tables with basic auth).
    expect(calls.filter((c) => c.caller === "service" && c.cmd.startsWith("mlflow ")).map((c) => c.cmd)).toEqual(
      ["mlflow create schema", ...(opts.basicAuth ? ["mlflow auth db upgrade"] : [])],
    );
    expect(serverEvents(vm.calls(), "listening")).toHaveLength(1);
    expectNoSecretInLogs(vm);
  });
});

describeVm("reboot", () => {
  test("same inputs: no reinstall, files unchanged, the same server again", async () => {
    const opts = options();
    const vm = await bootedVm();
    await runScript(vm, opts);
    const before = snapshot(vm);
    const firstArgv = last(serverEvents(vm.calls(), "listening")).argv;

    await vm.powerOff(); // the server dies with the VM
    const mark = vm.calls().length;
    await vm.boot();
    await runScript(vm, opts);
    const calls = vm.calls().slice(mark);

    // systemd started the enabled unit at boot; the script found nothing to change.
    expect(calls.filter((c) => c.caller === "boot" && c.cmd === "systemctl").map((c) => c.argv)).toEqual([
      ["daemon-reload"], ["start", "--no-block", "mlflow.service"],
    ]);
    expect(byScript(calls, "apt-get")).toEqual([]);
    expect(byScript(calls, "useradd")).toEqual([]);
    expect(byScript(calls, "python3").filter((argv) => argv[0] === "-m")).toEqual([]);
    expect(byScript(calls, "pip")).toEqual([]);
    expect(byScript(calls, "systemctl")).toEqual([["daemon-reload"], ["enable", "mlflow.service"], ["start", "--no-block", "mlflow.service"]]);
    expect(snapshot(vm)).toEqual(before);
    for (const file of ["/etc/mlflow/mlflow.env", "/etc/mlflow/basic_auth.ini", UNIT]) {
      const lines = vm.read(file).split("\n").filter((l) => l && !l.startsWith("#"));
      expect(new Set(lines).size).toBe(lines.length);
    }

    // One server since the reboot, same flags, after `mlflow db upgrade` (the schema exists now).
    expect(serverEvents(calls, "listening").map((c) => c.argv)).toEqual([firstArgv]);
    expect(calls.filter((c) => SCHEMA_STEPS.includes(c.cmd)).map((c) => c.cmd)).toEqual(["mlflow db upgrade"]);
    await expectServing(vm, opts, opts.mlflowVersion);
    expectNoSecretInLogs(vm);
  });
});

describeVm("reboot with Secret Manager down", () => {
  test("the script fails before touching anything; the server of the last good boot keeps running", async () => {
    const opts = options();
    const vm = await bootedVm();
    await runScript(vm, opts);
    const before = snapshot(vm);
    await vm.powerOff();
    vm.control("secret-manager-down", true);
    const mark = vm.calls().length;
    await vm.boot();
    const result = await runScript(vm, opts, 1);
    expect(result.output).toContain("mlflow-startup: ERROR: cannot read secret mlflow-db-password from Secret Manager");
    expect(snapshot(vm)).toEqual(before);
    expect(byScript(vm.calls().slice(mark), "systemctl")).toEqual([]);
    await vm.waitFor(() => serverEvents(vm.calls().slice(mark), "listening").length === 1, 20, "the server started at boot");
    await expectServing(vm, opts, opts.mlflowVersion);
  });
});

describeVm("version bump 3.17.2 → 3.18.0", () => {
  const OLD = "3.17.2";
  const NEW = "3.18.0";

  /** Checks the bump after `mark`: install, stop, migrate, start, then the old venv goes. */
  async function expectBumped(vm: FakeVm, opts: StartupScriptOptions, oldVenv: string, mark: number, result: JobResult): Promise<void> {
    const calls = vm.calls();
    const index = (pred: (c: Call) => boolean): number => calls.findIndex((c, i) => i >= mark && pred(c));
    const installed = index((c) => c.cmd === "pip" && c.argv.includes(`mlflow[auth]==${NEW}`));
    const stopped = index((c) => c.cmd === "mlflow" && c.event === "stopped" && c.version === OLD);
    const upgraded = index((c) => c.cmd === "mlflow db upgrade" && c.version === NEW);
    const started = index((c) => c.cmd === "mlflow" && c.event === "start" && c.version === NEW);
    expect(installed).toBeGreaterThan(0);
    expect(stopped).toBeGreaterThan(installed);
    expect(upgraded).toBeGreaterThan(stopped);
    expect(started).toBeGreaterThan(upgraded);
    // The venv link moves only once the old server has stopped (it imports through it).
    const restarting = result.output.indexOf("restarting mlflow.service");
    expect(restarting).toBeGreaterThan(0);
    expect(result.output.indexOf("switched /opt/mlflow/venv to")).toBeGreaterThan(restarting);
    await expectServing(vm, opts, NEW);
    // The old environment is removed, and only after the new server answered /health.
    expect(venvDirs(vm)).toEqual([fs.readlinkSync(vm.file("/opt/mlflow/venv"))]);
    expect(venvDirs(vm)).not.toContain(oldVenv);
    const healthy = result.output.indexOf("MLflow is healthy");
    expect(healthy).toBeGreaterThan(0);
    expect(result.output.indexOf(`removed old environment ${oldVenv}`)).toBeGreaterThan(healthy);
    expect(fs.readFileSync(path.join(vm.state, "db/tracking"), "utf8")).toBe(NEW);
    expectNoSecretInLogs(vm);
  }

  test("re-run on the running VM", async () => {
    const vm = await bootedVm();
    await runScript(vm, options({ mlflowVersion: OLD }));
    const oldVenv = fs.readlinkSync(vm.file("/opt/mlflow/venv"));
    const opts = options({ mlflowVersion: NEW });
    const mark = vm.calls().length;
    const result = await runScript(vm, opts);
    await expectBumped(vm, opts, oldVenv, mark, result);
  });

  test("across a reboot (the old server starts at boot first)", async () => {
    const vm = await bootedVm();
    await runScript(vm, options({ mlflowVersion: OLD }));
    const oldVenv = fs.readlinkSync(vm.file("/opt/mlflow/venv"));
    await vm.powerOff();
    const mark = vm.calls().length;
    await vm.boot();
    // On a real VM the new pip install takes minutes: the old server is up by then.
    await vm.waitFor(() => serverEvents(vm.calls().slice(mark), "listening").length === 1, 20, "the old server at boot");
    const opts = options({ mlflowVersion: NEW });
    const result = await runScript(vm, opts);
    await expectBumped(vm, opts, oldVenv, mark, result);
  });
});

describeVm("configuration change with the same MLflow version", () => {
  test("a new allowed host restarts the server with the new flags", async () => {
    const vm = await bootedVm();
    const before = options();
    await runScript(vm, before);
    const opts = { ...before, ...PUBLIC };
    const mark = vm.calls().length;
    const result = await runScript(vm, opts);
    expect(result.output).toContain("restarting mlflow.service");
    expect(byScript(vm.calls().slice(mark), "pip")).toEqual([]);
    expect(serverEvents(vm.calls().slice(mark), "listening")).toHaveLength(1);
    await expectServing(vm, opts, opts.mlflowVersion);
  });

  test("basic auth turned off: the INI goes, the server restarts without the auth app", async () => {
    const vm = await bootedVm();
    const before = options();
    await runScript(vm, before);
    const opts = { ...before, ...NO_AUTH };
    await runScript(vm, opts);
    expect(vm.exists("/etc/mlflow/basic_auth.ini")).toBe(false);
    expectConfigFiles(vm, opts);
    await expectServing(vm, opts, opts.mlflowVersion);
  });

  test("a rotated secret restarts the server with the new value", async () => {
    const vm = await bootedVm();
    const opts = options();
    await runScript(vm, opts);
    const oldKey = SECRETS[opts.flaskSecretKeySecret!];
    vm.setSecret(opts.flaskSecretKeySecret!, "rotated-flask-key-2");
    const mark = vm.calls().length;
    await runScript(vm, opts);
    expect(vm.read("/etc/mlflow/mlflow.env")).toContain("MLFLOW_FLASK_SERVER_SECRET_KEY='rotated-flask-key-2'\n");
    expect(vm.read("/etc/mlflow/mlflow.env")).not.toContain(oldKey);
    const started = serverEvents(vm.calls().slice(mark), "start");
    expect(started).toHaveLength(1);
    expect(started[0].checks.flask_secret_key_is_a_secret).toBe(true); // the old key is no longer a secret
  });
});

describeVm("public with a domain: Caddy in front of MLflow", () => {
  const HTTPS: Partial<StartupScriptOptions> = {
    domain: "mlflow.example.com",
    bindAddress: "127.0.0.1",
    extraAllowedHosts: ["mlflow.example.com", "mlflow.example.com:443"],
    corsAllowedOrigins: ["https://mlflow.example.com"],
  };
  const CADDYFILE = "/etc/caddy/Caddyfile";
  const caddyRuns = (calls: Call[]): string[][] => calls.filter((c) => c.cmd === "caddy").map((c) => c.argv);

  test("first boot installs and starts Caddy; a reboot keeps its config and does not restart it", async () => {
    const opts = options(HTTPS);
    const vm = await bootedVm();
    await runScript(vm, opts);
    let calls = vm.calls();
    expect(byScript(calls, "apt-get")).toEqual([
      ["update", "-q", "-oDPkg::Lock::Timeout=300"], ["install", "-y", "-q", "--no-install-recommends", "-oDPkg::Lock::Timeout=300", "python3-venv", "caddy"],
    ]);
    expect(vm.read(CADDYFILE)).toBe(`${renderCaddyfile(opts).trimEnd()}\n`);
    expect(mode(vm, CADDYFILE)).toBe("644 uid=0");
    expect(byScript(calls, "systemctl")).toEqual(expect.arrayContaining([["enable", "caddy.service"], ["restart", "caddy.service"]]));
    expect(caddyRuns(calls)).toEqual([["run", "--environ", "--config", CADDYFILE]]);
    // MLflow listens on loopback only and accepts the domain as host and CORS origin.
    await expectServing(vm, opts, opts.mlflowVersion);
    expect(last(serverEvents(calls, "listening")).argv).toEqual(expect.arrayContaining(["--host", "127.0.0.1", "--cors-allowed-origins", "https://mlflow.example.com"]));

    const before = vm.read(CADDYFILE);
    await vm.powerOff();
    const mark = vm.calls().length;
    await vm.boot();
    await runScript(vm, opts);
    calls = vm.calls().slice(mark);
    expect(byScript(calls, "apt-get")).toEqual([]);
    expect(vm.read(CADDYFILE)).toBe(before);
    const caddyCtl = byScript(calls, "systemctl").filter((argv) => argv.includes("caddy.service"));
    expect(caddyCtl).toEqual([["enable", "caddy.service"], ["start", "caddy.service"]]);
    // Started once, by systemd at boot (the unit is enabled); the script's start is a no-op.
    expect(caddyRuns(calls)).toEqual([["run", "--environ", "--config", CADDYFILE]]);
    expectNoSecretInLogs(vm);
  });
});

describeVm("failures", () => {
  test("Secret Manager unavailable: exits non-zero, writes no env file, starts nothing", async () => {
    const vm = await bootedVm();
    vm.control("secret-manager-down", true);
    const result = await runScript(vm, options(), 1);
    expect(result.output).toContain("Secret Manager: cannot read secret mlflow-db-password yet (attempt 12 of 12)");
    expect(result.output).toMatch(/mlflow-startup: ERROR: cannot read secret mlflow-db-password from Secret Manager in project acme-ml-prod/);
    expect(vm.exists("/etc/mlflow/mlflow.env")).toBe(false);
    expect(vm.exists(UNIT)).toBe(false);
    expect(byScript(vm.calls(), "systemctl")).toEqual([]);
    expect(serverEvents(vm.calls(), "start")).toEqual([]);
    expectNoSecretInLogs(vm);
  });

  test.each([
    ["empty", ""],
    ["holding a quote", "it's"],
  ])("a secret %s: exits non-zero before writing any env file", async (_name, value) => {
    const vm = await bootedVm();
    const opts = options();
    vm.setSecret(opts.flaskSecretKeySecret!, value);
    await runScript(vm, opts, 1);
    expect(vm.exists("/etc/mlflow/mlflow.env")).toBe(false);
    expect(serverEvents(vm.calls(), "start")).toEqual([]);
  });

  test("metadata server unavailable: exits non-zero and names the metadata server", async () => {
    const vm = await bootedVm();
    vm.control("metadata-down", true);
    const result = await runScript(vm, options(), 1);
    expect(result.output).toContain("mlflow-startup: metadata server: cannot get the service account's access token");
    expect(result.output).not.toContain("Traceback");
    expect(vm.exists("/etc/mlflow/mlflow.env")).toBe(false);
    expect(byScript(vm.calls(), "systemctl")).toEqual([]);
  });

  test("PyPI down for a while at first boot: the script retries and comes up", async () => {
    const vm = await bootedVm();
    const opts = options();
    vm.control("pypi-down", true);
    const job = vm.startJob(renderStartupScript(opts));
    await vm.waitFor(() => byScript(vm.calls(), "pip").length >= 2, 20, "two failed pip installs");
    vm.control("pypi-down", false);
    const result = await job;
    expectExit(result, 0, vm);
    expect(result.output).toContain("mlflow-startup: pip install failed (attempt 1 of 7); retrying in 10 s");
    await expectServing(vm, opts, opts.mlflowVersion);
  });

  test("PyPI unavailable: exits non-zero with a clear message, leaves no half-made venv", async () => {
    const vm = await bootedVm();
    vm.control("pypi-down", true);
    const result = await runScript(vm, options(), 1);
    expect(byScript(vm.calls(), "pip")).toHaveLength(7);
    expect(result.output).toMatch(/mlflow-startup: ERROR: pip install .*mlflow\[auth\]==3\.18\.0.* failed: is PyPI reachable/);
    expect(venvDirs(vm)).toEqual([]);
    expect(vm.exists("/opt/mlflow/venv")).toBe(false);
    expect(byScript(vm.calls(), "systemctl")).toEqual([]);
  });

  test("Debian mirror unavailable: exits non-zero with a clear message", async () => {
    const vm = await bootedVm();
    vm.control("apt-down", true);
    const result = await runScript(vm, options(), 1);
    expect(result.output).toContain("mlflow-startup: ERROR: apt-get update failed: are the Debian mirrors reachable");
    expect(byScript(vm.calls(), "pip")).toEqual([]);
  });

  test("database unreachable at boot: the unit retries; the server starts once it answers", async () => {
    const vm = await bootedVm();
    const opts = options();
    vm.control("db-down", true);
    const job = vm.startJob(renderStartupScript(opts));
    await vm.waitFor(() => dbUpgradeRuns(vm.calls()).length >= 3, 20, "three failed schema upgrades");
    expect(serverEvents(vm.calls(), "start")).toEqual([]);
    expect(vm.journal()).toContain("mlflow.service: Scheduled restart job.");
    vm.control("db-down", false);
    const result = await job;
    expectExit(result, 0, vm);
    expect(serverEvents(vm.calls(), "listening")).toHaveLength(1);
    await expectServing(vm, opts, opts.mlflowVersion);
  });

  test("database never answers: the script gives up after its bounded wait; systemd keeps retrying", async () => {
    const vm = await bootedVm();
    vm.control("db-down", true);
    const result = await runScript(vm, options(), 2);
    expect(result.output).toContain("mlflow-startup: ERROR: MLflow did not answer /health after 600 s; systemd keeps restarting it");
    expect(result.output).not.toContain("removed old environment");
    expect(result.seconds).toBeLessThan(30);
    const attempts = dbUpgradeRuns(vm.calls()).length;
    await vm.waitFor(() => dbUpgradeRuns(vm.calls()).length > attempts, 5, "another attempt after the script ended");
    expect(serverEvents(vm.calls(), "start")).toEqual([]);
  });
});
