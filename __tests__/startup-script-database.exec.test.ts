// The startup script against a real PostgreSQL 15 with TLS (script-harness/cloudsql.ts),
// through the real driver (psycopg2), SQLAlchemy and alembic in the VM's venv: the URIs as
// the script writes them, how each wrong setting fails, the schema-upgrade step's
// decisions (with the on-demand backup through the fake Cloud SQL Admin API), and the
// connection budget. Run with `npm run test:script` (see startup-script.exec.test.ts).
import { spawnSync } from "child_process";
import * as path from "path";
import { ADMIN_HEADROOM_CONNECTIONS, SERVER_COMMAND_CONNECTIONS, planConnections, renderStartupScript, StartupScriptOptions } from "../lib";
import {
  AUTH_HEAD, backupRequests, bootedVm, CA_FILE, describeVm, expectBumpOrder, expectNoSecretInLogs,
  expectServing, options, otherCa, runScript, schemaSteps, serverEvents, TestVm, TRACKING_HEAD,
} from "./script-harness/exec-helpers";
import { MAX_CONNECTIONS, SUPERUSER_RESERVED } from "./script-harness/cloudsql";
import { Call, FakeVm } from "./script-harness/vm";

const OLD = "3.17.2";
const NEW = "3.18.0";
/** The `(psycopg2.OperationalError) connection to server at ... failed:` prefix of libpq's errors. */
const CONNECTION_FAILED = '(psycopg2.OperationalError) connection to server at "10.91.0.3", port 5432 failed:';

/** Starts the script without waiting for it (a failing start keeps it in its /health loop until the VM powers off). */
function startScript(vm: FakeVm, opts: StartupScriptOptions): void {
  void vm.startJob(renderStartupScript(opts));
}

/** Waits until the unit's schema-upgrade step has failed `n` times (systemd restarts it). */
async function waitForFailedUpgrades(vm: FakeVm, n: number): Promise<void> {
  await vm.waitFor(() => (vm.journal().match(/mlflow\.service: exited, status=[1-9]/g) ?? []).length >= n, 30, `${n} failed starts of mlflow.service`);
}

/** Nothing reached the database: no tables, no server, no migration. */
function expectUntouched(t: TestVm): void {
  expect(t.db.tables()).toEqual([]);
  expect(serverEvents(t.vm.calls(), "start")).toEqual([]);
  expect(schemaSteps(t.vm.calls())).toEqual([]);
}

describeVm("the database URIs as the script writes them, on the real server and driver", () => {
  test("both connect over TLS as the mlflow user, with the driver they name and the CA the script placed", async () => {
    const t = await bootedVm();
    const { vm } = t;
    const opts = options();
    await runScript(vm, opts);
    await expectServing(t, opts, opts.mlflowVersion); // the upgrade step and the server connected over TLS

    // As the unit does: the backend URI from the root-only env file, the auth URI from the
    // INI handed over as a credential (a copy the mlflow user owns); the process runs as mlflow.
    const connect = `
import configparser, os, sqlalchemy
ini = configparser.ConfigParser(); ini.read(os.environ["INI"])
uri = os.environ["MLFLOW_BACKEND_STORE_URI"]
def attempt(name, u):
    try:
        with sqlalchemy.create_engine(u).connect() as c:
            print(name, *c.execute(sqlalchemy.text("SELECT ssl, version, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).first())
    except Exception as e:
        print(name, type(e).__name__, str(e).splitlines()[0])
attempt("backend", uri)
attempt("auth", ini["mlflow"]["database_uri"])
attempt("bare", uri.replace("postgresql+psycopg2://", "postgresql://"))
attempt("verify-full", uri.replace("sslmode=verify-ca", "sslmode=verify-full"))
`;
    const asMlflow = (python: string, code: string): string => [
      "set -a; . /etc/mlflow/mlflow.env; set +a",
      "install -m 0400 -o mlflow /etc/mlflow/basic_auth.ini /run/auth.ini",
      `setpriv --reuid=mlflow --regid=mlflow --init-groups env -i INI=/run/auth.ini MLFLOW_BACKEND_STORE_URI="$MLFLOW_BACKEND_STORE_URI" ${python} -c '${code}' 2>&1`,
    ].join("\n");
    const result = await vm.sh(asMlflow("/opt/mlflow/venv/bin/python3", connect));
    expect(result.output.trim().split("\n")).toEqual([
      expect.stringMatching(/^backend True TLSv1\.[23] mlflow$/),
      expect.stringMatching(/^auth True TLSv1\.[23] mlflow$/),
      // SQLAlchemy 2.1 maps a bare postgresql:// to psycopg (3), which is not installed.
      "bare ModuleNotFoundError No module named 'psycopg'",
      // verify-ca checks the chain only: the certificate names the instance, not the IP.
      expect.stringMatching(/^verify-full OperationalError .*server certificate for "acme-ml-prod:mlflow-db" does not match host name "10\.91\.0\.3"/),
    ]);

    // The driver the URI names must be installed: a venv with MLflow but without
    // psycopg2-binary cannot open it.
    const noDriver = await vm.sh([
      "python3 -m venv /opt/nodriver >/dev/null",
      "/opt/mlflow/uv-*/bin/uv pip install -q -n --python /opt/nodriver/bin/python --exclude-newer 2026-11-28T00:00:00Z mlflow==3.18.0",
      asMlflow("/opt/nodriver/bin/python3", 'import os, sqlalchemy; sqlalchemy.create_engine(os.environ["MLFLOW_BACKEND_STORE_URI"])'),
    ].join("\n"));
    expect(noDriver.output).toMatch(/ModuleNotFoundError: No module named 'psycopg2'\n$/);

    // The CA file must be readable by the mlflow user (/etc/mlflow 0711, the file 0644): in a
    // directory it cannot search, libpq reports the file as missing.
    const unreadable = await vm.sh(`chmod 0700 /etc/mlflow\n${asMlflow("/opt/mlflow/venv/bin/python3", connect)}\nchmod 0711 /etc/mlflow`);
    expect(unreadable.output).toContain(`backend OperationalError ${CONNECTION_FAILED} root certificate file "${CA_FILE}" does not exist`);
    expectNoSecretInLogs(vm);
  });

  test("a CA that did not sign the server's certificate: the upgrade step fails with the TLS error, touches nothing, the unit retries", async () => {
    const t = await bootedVm();
    startScript(t.vm, options({ databaseCaCertificate: otherCa() }));
    await waitForFailedUpgrades(t.vm, 2);
    expect(t.vm.journal()).toContain(`${CONNECTION_FAILED} SSL error: certificate verify failed`);
    expectUntouched(t);
    expectNoSecretInLogs(t.vm);
  });

  test("a server that speaks only plaintext: sslmode=verify-ca refuses it", async () => {
    const t = await bootedVm();
    await t.vm.database("down");
    await t.vm.database("up-plaintext");
    startScript(t.vm, options());
    await waitForFailedUpgrades(t.vm, 2);
    expect(t.vm.journal()).toContain(`${CONNECTION_FAILED} server does not support SSL, but SSL was required`);
    expectUntouched(t);
  });

  test("a wrong password: authentication fails, and the password shows nowhere", async () => {
    const t = await bootedVm();
    t.vm.setSecret("mlflow-db-password", "not-the-password-1");
    startScript(t.vm, options());
    await waitForFailedUpgrades(t.vm, 2);
    expect(t.vm.journal()).toContain(`${CONNECTION_FAILED} FATAL:  password authentication failed for user "mlflow"`);
    expectUntouched(t);
    expectNoSecretInLogs(t.vm);
    expect(t.vm.allLogs()).not.toContain("not-the-password-1");
  });
});

describeVm("the schema-upgrade step's decisions on the real database", () => {
  test("a failed backup: nothing is migrated, the server does not start, the unit retries (pausing); once the backup works, it migrates", async () => {
    const t = await bootedVm();
    const { vm, db } = t;
    const pause = { backupRetryPauseSeconds: 1 };
    await runScript(vm, options({ mlflowVersion: OLD, ...pause }));
    const mark = vm.calls().length;
    vm.control("backup-refused", true); // e.g. the VM's role lacks cloudsql.backupRuns.create
    const opts = options({ mlflowVersion: NEW, ...pause });
    const job = vm.startJob(renderStartupScript(opts));

    const inserts = (): Call[] => backupRequests(vm.calls().slice(mark));
    await vm.waitFor(() => inserts().length >= 2, 30, "two refused backups");
    expect(vm.journal()).toContain("mlflow-db-upgrade: ERROR: backup failed, nothing migrated: POST http://127.0.0.1:8089/v1/projects/acme-ml-prod/instances/mlflow-db/backupRuns: HTTP 403");
    // The unit paused MLFLOW_BACKUP_RETRY_PAUSE_SECONDS after each failure before retrying.
    expect(inserts()[1].t - inserts()[0].t).toBeGreaterThanOrEqual(1);
    vm.control("backup-refused", false);
    vm.control("backup-fails", true); // the backup starts, then its operation ends with an error
    await vm.waitFor(() => vm.calls().slice(mark).some((c) => c.cmd === "sqladmin.operations.get" && c.error), 30, "a failed backup operation");
    await vm.waitFor(() => vm.journal().includes("failed: {\"kind\": \"sql#operationErrors\""), 10, "the failure logged");
    // Nothing migrated, no server on the new version.
    expect(db.revision("alembic_version")).toBe(TRACKING_HEAD[OLD]);
    expect(db.revision("alembic_version_auth")).toBe(AUTH_HEAD[OLD]);
    expect(schemaSteps(vm.calls().slice(mark))).toEqual([]);
    expect(serverEvents(vm.calls().slice(mark), "start").filter((c) => c.version === NEW)).toEqual([]);

    vm.control("backup-fails", false);
    const result = await job;
    expect(result.code).toBe(0);
    const done = vm.calls().slice(mark);
    const lastFailure = done.map((c) => c.cmd === "sqladmin.operations.get" && c.error).lastIndexOf(true);
    expectBumpOrder(done.slice(lastFailure + 1), {
      project: "acme-ml-prod", instance: "mlflow-db", oldTracking: TRACKING_HEAD[OLD], oldAuth: AUTH_HEAD[OLD], version: NEW,
    });
    await expectServing(t, opts, NEW);
  });

  test("operations.backupBeforeUpgrade false (no backup instance): a schema behind is migrated without a backup", async () => {
    const t = await bootedVm();
    const off = { backupInstance: undefined };
    await runScript(t.vm, options({ mlflowVersion: OLD, ...off }));
    const opts = options({ mlflowVersion: NEW, ...off });
    await runScript(t.vm, opts);
    expect(t.vm.journal()).toContain("mlflow-db-upgrade: backup before migrations is off (operations.backupBeforeUpgrade: false)");
    expect(backupRequests(t.vm.calls())).toEqual([]);
    expect(schemaSteps(t.vm.calls()).slice(-2)).toEqual(["mlflow db upgrade", "mlflow auth db upgrade"]);
    await expectServing(t, opts, NEW);
  });

  test("a schema written by a newer MLflow: the step refuses, backs up and migrates nothing", async () => {
    const t = await bootedVm();
    const { vm, db } = t;
    await runScript(vm, options({ mlflowVersion: NEW }));
    const mark = vm.calls().length;
    startScript(vm, options({ mlflowVersion: OLD }));
    await vm.waitFor(() => vm.journal().includes("schema was written by a newer MLflow"), 30, "the refusal");
    expect(vm.journal()).toContain("mlflow-db-upgrade: ERROR: the tracking and auth schema was written by a newer MLflow than this one; downgrades are not supported");
    expect(db.revision("alembic_version")).toBe(TRACKING_HEAD[NEW]);
    expect(db.revision("alembic_version_auth")).toBe(AUTH_HEAD[NEW]);
    expect(backupRequests(vm.calls())).toEqual([]);
    expect(schemaSteps(vm.calls().slice(mark))).toEqual([]);
    expect(serverEvents(vm.calls().slice(mark), "start")).toEqual([]);
  });
});

describeVm("the connection budget, on the real server", () => {
  /**
   * The VM's demand as constructs/tracking-server.ts states it (checkVmConnectionBudget):
   * every worker with its engines, and `mlflow gc` run by an administrator.
   */
  const workers = 2;
  const plan = planConnections({ serverProcesses: workers, serverCommands: 1, basicAuth: true, enableJobExecution: false, gc: true, concurrentMigration: false }, MAX_CONNECTIONS);
  const perEngine = plan.poolSize + plan.maxOverflow;

  test(`${workers} workers with pools of ${plan.poolSize} + ${plan.maxOverflow}: at most what the validation counts, within max_connections ${MAX_CONNECTIONS} and its margins`, async () => {
    const t = await bootedVm();
    const { vm, db } = t;
    const opts = options({ workers, poolSize: plan.poolSize, maxOverflow: plan.maxOverflow });
    await runScript(vm, opts);
    await expectServing(t, opts, opts.mlflowVersion);

    // Every worker checks out every connection each of its engines' pools allows.
    const mark = vm.calls().length;
    vm.control("saturate-pools", true);
    const saturated = (): Call[] => vm.calls().slice(mark).filter((c) => c.cmd === "mlflow worker saturated" || c.cmd === "mlflow worker saturation failed");
    await vm.waitFor(() => saturated().length >= workers, 30, "every worker saturated");
    const engines = { tracking: perEngine, registry: perEngine, jobs: perEngine, auth: perEngine };
    for (const worker of saturated()) {
      expect(worker).toMatchObject({ cmd: "mlflow worker saturated", connections: engines });
      // SQLAlchemy's QueuePool blocks a checkout beyond pool_size + max_overflow.
      expect(worker.one_more_blocked).toEqual({ tracking: true, registry: true, jobs: true, auth: true });
    }
    const open = Number(db.query("SELECT count(*) FROM pg_stat_activity WHERE usename = 'mlflow'"));
    const engineCount = Object.keys(engines).length;
    // The `mlflow server` command keeps its tracking and registry engines (one idle connection each).
    expect(open).toBe(SERVER_COMMAND_CONNECTIONS + workers * engineCount * perEngine);
    // With `mlflow gc` (2 engines) on top: exactly the worst case the validation counts
    // (the server command's own connections included), within what it leaves for MLflow.
    const gc = 2 * perEngine;
    expect(open + gc).toBe(plan.worstCase);
    expect(open + gc).toBeLessThanOrEqual(plan.available);

    // The margins are real: with the server saturated, the server still accepts gc's share
    // and the administrators' headroom as ordinary (non-superuser) logins.
    const hold = spawnSync("/usr/bin/python3", ["-c", `
import json, sys, psycopg2
conns = []
for user, n in (("mlflow", ${gc}), ("dbadmin", ${ADMIN_HEADROOM_CONNECTIONS})):
    for _ in range(n):
        conns.append(psycopg2.connect(host=sys.argv[1], port=5432, user=user, dbname="mlflow"))
held, refusal = len(conns), None
while refusal is None:
    try:
        conns.append(psycopg2.connect(host=sys.argv[1], port=5432, user="dbadmin", dbname="mlflow"))
    except psycopg2.OperationalError as e:
        refusal = str(e).strip()
print(json.dumps({"held": held, "beyond": len(conns) - held, "refusal": refusal}))
`, path.join(db.dir, "run")], { encoding: "utf8" });
    expect(hold.stderr).toBe("");
    const margins = JSON.parse(hold.stdout) as { held: number; beyond: number; refusal: string };
    expect(margins.held).toBe(gc + ADMIN_HEADROOM_CONNECTIONS);
    // Ordinary logins stop at max_connections less PostgreSQL's superuser slots.
    expect(margins.beyond).toBe(MAX_CONNECTIONS - SUPERUSER_RESERVED - open - gc - ADMIN_HEADROOM_CONNECTIONS);
    expect(margins.refusal).toMatch(/remaining connection slots are reserved for/);

    vm.control("saturate-pools", false);
    await vm.waitFor(() => vm.calls().slice(mark).filter((c) => c.cmd === "mlflow worker released").length >= workers, 30, "released");
  });
});
