// Day-2 operations of the VM, executed: `mlflow gc` on its timer (mlflow-gc.timer firing
// mlflow-gc.service, which runs templates/mlflow-gc.py as the mlflow user against the real
// database: a private artifacts-only server on loopback, gc in-process). Time does not pass
// by itself in the fake VM: a test makes the timer elapse (FakeVm.elapse, bin/systemctl
// __elapse). The Ops Agent and /metrics are in startup-script-ops-agent.exec.test.ts. Run
// with `npm run test:script` (see startup-script.exec.test.ts for the harness).
import * as fs from "fs";
import { gcUnitEnvironment, renderGcTimer, renderStartupScript, StartupScriptOptions } from "../lib";
import {
  after, backendUri, bootedVm, byScript, DB_PASSWORD, describeVm, events, expectConfigFiles, expectExit, expectNoSecretInLogs,
  expectServing, GC_TIMER, last, mlflowUid, options, runScript, serverEvents, TestVm, urlQuote,
} from "./script-harness/exec-helpers";
import { Call } from "./script-harness/vm";

const TIMER = "mlflow-gc.timer";
const GC = "mlflow-gc.service";
const DAY = 86_400_000;

/** Deleted and active runs and experiments, deleted at various ages (the stand-in's schema, MLflow's column names). */
function seed(t: TestVm): void {
  const now = Date.now();
  const run = (id: string, experiment: number, stage: string, deletedDaysAgo: number | null): string =>
    `('${id}', ${experiment}, '${stage}', ${deletedDaysAgo === null ? "NULL" : now - deletedDaysAgo * DAY}, 'mlflow-artifacts:/${experiment}/${id}/artifacts')`;
  t.db.query(`
    INSERT INTO experiments (experiment_id, name, lifecycle_stage, creation_time, last_update_time) VALUES
      (1, 'Default', 'active', ${now - 100 * DAY}, ${now - 100 * DAY}),
      (2, 'deleted 40 days ago', 'deleted', ${now - 60 * DAY}, ${now - 40 * DAY}),
      (3, 'deleted yesterday', 'deleted', ${now - 60 * DAY}, ${now - DAY});
    INSERT INTO runs (run_uuid, experiment_id, lifecycle_stage, deleted_time, artifact_uri) VALUES
      ${[run("active", 1, "active", null), run("deleted40d", 1, "deleted", 40), run("deleted10d", 1, "deleted", 10),
        run("deleted1d", 1, "deleted", 1), run("inexp2", 2, "deleted", 40), run("inexp3", 3, "deleted", 1)].join(",\n")}`);
}
const runsLeft = (t: TestVm): string[] => t.db.query("SELECT run_uuid FROM runs ORDER BY 1").split("\n").filter(Boolean);
const experimentsLeft = (t: TestVm): string[] => t.db.query("SELECT experiment_id FROM experiments ORDER BY 1").split("\n").filter(Boolean);
const artifactsServer = (calls: Call[], event: string): Call[] => calls.filter((c) => c.cmd === "mlflow artifacts-only" && c.event === event);
/** The calendar event of the timer unit the script wrote. */
const onCalendar = (opts: StartupScriptOptions): string => /^OnCalendar=(.*)$/m.exec(renderGcTimer(opts))![1];

describeVm("mlflow gc on its timer", () => {
  test("first boot: the timer is enabled and armed with the unit's calendar; when it elapses, gc runs as mlflow against the real database, through a private artifacts-only server, and the server keeps serving", async () => {
    const opts = options();
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, opts);
    expectConfigFiles(vm, opts); // the helper, unit and timer as rendered; timers.target wants the timer
    expect(fs.readlinkSync(vm.file(`/etc/systemd/system/timers.target.wants/${TIMER}`))).toBe(GC_TIMER);
    expect(await vm.unitState(TIMER)).toBe("active");
    expect(await vm.unitState(GC)).toBe("inactive");
    const armed = events(vm.calls(), "timer armed");
    expect(armed.map((c) => c.argv.slice(0, 2))).toEqual([[TIMER, onCalendar(opts)]]);
    expect(armed[0].argv[2]).toMatch(/^\w{3} \d{4}-\d{2}-\d{2} 04:00:00 UTC$/); // systemd-analyze's next elapse of "0 4 * * *"
    expect(byScript(vm.calls(), "systemctl")).toEqual(expect.arrayContaining([["enable", TIMER], ["restart", TIMER]]));
    const server = last(serverEvents(vm.calls(), "listening"));
    seed(t);

    // Hold gc in its first artifact deletion, to look at every command line meanwhile.
    vm.control("artifacts-delete-slow", true);
    const mark = vm.calls().length;
    await vm.elapse(TIMER, false);
    await vm.waitFor(() => events(after(vm.calls(), mark), "mlflow gc").length === 1, 30, "gc to start");
    expect(await vm.unitState(GC)).toBe("activating");
    const cmdlines = await vm.sh("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <\"$f\"; echo; done");
    expect(cmdlines.output).toContain("/opt/mlflow/bin/mlflow-gc.py");
    expect(cmdlines.output).toContain("-m mlflow server --artifacts-only");
    for (const secret of [DB_PASSWORD, urlQuote(DB_PASSWORD), "postgresql+psycopg2:", "sslrootcert"]) expect(cmdlines.output).not.toContain(secret);
    await vm.elapse(TIMER, false); // elapsing again while it runs starts nothing new
    vm.control("artifacts-delete-slow", false);
    await vm.waitFor(() => events(after(vm.calls(), mark), "mlflow gc done").length === 1, 30, "gc to finish");
    await vm.waitFor(() => vm.journal().includes(`systemd[fake]: Stopped ${GC}.`), 30, "the unit to end");
    let state = await vm.unitState(GC);
    while (state === "activating") state = await vm.unitState(GC);
    expect(state).toBe("inactive");
    const calls = after(vm.calls(), mark);

    // The timer's elapses: the Persistent= stamp; one run only.
    expect(events(calls, "timer elapsed").map((c) => c.argv)).toEqual([[TIMER, GC], [TIMER, GC]]);
    expect(vm.exists(`/var/lib/systemd/timers/stamp-${TIMER}`)).toBe(true);
    expect(events(calls, "python").filter((c) => c.argv[0] === "/opt/mlflow/bin/mlflow-gc.py")).toHaveLength(1);

    // The private server: artifacts only, on loopback, the team server's destination, none of
    // its database, auth or metrics settings; it answered /health before gc ran; stopped after.
    const [start] = artifactsServer(calls, "start");
    const port = start.argv[start.argv.indexOf("--port") + 1];
    expect(start.argv).toEqual(["server", "--artifacts-only", "--serve-artifacts", "--artifacts-destination", opts.artifactsDestination,
      "--host", "127.0.0.1", "--port", port, "--workers", "1"]);
    expect(start.team_server_settings).toEqual([]);
    expect(start.uid).toBe(mlflowUid(vm));
    const gc = events(calls, "mlflow gc")[0];
    expect(calls.indexOf(artifactsServer(calls, "listening")[0])).toBeLessThan(calls.indexOf(gc));
    expect(calls.indexOf(artifactsServer(calls, "stopped")[0])).toBeGreaterThan(calls.indexOf(events(calls, "mlflow gc done")[0]));

    // gc itself: as mlflow, in the unit's working directory, --older-than from the unit, the
    // database URI from the root-only environment file (never a command line), the tracking
    // URI the private server's.
    expect(gc).toMatchObject({
      caller: "service", uid: mlflowUid(vm), cwd: "/var/lib/mlflow", older_than: "30d", tracking_uri: `http://127.0.0.1:${port}`,
      backend_uri_from_environment: true, db_password_is_a_secret: true, version: opts.mlflowVersion,
    });
    const unitEnv = gcUnitEnvironment(opts);
    expect(gc.environment).toEqual({ ...unitEnv, TMPDIR: "/var/tmp", MLFLOW_HTTP_REQUEST_TIMEOUT: "900" });
    expect(vm.read("/etc/mlflow/mlflow.env")).toContain(`MLFLOW_BACKEND_STORE_URI='${backendUri(opts)}'`);

    // What it did on the real database and through the private server: the runs deleted 30
    // days ago or more and the experiment deleted 40 days ago (with its run) are gone, their
    // artifacts deleted under the team server's destination; the rest stays.
    expect(events(calls, "mlflow gc done")[0]).toMatchObject({ runs: ["deleted40d", "inexp2"], experiments: ["2"] });
    expect(events(calls, "mlflow artifacts deleted").map((c) => c.location).sort()).toEqual([
      `${opts.artifactsDestination}/1/deleted40d/artifacts`, `${opts.artifactsDestination}/2/inexp2/artifacts`,
    ]);
    expect(runsLeft(t)).toEqual(["active", "deleted10d", "deleted1d", "inexp3"]);
    expect(experimentsLeft(t)).toEqual(["1", "3"]);
    expect(vm.journal()).toContain(`${GC}: Run with ID deleted40d has been permanently deleted.`);
    expect(vm.journal()).toContain(`${GC}: mlflow-gc: done`);

    // The team server was not touched.
    expect(serverEvents(calls, "start")).toEqual([]);
    expect(last(serverEvents(vm.calls(), "listening")).pid).toBe(server.pid);
    await expectServing(t, opts, opts.mlflowVersion);
    expectNoSecretInLogs(vm);
  });

  test("a failing gc (the private server does not start; an artifact cannot be deleted): the unit ends failed with its output in the journal, the server keeps serving, the next elapse runs again", async () => {
    const opts = options();
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, opts);
    seed(t);
    const server = last(serverEvents(vm.calls(), "listening"));

    vm.control("artifacts-server-fails", true);
    expect(await vm.elapse(TIMER)).toBe("failed");
    expect(vm.journal()).toContain(`${GC}: mlflow-gc: ERROR: the private server exited with status 1`);
    expect(vm.journal()).toContain(`systemd[fake]: ${GC}: exited, status=2`);
    expect(vm.journal()).toContain(`systemd[fake]: ${GC}: Failed with result 'exit-code'.`);
    vm.control("artifacts-server-fails", false);

    vm.control("artifacts-delete-fails", true);
    expect(await vm.elapse(TIMER)).toBe("failed");
    expect(vm.journal()).toContain(`${GC}: mlflow-gc: ERROR: mlflow gc failed`);
    expect(vm.journal()).toMatch(new RegExp(`${GC}: .*500 Server Error.*Permission 'storage.objects.delete' denied`));
    expect(vm.journal()).toContain(`systemd[fake]: ${GC}: exited, status=1`);
    // Nothing was deleted: the run whose artifacts could not go stays, as does its experiment.
    expect(runsLeft(t)).toEqual(["active", "deleted10d", "deleted1d", "deleted40d", "inexp2", "inexp3"]);
    // The failures never reached the server: same process, still healthy.
    expect(serverEvents(vm.calls(), "start")).toHaveLength(1);
    expect(last(serverEvents(vm.calls(), "listening")).pid).toBe(server.pid);
    expect((await vm.sh(`curl -fsS http://127.0.0.1:${opts.port}/health`)).output).toBe("OK");
    expect(await vm.unitState("mlflow.service")).toBe("active");
    expect(await vm.unitState(TIMER)).toBe("active");

    // The next scheduled run does the work.
    vm.control("artifacts-delete-fails", false);
    expect(await vm.elapse(TIMER)).toBe("inactive");
    expect(runsLeft(t)).toEqual(["active", "deleted10d", "deleted1d", "inexp3"]);
    await expectServing(t, opts, opts.mlflowVersion);
    expectNoSecretInLogs(vm);
  });

  test("re-run with the same gc settings: the timer is only started (a no-op), not re-armed; new gcSchedule and gcOlderThan restart the timer, not the server, and the next run uses them", async () => {
    const before = options();
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, before);
    const server = last(serverEvents(vm.calls(), "listening"));
    let mark = vm.calls().length;
    await runScript(vm, before);
    expect(byScript(after(vm.calls(), mark), "systemctl")).toEqual([
      ["daemon-reload"], ["enable", "mlflow.service"], ["start", "--no-block", "mlflow.service"], ["enable", TIMER], ["start", TIMER],
    ]);
    expect(events(after(vm.calls(), mark), "timer armed")).toEqual([]);

    const opts = { ...before, gcSchedule: "30 2 * * 0", gcOlderThan: "7d" };
    seed(t);
    mark = vm.calls().length;
    const result = await runScript(vm, opts);
    const calls = after(vm.calls(), mark);
    expect(result.output).toContain(`wrote ${GC_TIMER}`);
    expect(result.output).not.toContain("restarting mlflow.service");
    expect(byScript(calls, "systemctl")).toEqual([
      ["daemon-reload"], ["enable", "mlflow.service"], ["start", "--no-block", "mlflow.service"], ["enable", TIMER], ["restart", TIMER],
    ]);
    expect(events(calls, "timer armed").map((c) => c.argv.slice(0, 2))).toEqual([[TIMER, onCalendar(opts)]]);
    expect(onCalendar(opts)).not.toBe(onCalendar(before));
    expect(events(calls, "timer armed")[0].argv[2]).toMatch(/^Sun \d{4}-\d{2}-\d{2} 02:30:00 UTC$/);
    expect(serverEvents(calls, "start")).toEqual([]);
    expect(serverEvents(calls, "stopped")).toEqual([]);
    expectConfigFiles(vm, opts);

    mark = vm.calls().length;
    expect(await vm.elapse(TIMER)).toBe("inactive");
    expect(events(after(vm.calls(), mark), "mlflow gc")[0].older_than).toBe("7d");
    expect(runsLeft(t)).toEqual(["active", "deleted1d", "inexp3"]);
    expect(last(serverEvents(vm.calls(), "listening")).pid).toBe(server.pid);
    expectNoSecretInLogs(vm);
  });

  test("a new MLflow version: a running gc is stopped before the server stops and the schema is migrated; the next run uses the new version", async () => {
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, options({ mlflowVersion: "3.17.2" }));
    seed(t);
    vm.control("artifacts-delete-slow", true); // a long gc, still deleting artifacts
    const mark = vm.calls().length;
    await vm.elapse(TIMER, false);
    await vm.waitFor(() => events(after(vm.calls(), mark), "mlflow gc").length === 1, 30, "gc to start");
    const opts = options({ mlflowVersion: "3.18.0" });
    const result = await vm.startJob(renderStartupScript(opts));
    vm.control("artifacts-delete-slow", false);
    expectExit(result, 0, vm);
    const calls = after(vm.calls(), mark);
    const at = (pred: (c: Call) => boolean): number => calls.findIndex(pred);

    const stopTimer = at((c) => c.caller === "script" && c.cmd === "systemctl" && c.argv.join(" ") === `stop ${TIMER}`);
    const stopGc = at((c) => c.caller === "script" && c.cmd === "systemctl" && c.argv.join(" ") === `stop ${GC}`);
    const stopServer = at((c) => c.caller === "script" && c.cmd === "systemctl" && c.argv.join(" ") === "stop mlflow.service");
    const privateServer = events(calls, "mlflow artifacts-only").find((c) => c.event === "listening")!;
    const migrated = at((c) => c.cmd === "mlflow db upgrade");
    // The timer first: it cannot start a gc of the old version between the two stops.
    expect(stopTimer).toBeGreaterThan(0);
    expect(stopGc).toBeGreaterThan(stopTimer);
    expect(stopServer).toBeGreaterThan(stopGc);
    // The gc's whole control group went with it, its private server too, before the migration
    // (the stop returns once the group is empty): killed at once by gc's SIGTERM handler,
    // not left to finish its slow deletion past the stop's timeout.
    expect(migrated).toBeGreaterThan(stopServer);
    expect(vm.journal()).toContain(`${GC}: mlflow-gc: stopped (SIGTERM)`);
    expect(vm.journal()).not.toContain(`${GC}: State 'stop-sigterm' timed out`);
    // Gone, or a zombie its new parent has not reaped yet.
    expect((await vm.sh(`case "$(cat /proc/${privateServer.pid}/stat 2>/dev/null)" in "" | *") Z "*) echo gone ;; esac`)).output.trim()).toBe("gone");
    expect(events(calls, "mlflow gc done")).toEqual([]);
    expect(result.output.indexOf("switched /opt/mlflow/venv to")).toBeGreaterThan(result.output.indexOf("restarting mlflow.service"));
    // A oneshot killed by the stop's SIGTERM would fail (systemd.service(5), SuccessExitStatus=)
    // and raise the gc alert; the unit lists SIGTERM as clean: a stop is not a failure.
    expect(vm.journal()).not.toContain(`${GC}: Failed with result`);
    expect(await vm.unitState(GC)).toBe("inactive");
    expect(runsLeft(t)).toContain("deleted40d");
    await expectServing(t, opts, "3.18.0");

    // The next run: the new version's gc on the migrated schema.
    const next = vm.calls().length;
    expect(await vm.elapse(TIMER)).toBe("inactive");
    expect(events(after(vm.calls(), next), "mlflow gc")[0]).toMatchObject({ version: "3.18.0", venv: fs.readlinkSync(vm.file("/opt/mlflow/venv")) });
    expect(runsLeft(t)).toEqual(["active", "deleted10d", "deleted1d", "inexp3"]);
    expectNoSecretInLogs(vm);
  });
});
