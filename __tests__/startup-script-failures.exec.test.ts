// The startup script when something it needs is missing or down: Secret Manager, the
// metadata server, PyPI, a release after the dependency cutoff, the Debian mirror, the
// database. Run with `npm run test:script` (see startup-script.exec.test.ts for the
// harness). Where a test only waits for a retry loop to run out, it speeds the fake VM's
// clock up to 1000x (bin/sleep); the loops' attempt counts and messages are unchanged.
import * as fs from "fs";
import { renderStartupScript, UV_VERSION } from "../lib";
import {
  bootedVm, byScript, dbUpgradeRuns, describeVm, expectExit, expectNoSecretInLogs, expectServing, options, runScript,
  serverEvents, UNIT, venvDirs,
} from "./script-harness/exec-helpers";

const FAST = "1000";

describeVm("failures", () => {
  test("Secret Manager unavailable: exits non-zero, writes no env file, starts nothing", async () => {
    const { vm } = await bootedVm();
    vm.control("clock-speedup", FAST);
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
    const { vm } = await bootedVm();
    vm.control("clock-speedup", FAST);
    const opts = options();
    vm.setSecret(opts.flaskSecretKeySecret!, value);
    await runScript(vm, opts, 1);
    expect(vm.exists("/etc/mlflow/mlflow.env")).toBe(false);
    expect(serverEvents(vm.calls(), "start")).toEqual([]);
  });

  test("metadata server unavailable: exits non-zero and names the metadata server", async () => {
    const { vm } = await bootedVm();
    vm.control("clock-speedup", FAST);
    vm.control("metadata-down", true);
    const result = await runScript(vm, options(), 1);
    expect(result.output).toContain("mlflow-startup: metadata server: cannot get the service account's access token");
    expect(result.output).not.toContain("Traceback");
    expect(vm.exists("/etc/mlflow/mlflow.env")).toBe(false);
    expect(byScript(vm.calls(), "systemctl")).toEqual([]);
  });

  test("PyPI down for a while at first boot: the script retries and comes up", async () => {
    const t = await bootedVm();
    const { vm } = t;
    const opts = options();
    vm.control("pypi-down", true);
    const job = vm.startJob(renderStartupScript(opts));
    await vm.waitFor(() => byScript(vm.calls(), "pip").length >= 2, 30, "two failed pip installs of uv");
    vm.control("pypi-down", false);
    const result = await job;
    expectExit(result, 0, vm);
    expect(result.output).toContain("mlflow-startup: pip install uv failed (attempt 1 of 7); retrying in 10 s");
    await expectServing(t, opts, opts.mlflowVersion);
  });

  test("PyPI unavailable: exits non-zero with a clear message, leaves no half-made environment", async () => {
    const { vm } = await bootedVm();
    vm.control("clock-speedup", FAST);
    vm.control("pypi-down", true);
    const result = await runScript(vm, options(), 1);
    expect(byScript(vm.calls(), "pip")).toHaveLength(7);
    expect(result.output).toContain(`mlflow-startup: ERROR: pip install uv==${UV_VERSION} failed: is PyPI reachable`);
    expect(fs.readdirSync(vm.file("/opt/mlflow"))).toEqual(["bin"]);
    expect(byScript(vm.calls(), "systemctl")).toEqual([]);
  });

  test("a pinned version uploaded after the dependency cutoff: uv finds none, the script names dependencyCutoff; a later cutoff installs it", async () => {
    const t = await bootedVm();
    const { vm } = t;
    vm.control("uploaded-after", "mlflow 3.18.0 2026-12-01T09:00:00Z\n");
    vm.control("clock-speedup", FAST);
    const result = await runScript(vm, options(), 1);
    expect(byScript(vm.calls(), "uv")).toHaveLength(7);
    expect(result.output).toContain("hint: `mlflow` was filtered by `exclude-newer` to only include packages uploaded before 2026-11-28T00:00:00Z");
    expect(result.output).toContain("A version released after the dependency cutoff 2026-11-28T00:00:00Z cannot be resolved: move dependencyCutoff past its release");
    expect(venvDirs(vm)).toEqual([]);
    expect(byScript(vm.calls(), "systemctl")).toEqual([]);

    vm.control("clock-speedup", false);
    const opts = options({ dependencyCutoff: "2026-12-02T00:00:00Z" });
    await runScript(vm, opts);
    await expectServing(t, opts, opts.mlflowVersion);
  });

  test("Debian mirror unavailable: exits non-zero with a clear message", async () => {
    const { vm } = await bootedVm();
    vm.control("clock-speedup", FAST);
    vm.control("apt-down", true);
    const result = await runScript(vm, options(), 1);
    expect(result.output).toContain("mlflow-startup: ERROR: apt-get update failed: are the Debian mirrors reachable");
    expect(byScript(vm.calls(), "pip")).toEqual([]);
  });

  test("database unreachable at boot: the unit retries; the server starts once it answers", async () => {
    const t = await bootedVm();
    const { vm } = t;
    const opts = options();
    await vm.database("down");
    const job = vm.startJob(renderStartupScript(opts));
    await vm.waitFor(() => dbUpgradeRuns(vm.calls()).length >= 3, 30, "three failed schema upgrades");
    expect(vm.journal()).toContain('connection to server at "10.91.0.3", port 5432 failed: Connection refused');
    expect(serverEvents(vm.calls(), "start")).toEqual([]);
    expect(vm.journal()).toContain("mlflow.service: Scheduled restart job.");
    await vm.database("up");
    const result = await job;
    expectExit(result, 0, vm);
    expect(serverEvents(vm.calls(), "listening")).toHaveLength(1);
    await expectServing(t, opts, opts.mlflowVersion);
  });

  test("database never answers: the script gives up after its bounded wait; systemd keeps retrying", async () => {
    const { vm } = await bootedVm();
    vm.control("clock-speedup", FAST);
    await vm.database("down");
    const result = await runScript(vm, options(), 2);
    expect(result.output).toContain("mlflow-startup: ERROR: MLflow did not answer /health after 600 s; systemd keeps restarting it");
    expect(result.output).not.toContain("removed old environment");
    expect(result.seconds).toBeLessThan(40);
    const attempts = dbUpgradeRuns(vm.calls()).length;
    await vm.waitFor(() => dbUpgradeRuns(vm.calls()).length > attempts, 10, "another attempt after the script ended");
    expect(serverEvents(vm.calls(), "start")).toEqual([]);
  });
});
