// templates/mlflow-gc.py, executed with the real Python against a stand-in mlflow package
// (__tests__/gc-fakes/mlflow: each file says which real module it follows). What it must do:
// start a private artifacts-only server on loopback without the database URI, wait for it,
// run `mlflow gc` in-process against it with the URI and --older-than, stop the server, and
// exit non-zero (with a log line) when gc or the server fails.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readTemplate } from "../lib/template";
import { GC_ERROR_MARKER } from "../constructs/operations";

const FAKES = path.join(__dirname, "gc-fakes");
const URI = "postgresql+psycopg2://mlflow:s3cret-pa55@10.91.0.3:5432/mlflow?sslmode=verify-ca";

interface Event { event: string; pid: number; [key: string]: any }

/** A scratch directory holding the script and the stand-ins' record file. */
function scratch(): { dir: string; record: string; script: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-gc-test-"));
  const script = path.join(dir, "mlflow-gc.py");
  fs.writeFileSync(script, readTemplate("mlflow-gc.py"));
  return { dir, record: path.join(dir, "record.jsonl"), script };
}

/** The script's environment: the stand-in mlflow package, the settings a unit gives, and `extra`. */
function gcEnv(record: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    PYTHONPATH: FAKES,
    PYTHONDONTWRITEBYTECODE: "1",
    FAKE_RECORD: record,
    MLFLOW_BACKEND_STORE_URI: URI,
    MLFLOW_AUTH_CONFIG_PATH: "/run/credentials/mlflow.service/basic_auth.ini",
    MLFLOW_FLASK_SERVER_SECRET_KEY: "flask-secret",
    MLFLOW_GC_OLDER_THAN: "30d",
    MLFLOW_GC_ARTIFACTS_DESTINATION: "gs://acme-ml-prod-mlflow-artifacts/mlartifacts",
    ...extra,
  };
}

/** What the stand-ins recorded so far. */
function recorded(record: string): Event[] {
  return fs.existsSync(record) ? fs.readFileSync(record, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Event) : [];
}

function runGc(extraEnv: Record<string, string> = {}): { status: number | null; output: string; events: Event[] } {
  const { dir, record, script } = scratch();
  try {
    const result = spawnSync("python3", [script], { encoding: "utf8", timeout: 60_000, env: gcEnv(record, extraEnv) });
    return { status: result.status, output: result.stdout + result.stderr, events: recorded(record) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a process still runs (a zombie, dead but not yet reaped by its new parent, does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("mlflow-gc.py", () => {
  test("runs gc in-process against a private artifacts-only server, then stops it", () => {
    const { status, output, events } = runGc();
    expect(status).toBe(0);
    const server = events.find((e) => e.event === "server")!;
    const port = server.argv[server.argv.indexOf("--port") + 1];
    expect(server.argv).toEqual([
      "server", "--artifacts-only", "--serve-artifacts",
      "--artifacts-destination", "gs://acme-ml-prod-mlflow-artifacts/mlartifacts",
      "--host", "127.0.0.1", "--port", port, "--workers", "1",
    ]);
    // --artifacts-only refuses a backend store URI, which `mlflow server` would read from the
    // environment; nothing of the team server's auth reaches it either.
    for (const name of ["MLFLOW_BACKEND_STORE_URI", "MLFLOW_AUTH_CONFIG_PATH", "MLFLOW_FLASK_SERVER_SECRET_KEY", "MLFLOW_TRACKING_URI"]) {
      expect(server.env).not.toContain(name);
    }
    expect(server.env).toEqual(expect.arrayContaining(["MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "MLFLOW_DISABLE_TELEMETRY"]));
    expect(server.cwd).toMatch(/mlflow-gc-/);

    const gc = events.find((e) => e.event === "gc")!;
    expect(gc.args).toEqual(["gc", "--backend-store-uri", URI, "--older-than", "30d", "--tracking-uri", `http://127.0.0.1:${port}`]);
    expect(gc.tracking_uri).toBe(`http://127.0.0.1:${port}`);
    expect(gc.server_reachable).toBe(true);
    expect(gc.http_timeout).toBe("900");
    // gc ran in the wrapper's own process: the password was on no command line.
    expect(gc.pid).not.toBe(server.pid);
    expect(server.argv.join(" ")).not.toContain("s3cret");

    expect(events.map((e) => e.event)).toEqual(["server", "gc", "server-stopped"]);
    expect(alive(server.pid)).toBe(false);
    expect(output).toContain("mlflow-gc: done");
  });

  test("a failing gc exits 1 with the error logged, and the server is stopped", () => {
    const { status, output, events } = runGc({ FAKE_GC: "fail" });
    expect(status).toBe(1);
    expect(output).toMatch(/mlflow-gc: ERROR: mlflow gc failed: RuntimeError\('HTTPError: 500/);
    expect(output).toContain("Traceback");
    expect(events.map((e) => e.event)).toEqual(["server", "gc", "server-stopped"]);
  });

  test("a private server that exits exits 2 without running gc", () => {
    const { status, output, events } = runGc({ FAKE_SERVER: "exit" });
    expect(status).toBe(2);
    expect(output).toContain("mlflow-gc: ERROR: the private server exited with status 1");
    expect(events.map((e) => e.event)).toEqual(["server"]);
  });

  test("a private server that never answers exits 2 after the wait, and is stopped", () => {
    const { status, output, events } = runGc({ FAKE_SERVER: "silent", MLFLOW_GC_SERVER_START_SECONDS: "2" });
    expect(status).toBe(2);
    expect(output).toMatch(/did not answer http:\/\/127\.0\.0\.1:\d+\/health within 2 s/);
    expect(events.map((e) => e.event)).toEqual(["server", "server-stopped"]);
  });

  test("without its settings it fails before starting anything", () => {
    const { status, output, events } = runGc({ MLFLOW_GC_OLDER_THAN: "" });
    // An empty --older-than would mean "no age limit" to MLflow: refuse it.
    expect(status).not.toBe(0);
    expect(events).toEqual([]);
    expect(output).toMatch(/MLFLOW_GC_OLDER_THAN/);
  });
  // The Cloud Run gc alert matches this marker in the job's log (constructs/operations.ts
  // gcFailureFilter): every way the script fails must write it at the start of a line, and a
  // run that succeeds must not.
  test.each([
    ["gc fails", { FAKE_GC: "fail" }],
    ["the private server exits", { FAKE_SERVER: "exit" }],
    ["the private server never answers", { FAKE_SERVER: "silent", MLFLOW_GC_SERVER_START_SECONDS: "2" }],
    ["a setting is missing", { MLFLOW_GC_ARTIFACTS_DESTINATION: "" }],
  ])("%s: a non-zero exit with a line starting with the alert's marker", (_case, env) => {
    const { status, output } = runGc(env);
    expect(status).not.toBe(0);
    expect(output.split("\n").filter((l) => l.startsWith(GC_ERROR_MARKER))).toHaveLength(1);
  });

  test("SIGTERM (a stop) kills the private server at once, even one that would finish a request first, and ends by SIGTERM", async () => {
    // systemd sends SIGTERM to every process of the unit; a server left to finish a long
    // artifact deletion could outlast the stop's timeout, a failed run to systemd.
    const { dir, record, script } = scratch();
    const events = (): Event[] => recorded(record);
    let serverPid: number | undefined;
    try {
      const child = spawn("python3", [script], { env: gcEnv(record, { TMPDIR: dir, FAKE_SERVER: "stubborn", FAKE_GC: "slow" }) });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
      const deadline = Date.now() + 20_000;
      while (!events().some((e) => e.event === "gc") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const server = events().find((e) => e.event === "server")!;
      serverPid = server.pid;
      expect(alive(server.pid)).toBe(true);
      const sent = Date.now();
      // Like systemd's KillMode=control-group: SIGTERM to every process at once.
      process.kill(server.pid, "SIGTERM");
      child.kill("SIGTERM");
      const { code, signal } = await ended;
      expect({ code, signal }).toEqual({ code: null, signal: "SIGTERM" });
      expect(Date.now() - sent).toBeLessThan(5_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(alive(server.pid)).toBe(false);
      expect(output).toContain("mlflow-gc: stopped (SIGTERM)");
      expect(output).not.toContain(GC_ERROR_MARKER);
      // Its temporary directory goes with it.
      expect(fs.readdirSync(dir).filter((f) => f.startsWith("mlflow-gc-"))).toEqual([]);
    } finally {
      // Should the script leave it behind, the stubborn server must not outlive the test.
      if (serverPid !== undefined && alive(serverPid)) process.kill(serverPid, "SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an unexpected error (here: a setting that is not a number) is a failure with the marker line", () => {
    const { status, output } = runGc({ MLFLOW_GC_SERVER_START_SECONDS: "soon" });
    expect(status).toBe(1);
    expect(output.split("\n").filter((l) => l.startsWith(`${GC_ERROR_MARKER}: ValueError`))).toHaveLength(1);
  });

  test("a run that succeeds writes no marker line", () => {
    const { status, output } = runGc();
    expect(status).toBe(0);
    expect(output).not.toContain(GC_ERROR_MARKER);
  });
});
