// The startup script re-run with new inputs on a VM that already serves: a version bump
// (new environment next to the running server, switched in while it is stopped, the schema
// backed up and migrated before the new server starts, the old environment removed once
// /health answers) and configuration changes with the same version. Run with
// `npm run test:script` (see startup-script.exec.test.ts for the harness).
import * as fs from "fs";
import { StartupScriptOptions } from "../lib";
import {
  AUTH_HEAD, bootedVm, byScript, describeVm, expectBumpOrder, expectConfigFiles, expectNoSecretInLogs, expectServing, NO_AUTH,
  options, PUBLIC, runScript, SECRETS, serverEvents, TestVm, TRACKING_HEAD, venvDirs,
} from "./script-harness/exec-helpers";
import { Call, JobResult } from "./script-harness/vm";

describeVm("version bump 3.17.2 → 3.18.0", () => {
  const OLD = "3.17.2";
  const NEW = "3.18.0";

  /**
   * Checks the bump after `mark`: install, stop, back up (the schema behind, in both parts),
   * migrate, start; the old venv goes once the new server answers.
   */
  async function expectBumped(t: TestVm, opts: StartupScriptOptions, oldVenv: string, mark: number, result: JobResult): Promise<void> {
    const { vm, db } = t;
    const calls = vm.calls();
    const index = (pred: (c: Call) => boolean): number => calls.findIndex((c, i) => i >= mark && pred(c));
    const installed = index((c) => c.cmd === "uv" && c.argv.includes(`mlflow[auth]==${NEW}`));
    const stopped = index((c) => c.cmd === "mlflow" && c.event === "stopped" && c.version === OLD);
    expect(installed).toBeGreaterThan(0);
    expect(stopped).toBeGreaterThan(installed);
    expectBumpOrder(calls.slice(stopped), {
      project: opts.projectId, instance: "mlflow-db", oldTracking: TRACKING_HEAD[OLD], oldAuth: AUTH_HEAD[OLD], version: NEW,
    });
    expect(vm.journal()).toContain(`mlflow-db-upgrade: tracking schema: behind (${TRACKING_HEAD[OLD]} -> ${TRACKING_HEAD[NEW]})`);
    expect(vm.journal()).toContain(`mlflow-db-upgrade: auth schema: behind (${AUTH_HEAD[OLD]} -> ${AUTH_HEAD[NEW]})`);
    // The venv link moves only once the old server has stopped (it imports through it).
    const restarting = result.output.indexOf("restarting mlflow.service");
    expect(restarting).toBeGreaterThan(0);
    expect(result.output.indexOf("switched /opt/mlflow/venv to")).toBeGreaterThan(restarting);
    await expectServing(t, opts, NEW);
    expect(db.tables()).toEqual(["alembic_version", "alembic_version_auth", "experiments", "runs", "users"]);
    // The old environment is removed, and only after the new server answered /health.
    expect(venvDirs(vm)).toEqual([fs.readlinkSync(vm.file("/opt/mlflow/venv"))]);
    expect(venvDirs(vm)).not.toContain(oldVenv);
    const healthy = result.output.indexOf("MLflow is healthy");
    expect(healthy).toBeGreaterThan(0);
    expect(result.output.indexOf(`removed old environment ${oldVenv}`)).toBeGreaterThan(healthy);
    expectNoSecretInLogs(vm);
  }

  test("re-run on the running VM", async () => {
    const t = await bootedVm();
    await runScript(t.vm, options({ mlflowVersion: OLD }));
    const oldVenv = fs.readlinkSync(t.vm.file("/opt/mlflow/venv"));
    const opts = options({ mlflowVersion: NEW });
    const mark = t.vm.calls().length;
    const result = await runScript(t.vm, opts);
    await expectBumped(t, opts, oldVenv, mark, result);
  });

  test("across a reboot (the old server starts at boot first)", async () => {
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, options({ mlflowVersion: OLD }));
    const oldVenv = fs.readlinkSync(vm.file("/opt/mlflow/venv"));
    await vm.powerOff();
    const mark = vm.calls().length;
    await vm.boot();
    // On a real VM the new install takes a while: the old server is up by then.
    await vm.waitFor(() => serverEvents(vm.calls().slice(mark), "listening").length === 1, 30, "the old server at boot");
    const opts = options({ mlflowVersion: NEW });
    const result = await runScript(vm, opts);
    await expectBumped(t, opts, oldVenv, mark, result);
  });
});

describeVm("configuration change with the same MLflow version", () => {
  test("a new endpoint restarts the server with the new allowed hosts and origins", async () => {
    const t = await bootedVm();
    const before = options();
    await runScript(t.vm, before);
    const opts = { ...before, ...PUBLIC };
    const mark = t.vm.calls().length;
    const result = await runScript(t.vm, opts);
    expect(result.output).toContain("restarting mlflow.service");
    expect(byScript(t.vm.calls().slice(mark), "uv")).toEqual([]);
    expect(serverEvents(t.vm.calls().slice(mark), "listening")).toHaveLength(1);
    await expectServing(t, opts, opts.mlflowVersion);
  });

  test("basic auth turned off: the INI goes, the server restarts without the auth app", async () => {
    const t = await bootedVm();
    const before = options();
    await runScript(t.vm, before);
    const opts = { ...before, ...NO_AUTH };
    await runScript(t.vm, opts);
    expect(t.vm.exists("/etc/mlflow/basic_auth.ini")).toBe(false);
    expectConfigFiles(t.vm, opts);
    await expectServing(t, opts, opts.mlflowVersion);
  });

  test("a rotated secret restarts the server with the new value", async () => {
    const { vm } = await bootedVm();
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
