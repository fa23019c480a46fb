// Executes every rendered variant of the startup script on this machine, in a fake VM, and
// checks what it did: first boot and reboot. Version bumps and configuration changes are in
// startup-script-updates.exec.test.ts, failures in startup-script-failures.exec.test.ts, the
// database parts in startup-script-database.exec.test.ts, HTTPS (Caddy) in
// startup-script-https.exec.test.ts, gc on its timer in startup-script-operations.exec.test.ts,
// the Ops Agent and /metrics in startup-script-ops-agent.exec.test.ts (separate files: jest
// runs them in parallel). Run with `npm run test:script` (not part of
// `npm test`; .ci/run runs both).
//
// Isolation: bubblewrap (script-harness/vm.ts). Each fake VM is one `bwrap` process whose
// root is built from bind mounts: the host's /usr read-only; /etc, /opt and /var from a
// temp "disk" that survives a reboot (/etc starts as the host's, read-only, with writable
// user databases, apt configuration and fstab, and an empty /etc/systemd/system); fresh
// /tmp, /run and /root. Chosen over a chroot or a hand-made `unshare` because one command
// gives everything without mount bookkeeping to undo: nothing is mounted on the host, so a
// crashed test leaves nothing behind but temp dirs; a PID namespace, so killing bwrap kills
// every process the script started (a power cut, for the reboot test); a network namespace
// with only loopback, so nothing the script runs can reach another machine and its ports
// never collide with the host's; and --die-with-parent, so the VM never outlives jest.
// The script never touches the host's /etc, /opt, /var/lib or systemd.
//
// Real: the database (PostgreSQL 15 with TLS, script-harness/cloudsql.ts), the driver
// (psycopg2), SQLAlchemy (1.4, with the 2.1 behaviours the script depends on:
// pystubs/sqlalchemy21_compat.py), alembic, the venv (python3 -m venv), useradd/id, blkid,
// mkfs.ext4, mountpoint. Stand-ins (script-harness/bin, venv, pystubs; each file says what
// it emulates and which source it follows) record their arguments to a call log and fail
// on demand (control files): apt-get, dpkg-query, apt-key, lsb_release, curl (metadata
// server, Secret Manager, Caddy's key, the Ops Agent's repository script and Google's apt
// key; loopback goes to the real curl), systemctl (a small service manager that runs the
// written units and timers), sleep (100x faster), pip and uv, mount, caddy, the Ops Agent
// (ops-agent/: its repository script, configuration engine and metrics collector), the
// Google APIs a unit reaches (google-apis.py: metadata token, Cloud SQL Admin API backups),
// and MLflow itself (pystubs/mlflow: `mlflow server` with its workers and engines, /metrics,
// --artifacts-only, `mlflow gc`, the schema steps, real SQL through real alembic migrations).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_DEPENDENCY_CUTOFF, pythonRequirements, renderStartupScript, StartupScriptOptions, UV_VERSION } from "../lib";
import { SCRIPT_OPTIONS, tool } from "./helpers";
import {
  backupRequests, bootedVm, byScript, describeVm, expectConfigFiles, expectNoSecretInLogs, expectServing, expectUnitVerifies, last,
  NO_AUTH, options, PUBLIC, runScript, schemaSteps, SECRETS, serverEvents, snapshot, UNIT, venvDirs,
} from "./script-harness/exec-helpers";
import { ACCESS_TOKEN } from "./script-harness/vm";

const variants: Array<[string, Partial<StartupScriptOptions>]> = [
  ["private (SCRIPT_OPTIONS)", {}],
  ["public, plain HTTP", PUBLIC],
  ["basic auth off", NO_AUTH],
  ["custom version 3.17.2, later dependency cutoff", { mlflowVersion: "3.17.2", dependencyCutoff: "2026-12-05T12:00:00Z" }],
];

/** The one `uv pip install` a fresh environment takes. */
function uvInstall(opts: StartupScriptOptions, venv: string): string[] {
  return ["pip", "install", "--quiet", "--no-cache", "--python", `${venv}/bin/python`, "--exclude-newer",
    opts.dependencyCutoff ?? DEFAULT_DEPENDENCY_CUTOFF, ...pythonRequirements(opts)];
}

/**
 * A stand-in service's script: runs `onTerm` on SIGTERM, touches `ready` once that trap is set
 * (a TERM before it would end the script by the signal instead), and otherwise waits for ever.
 */
function trappingScript(onTerm: string, ready: string): string {
  return `#!/bin/bash\ntrap '${onTerm}' TERM\ntouch ${ready}\nwhile :; do /usr/bin/sleep 1 & wait $!; done\n`;
}

describe("rendered scripts and fakes", () => {
  test.each(variants)("%s: no secret value in the script text", (_name, overrides) => {
    const script = renderStartupScript({ ...SCRIPT_OPTIONS, ...overrides });
    for (const secret of Object.values(SECRETS)) expect(script).not.toContain(secret);
  });

  test("the shell fakes pass shellcheck", () => {
    if (!tool("shellcheck")) return;
    const dir = path.join(__dirname, "script-harness");
    const files = [...fs.readdirSync(path.join(dir, "bin")).map((f) => `bin/${f}`), "venv/pip", "venv/python", "venv/uv", "vm-init.sh",
      "fake-lib.sh", "fake-cloudsql", "ops-agent/add-google-cloud-ops-agent-repo.sh"];
    const result = spawnSync("shellcheck", ["-S", "warning", "-s", "bash", ...files], { cwd: dir, encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
  });
});

describeVm("the fakes themselves", () => {
  test("curl refuses non-loopback addresses and a token on the command line; Secret Manager needs the token on stdin", async () => {
    const { vm } = await bootedVm();
    const url = `https://secretmanager.googleapis.com/v1/projects/${SCRIPT_OPTIONS.projectId}/secrets/mlflow-db-password/versions/latest:access`;
    const run = async (cmd: string): Promise<string> => (await vm.sh(`${cmd}; echo " rc=$?"`)).output.trim();
    expect(await run("curl -fsS http://192.0.2.1/ 2>&1")).toMatch(/refusing to contact http:\/\/192.0.2.1\/[\s\S]*rc=7$/);
    expect(await run(`curl -fsS -H 'Authorization: Bearer ${ACCESS_TOKEN}' ${url} 2>&1`)).toMatch(/error: 400\s+rc=22$/);
    expect(await run(`curl -fsS ${url} 2>&1`)).toMatch(/error: 401\s+rc=22$/);
    const ok = await run(`echo 'header = "Authorization: Bearer ${ACCESS_TOKEN}"' | curl -fsS --config - ${url}`);
    expect(ok).toContain(`"data":"${Buffer.from(SECRETS["mlflow-db-password"]).toString("base64")}"`);
  });

  test("uv accepts the documented options only, needs a valid cutoff and a venv, and hides releases after the cutoff", async () => {
    const { vm } = await bootedVm();
    vm.control("uploaded-after", "mlflow 3.18.0 2026-12-01T09:00:00Z\n");
    const setup = await vm.sh([
      "apt-get install -y python3-venv >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y python3-venv >/dev/null; }",
      `python3 -m venv /opt/uvtest && /opt/uvtest/bin/pip install --quiet uv==${UV_VERSION} && python3 -m venv /opt/target && python3 -m venv /opt/target2`,
    ].join("\n"));
    expect(setup.code).toBe(0);
    const uv = async (args: string): Promise<string> => (await vm.sh(`/opt/uvtest/bin/uv pip install ${args} 2>&1; echo "rc=$?"`)).output.trim();
    const py = "--python /opt/target/bin/python";
    expect(await uv(`--quiet ${py} --exclude-newer 2026-11-28T00:00:00Z --upgrade psycopg2-binary==2.9.13`)).toMatch(/unexpected argument '--upgrade'[\s\S]*rc=2$/);
    expect(await uv(`--quiet ${py} psycopg2-binary==2.9.13`)).toMatch(/no --exclude-newer[\s\S]*rc=2$/);
    expect(await uv(`--quiet ${py} --exclude-newer "last tuesday" psycopg2-binary==2.9.13`)).toMatch(/invalid value 'last tuesday' for '--exclude-newer[\s\S]*rc=2$/);
    expect(await uv(`--quiet --exclude-newer 2026-11-28T00:00:00Z psycopg2-binary==2.9.13`)).toMatch(/No virtual environment found[\s\S]*rc=2$/);
    expect(await uv(`--quiet ${py} --exclude-newer 2026-11-28T00:00:00Z mlflow==3.18.0`)).toMatch(
      /No solution found[\s\S]*there is no version of mlflow==3\.18\.0[\s\S]*hint: `mlflow` was filtered by `exclude-newer` to only include packages uploaded before 2026-11-28T00:00:00Z\. The requested version, v3\.18\.0, was published at 2026-12-01T09:00:00Z\.[^\n]*\s+rc=1$/);
    // A file uploaded at the cutoff itself is excluded; a plain date means the end of that day
    // (the VM's time zone is UTC), so a release of the day before is excluded.
    expect(await uv(`--quiet ${py} --exclude-newer 2026-12-01T09:00:00Z mlflow==3.18.0`)).toMatch(/No solution found[\s\S]*rc=1$/);
    expect(await uv(`--quiet ${py} --exclude-newer 2026-11-30 mlflow==3.18.0`)).toMatch(/uploaded before 2026-12-01T00:00:00Z\.[\s\S]*rc=1$/);
    // A cutoff after the upload (RFC 3339 with an offset, or a plain date: that whole day) resolves it.
    expect(await uv(`-q -n -p /opt/target2/bin/python --exclude-newer 2026-12-01 mlflow==3.18.0`)).toBe("rc=0");
    expect(await uv(`-q -n -p /opt/target/bin/python --exclude-newer 2026-12-02T00:00:00+01:00 mlflow==3.18.0 psycopg2-binary==2.9.13`)).toBe("rc=0");
    const site = "/opt/target/lib/python3.11/site-packages";
    expect(vm.read(`${site}/fake-installed.txt`)).toBe("mlflow==3.18.0\npsycopg2-binary==2.9.13\n");
    // The venv imports what uv linked in (the real psycopg2), and nothing of the system's.
    const imports = await vm.sh("/opt/target/bin/python -c 'import psycopg2, sqlalchemy, alembic; print(psycopg2.__file__)'; /opt/target/bin/python -c 'import psycopg' 2>&1 | tail -n 1");
    expect(imports.output).toBe("/opt/target/lib/python3.11/site-packages/psycopg2/__init__.py\nModuleNotFoundError: No module named 'psycopg'\n");
  });

  test("systemctl: a oneshot stopped while it runs fails unless SuccessExitStatus= lists SIGTERM; other exits as listed", async () => {
    // systemd.service(5), SuccessExitStatus=: for Type=oneshot, SIGTERM is not clean by default.
    const { vm } = await bootedVm();
    const units: Record<string, [string, string]> = {
      // Dies of the stop's SIGTERM (it execs sleep).
      "t-stopped": ["/opt/run-until-term t-stopped", ""],
      "t-stopped-listed": ["/opt/run-until-term t-stopped-listed", "SuccessExitStatus=SIGTERM"],
      // Exits 1 on the stop's SIGTERM: a failure however it was stopped.
      "t-stopped-exit1": ["/opt/exit1-on-term t-stopped-exit1", "SuccessExitStatus=SIGTERM"],
      "t-exit1": ["/usr/bin/false", "SuccessExitStatus=SIGTERM"],
      "t-exit1-listed": ["/usr/bin/false", "SuccessExitStatus=\nSuccessExitStatus=SIGKILL 1"],
      "t-exit1-reset": ["/usr/bin/false", "SuccessExitStatus=1\nSuccessExitStatus="],
    };
    for (const [name, [exec, extra]] of Object.entries(units)) {
      fs.writeFileSync(vm.file(`/etc/systemd/system/${name}.service`), `[Service]\nType=oneshot\nExecStart=${exec}\n${extra}\n`);
    }
    // Each says when it runs (exit1-on-term once its trap is set). The fake's "activating"
    // comes before that: a stop then ends the unit before or around ExecStart= (inactive, or
    // killed by the fake's start gate), which is not what this test is about.
    fs.writeFileSync(vm.file("/opt/run-until-term"), "#!/bin/bash\ntouch \"/opt/$1-ready\"\nexec /usr/bin/sleep 600\n", { mode: 0o755 });
    fs.writeFileSync(vm.file("/opt/exit1-on-term"), trappingScript("exit 1", '"/opt/$1-ready"'), { mode: 0o755 });
    expect((await vm.sh("systemctl daemon-reload")).code).toBe(0);
    for (const name of ["t-stopped", "t-stopped-listed", "t-stopped-exit1"]) {
      await vm.sh(`systemctl start --no-block ${name}.service`);
      while (!fs.existsSync(vm.file(`/opt/${name}-ready`))) await new Promise((r) => setTimeout(r, 20));
      expect(await vm.unitState(`${name}.service`)).toBe("activating");
      await vm.sh(`systemctl stop ${name}.service`);
    }
    for (const name of ["t-exit1", "t-exit1-listed", "t-exit1-reset"]) await vm.sh(`systemctl start ${name}.service`);
    // The fake ends a start job before the unit's final state is written (systemd writes the
    // state first): wait for each unit to settle.
    const settled = async (n: string): Promise<string> => {
      let state = await vm.unitState(`${n}.service`);
      for (let i = 0; i < 500 && /^(activating|deactivating)$/.test(state); i++) {
        await new Promise((r) => setTimeout(r, 20));
        state = await vm.unitState(`${n}.service`);
      }
      return state;
    };
    const states = Object.fromEntries(await Promise.all(Object.keys(units).map(async (n) => [n, await settled(n)])));
    expect(states).toEqual({
      "t-stopped": "failed", "t-stopped-listed": "inactive", "t-stopped-exit1": "failed",
      "t-exit1": "failed", "t-exit1-listed": "inactive", "t-exit1-reset": "failed",
    });
    expect(vm.journal()).toContain("t-stopped.service: Failed with result 'signal'.");
    expect(vm.journal()).toContain("t-stopped-exit1.service: Failed with result 'exit-code'.");
    expect(vm.journal()).toContain("t-exit1.service: Failed with result 'exit-code'.");
    expect(vm.journal()).not.toContain("cannot emulate");
  });

  test("systemctl: a unit is deactivating while it stops; a stop while it waits to restart ends it inactive; one SIGTERM for an exited oneshot's processes", async () => {
    // systemd.service(5)/systemd 252 src/core/service.c: stop-sigterm is "deactivating";
    // service_stop() in auto-restart goes straight to dead (inactive), whatever the last exit,
    // and at once (the wait here is 600 s, 24 s on the fake's clock); a oneshot that has exited
    // (RemainAfterExit=yes) has no main process, so its left processes get the stop's SIGTERM
    // and no final one.
    const { vm } = await bootedVm();
    fs.writeFileSync(vm.file("/etc/systemd/system/t-slow.service"), "[Service]\nExecStart=/opt/slow-term\n");
    fs.writeFileSync(vm.file("/etc/systemd/system/t-restart.service"), "[Service]\nExecStart=/usr/bin/false\nRestart=always\nRestartSec=600s\n");
    fs.writeFileSync(vm.file("/etc/systemd/system/t-exited.service"), "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/opt/leave-helper\n");
    // Leaves a helper that takes 0.5 s to end on SIGTERM and notes each SIGTERM it gets.
    fs.writeFileSync(vm.file("/opt/leave-helper"), "#!/bin/bash\n/opt/helper </dev/null >/dev/null 2>&1 &\nuntil [ -e /opt/helper-ready ]; do /usr/bin/sleep 0.01; done\n", { mode: 0o755 });
    fs.writeFileSync(vm.file("/opt/helper"), trappingScript("echo TERM >>/opt/helper-terms; /usr/bin/sleep 0.5; exit 0", "/opt/helper-ready"), { mode: 0o755 });
    // Says when its trap is set and when the SIGTERM came; then takes 2 s to end (exit 0).
    fs.writeFileSync(vm.file("/opt/slow-term"), trappingScript("touch /opt/slow-got-term; /usr/bin/sleep 2; exit 0", "/opt/slow-ready"), { mode: 0o755 });
    const run = await vm.sh([
      "systemctl daemon-reload",
      "systemctl start t-slow.service",
      "until [ -e /opt/slow-ready ]; do /usr/bin/sleep 0.02; done",
      // The state once the unit has had the stop's SIGTERM (it is then 2 s from its end).
      "systemctl stop t-slow.service &",
      "until [ -e /opt/slow-got-term ]; do /usr/bin/sleep 0.01; done",
      "echo \"during: $(systemctl is-active t-slow.service)\"",
      "wait $!",
      "echo \"after: $(systemctl is-active t-slow.service)\"",
      "systemctl start --no-block t-restart.service",
      "until [ \"$(systemctl show -p SubState --value t-restart.service)\" = auto-restart ]; do /usr/bin/sleep 0.01; done",
      "s=$(date +%s%N); systemctl stop t-restart.service; e=$(date +%s%N)",
      "echo \"restart: $(systemctl is-active t-restart.service) $((e - s < 3000000000))\"",
      "systemctl start t-exited.service",
      "echo \"exited: $(systemctl is-active t-exited.service)\"",
      "systemctl stop t-exited.service",
      "echo \"stopped: $(systemctl is-active t-exited.service) $(wc -l </opt/helper-terms)\"",
    ].join("\n"));
    expect(run.output).toBe("during: deactivating\nafter: inactive\nrestart: inactive 1\nexited: active\nstopped: inactive 1\n");
  });

  test("systemctl: a stop right after a start ends the unit, never leaves it running", async () => {
    // The fake's supervisor once trapped the stop's TERM: bash 5.2 misparses a trap that fires
    // while it expands a $( ), so the trap never ran, `sleep 600` ran on and the supervisor was
    // killed after 10 s, leaving the unit "activating" (a CI run of 066847b; 2 of 5 rounds
    // here). A stop now marks the unit and signals its processes itself (see the fake's "Stops").
    const { vm } = await bootedVm();
    fs.writeFileSync(vm.file("/etc/systemd/system/t-race.service"), "[Service]\nType=oneshot\nExecStart=/usr/bin/sleep 600\n");
    const rounds = 40;
    const run = await vm.sh([
      "systemctl daemon-reload",
      `for i in $(seq ${rounds}); do`,
      "  systemctl start --no-block t-race.service",
      "  s=$(date +%s%N); systemctl stop t-race.service; e=$(date +%s%N)",
      "  echo \"$(systemctl show -p ActiveState --value t-race.service) $(((e - s) / 1000000))\"",
      "  (((e - s) / 1000000 < 5000)) || break",
      "done",
      // What still runs `sleep 600` (none should).
      "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <\"$f\" 2>/dev/null; echo; done | grep -c '^/usr/bin/sleep 600 $' || true",
    ].join("\n"));
    const lines = run.output.trim().split("\n");
    expect(lines.pop()).toBe("0");
    // Stopped before ExecStart= (inactive: the start canceled) or around it (failed: killed by
    // the stop's SIGTERM), each well within the fake's stop timeout (5 s).
    const ends = lines.map((line) => line.split(" "));
    expect(ends.filter(([state, ms]) => !["inactive", "failed"].includes(state) || Number(ms) >= 5000)).toEqual([]);
    expect(ends).toHaveLength(rounds);
    expect(vm.journal()).not.toContain("timed out. Killing.");
  });
});

describeVm("first boot", () => {
  test.each(variants)("%s", async (_name, overrides) => {
    const opts = options(overrides);
    const t = await bootedVm();
    const { vm } = t;
    const result = await runScript(vm, opts);
    expect(result.output).toContain(`mlflow-startup: MLflow is healthy on port ${opts.port}`);
    const calls = vm.calls();

    // OS packages: only the missing one, once; the user; uv pinned in its own venv; one venv
    // with the pinned set, resolved as of the cutoff.
    expect(byScript(calls, "apt-get")).toEqual([
      ["update", "-q", "-oDPkg::Lock::Timeout=300"], ["install", "-y", "-q", "--no-install-recommends", "-oDPkg::Lock::Timeout=300", "python3-venv"],
    ]);
    expect(byScript(calls, "useradd")).toHaveLength(1);
    expect(byScript(calls, "pip")).toEqual([["install", "--quiet", "--no-cache-dir", "--disable-pip-version-check", `uv==${UV_VERSION}`]]);
    const venv = fs.readlinkSync(vm.file("/opt/mlflow/venv"));
    expect(venvDirs(vm)).toEqual([venv]);
    expect(byScript(calls, "uv")).toEqual([uvInstall(opts, venv)]);
    expect(vm.read(`${venv}/lib/python3.11/site-packages/fake-installed.txt`)).toBe(`${pythonRequirements(opts).join("\n")}\n`);

    // Secrets: each fetched from Secret Manager, the token only on curl's standard input.
    const secretNames = [opts.databasePasswordSecret, ...(opts.basicAuth ? [opts.adminPasswordSecret!, opts.flaskSecretKeySecret!] : [])];
    const fetched = byScript(calls, "curl").filter((argv) => argv.some((a) => a.startsWith("https://secretmanager.")));
    expect(fetched).toEqual(secretNames.map((name) => [
      "-fsS", "--config", "-", `https://secretmanager.googleapis.com/v1/projects/${opts.projectId}/secrets/${name}/versions/latest:access`,
    ]));

    expectConfigFiles(vm, opts);
    expectUnitVerifies(vm);
    await expectServing(t, opts, opts.mlflowVersion);
    // An empty database: the schema is created (the auth tables too with basic auth), and
    // nothing is backed up (there is nothing to lose).
    expect(vm.journal()).toContain("mlflow-db-upgrade: tracking schema: empty");
    expect(schemaSteps(vm.calls())).toEqual(["mlflow create schema", ...(opts.basicAuth ? ["mlflow auth db upgrade"] : [])]);
    expect(backupRequests(vm.calls())).toEqual([]);
    expect(serverEvents(vm.calls(), "listening")).toHaveLength(1);
    expectNoSecretInLogs(vm);
  });
});

describeVm("reboot", () => {
  test("same inputs: no reinstall, files unchanged, the schema at its head is left alone (no backup), the same server again", async () => {
    const opts = options();
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, opts);
    const before = snapshot(vm);
    const firstArgv = last(serverEvents(vm.calls(), "listening")).argv;

    await vm.powerOff(); // the server (and the database) die with the VM
    const mark = vm.calls().length;
    const journalMark = vm.journal().length;
    await vm.boot();
    await runScript(vm, opts);
    const calls = vm.calls().slice(mark);

    // systemd started the enabled units at boot (the Ops Agent, the server, the gc timer);
    // the script found nothing to change: the timer and the agent are not restarted, the
    // agent is not reinstalled.
    expect(calls.filter((c) => c.caller === "boot" && c.cmd === "systemctl").map((c) => c.argv)).toEqual([
      ["daemon-reload"], ["start", "--no-block", "google-cloud-ops-agent.service"], ["start", "--no-block", "mlflow.service"],
      ["start", "--no-block", "mlflow-gc.timer"],
    ]);
    for (const cmd of ["apt-get", "useradd", "pip", "uv"]) expect(byScript(calls, cmd)).toEqual([]);
    expect(byScript(calls, "python3").filter((argv) => argv[0] === "-m")).toEqual([]);
    expect(byScript(calls, "systemctl")).toEqual([
      ["daemon-reload"], ["enable", "mlflow.service"], ["start", "--no-block", "mlflow.service"], ["enable", "mlflow-gc.timer"],
      ["start", "mlflow-gc.timer"],
    ]);
    expect(calls.filter((c) => c.caller === "ops-agent-repo")).toEqual([]);
    expect(snapshot(vm)).toEqual(before);
    for (const file of ["/etc/mlflow/mlflow.env", "/etc/mlflow/basic_auth.ini", UNIT]) {
      const lines = vm.read(file).split("\n").filter((l) => l && !l.startsWith("#"));
      expect(new Set(lines).size).toBe(lines.length);
    }

    // One server since the reboot, same flags; the upgrade step found the schema current.
    expect(serverEvents(calls, "listening").map((c) => c.argv)).toEqual([firstArgv]);
    const journal = vm.journal().slice(journalMark);
    expect(journal).toContain("mlflow-db-upgrade: tracking schema: current");
    expect(journal).toContain("mlflow-db-upgrade: auth schema: current");
    expect(schemaSteps(calls)).toEqual([]);
    expect(backupRequests(calls)).toEqual([]);
    await expectServing(t, opts, opts.mlflowVersion);
    expectNoSecretInLogs(vm);
  });
});

describeVm("reboot with Secret Manager down", () => {
  test("the script fails before touching anything; the server of the last good boot keeps running", async () => {
    const opts = options();
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, opts);
    const before = snapshot(vm);
    await vm.powerOff();
    vm.control("secret-manager-down", true);
    vm.control("clock-speedup", "1000"); // the script only waits for its retries to run out
    const mark = vm.calls().length;
    await vm.boot();
    const result = await runScript(vm, opts, 1);
    expect(result.output).toContain("mlflow-startup: ERROR: cannot read secret mlflow-db-password from Secret Manager");
    expect(snapshot(vm)).toEqual(before);
    expect(byScript(vm.calls().slice(mark), "systemctl")).toEqual([]);
    await vm.waitFor(() => serverEvents(vm.calls().slice(mark), "listening").length === 1, 30, "the server started at boot");
    await expectServing(t, opts, opts.mlflowVersion);
  });
});
