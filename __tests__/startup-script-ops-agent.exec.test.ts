// Google's Ops Agent on the VM, executed: installed at the pinned version by its repository
// script (a stand-in of the one Google serves, script-harness/ops-agent/), configured to
// scrape MLflow's /metrics as the admin with the password in a root-only file, restarted only
// when needed, and never stopping the server when it cannot be installed; and MLflow's
// /metrics itself (--expose-prometheus in a RuntimeDirectory=). gc is in
// startup-script-operations.exec.test.ts. Run with `npm run test:script` (see
// startup-script.exec.test.ts for the harness).
import { OPS_AGENT_VERSION } from "../lib";
import { METRICS_DIR, OPS_AGENT_REPO_SCRIPT_URL } from "../lib/startup-script";
import {
  after, bootedVm, byScript, describeVm, events, expectConfigFiles, expectNoSecretInLogs, expectServing, last, NO_AUTH,
  OPS_AGENT_CONFIG, OPS_AGENT_PASSWORD_FILE, options, runScript, serverEvents,
} from "./script-harness/exec-helpers";
import { Call, FakeVm } from "./script-harness/vm";

const AGENT = "google-cloud-ops-agent";

/** The first successful scrape since `mark` (by the collector process `pid`, when given). */
async function scrapedUp(vm: FakeVm, mark: number, pid?: number): Promise<Call> {
  const up = (): Call | undefined => events(after(vm.calls(), mark), "ops agent scrape").find((c) => c.up && (pid === undefined || c.pid === pid));
  await vm.waitFor(() => up() !== undefined, 30, "a successful scrape of /metrics");
  return up()!;
}
/**
 * The record of the metrics collector that runs now (its unit's current activation, by
 * INVOCATION_ID): the script's `systemctl restart` of the agent waits for the agent's own job,
 * not for the subagents it wants, so this waits for it.
 */
async function runningCollector(vm: FakeVm): Promise<Call> {
  const unit = `${AGENT}-opentelemetry-collector.service`;
  for (let attempt = 0; attempt < 300; attempt++) {
    const id = (await vm.sh(`FAKE_CALLER=test systemctl show -p InvocationID --value ${unit}`)).output.trim();
    const record = id ? events(vm.calls(), "ops agent collector").find((c) => c.invocation === id) : undefined;
    if (record) return record;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no record of the running collector; journal:\n${vm.journal().slice(-3000)}`);
}
const installs = (calls: Call[]): string[][] => calls.filter((c) => c.caller === "ops-agent-repo" && c.cmd === "apt-get" && c.argv.includes("install")
  && c.argv.some((a) => a.startsWith(AGENT))).map((c) => c.argv);
const agentRestarts = (calls: Call[]): string[][] => byScript(calls, "systemctl").filter((argv) => argv.includes(AGENT));

describeVm("the Ops Agent", () => {
  test("first boot installs the pinned version from Google's repository, configures the /metrics scrape (admin, root-only password file) and restarts it once; the agent scrapes MLflow; a reboot neither reinstalls nor restarts it", async () => {
    const opts = options();
    const t = await bootedVm();
    const { vm } = t;
    const result = await runScript(vm, opts);
    let calls = vm.calls();
    expect(result.output).toContain(`mlflow-startup: installing Google Cloud Ops Agent ${OPS_AGENT_VERSION}\n`);
    expect(byScript(calls, "curl").filter((argv) => argv.includes(OPS_AGENT_REPO_SCRIPT_URL))).toEqual([
      ["-fsSL", "-o", expect.stringMatching(/^\/tmp\/add-google-cloud-ops-agent-repo\.\w+\.sh$/), OPS_AGENT_REPO_SCRIPT_URL],
    ]);
    // The repository script added Google's repository and installed exactly the pinned version.
    expect(vm.read("/etc/apt/sources.list.d/google-cloud-ops-agent.list")).toBe("deb https://packages.cloud.google.com/apt google-cloud-ops-agent-bookworm-all main\n");
    expect(installs(calls)).toEqual([["-y", "--allow-downgrades", "install", `${AGENT}=${OPS_AGENT_VERSION}~*`]]);
    expect(vm.read("/var/lib/fake-dpkg/versions")).toContain(`${AGENT} ${OPS_AGENT_VERSION}~debian12\n`);
    expect(result.output).not.toContain("WARNING");
    // Its files: config.yaml as rendered, the admin password root-only (expectConfigFiles);
    // started by the package, restarted once by the script with that configuration.
    expectConfigFiles(vm, opts);
    expect(calls.filter((c) => c.caller === "dpkg" && c.cmd === "systemctl").map((c) => c.argv)).toEqual([
      ["daemon-reload"], ["enable", `${AGENT}.service`], ["start", `${AGENT}.service`],
    ]);
    expect(agentRestarts(calls)).toEqual([["restart", AGENT]]);
    expect(result.output.indexOf(`wrote ${OPS_AGENT_CONFIG}`)).toBeLessThan(result.output.indexOf("restarting the Ops Agent"));
    expect(await vm.unitState(`${AGENT}.service`)).toBe("active");
    // The collector runs with the scrape job and scrapes MLflow's /metrics as the admin.
    const collector = await runningCollector(vm);
    expect(collector.jobs).toEqual([{
      job_name: "mlflow", targets: [`127.0.0.1:${opts.port}`], metrics_path: "/metrics", scrape_interval: "60s", scrape_timeout: "10s",
      basic_auth: { username: "admin", password_file: OPS_AGENT_PASSWORD_FILE },
    }]);
    const scrape = await scrapedUp(vm, 0, collector.pid);
    expect(scrape).toMatchObject({ job: "mlflow", target: `127.0.0.1:${opts.port}`, status: 200, metrics: expect.arrayContaining(["mlflow_exporter_info"]) });
    // Without the credentials /metrics refuses.
    const anonymous = await vm.sh(`curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${opts.port}/metrics`);
    expect(anonymous.output).toBe("401");

    await vm.powerOff();
    const mark = vm.calls().length;
    await vm.boot();
    const reboot = await runScript(vm, opts);
    calls = after(vm.calls(), mark);
    expect(reboot.output).not.toContain("Ops Agent");
    expect(calls.filter((c) => c.caller === "ops-agent-repo")).toEqual([]);
    expect(byScript(calls, "curl").filter((argv) => argv.includes(OPS_AGENT_REPO_SCRIPT_URL))).toEqual([]);
    expect(byScript(calls, "dpkg-query")).toContainEqual(["-W", "-f=${Version}", AGENT]);
    expect(agentRestarts(calls)).toEqual([]);
    // systemd started it at boot (enabled by its package); it scrapes again.
    expect(calls.filter((c) => c.caller === "boot" && c.cmd === "systemctl").map((c) => c.argv)).toContainEqual(["start", "--no-block", `${AGENT}.service`]);
    await scrapedUp(vm, mark);
    expectNoSecretInLogs(vm);
  });

  test("basic auth turned off: the password file goes, the new configuration (no credentials) restarts the agent, which scrapes without them", async () => {
    const before = options();
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, before);
    const opts = { ...before, ...NO_AUTH };
    const mark = vm.calls().length;
    await runScript(vm, opts);
    const calls = after(vm.calls(), mark);
    expectConfigFiles(vm, opts);
    expect(vm.exists(OPS_AGENT_PASSWORD_FILE)).toBe(false);
    expect(installs(calls)).toEqual([]);
    expect(agentRestarts(calls)).toEqual([["restart", AGENT]]);
    const collector = await runningCollector(vm);
    expect(collector.jobs[0].basic_auth).toBeNull();
    expect(await scrapedUp(vm, mark, collector.pid)).toMatchObject({ status: 200 });
    expectNoSecretInLogs(vm);
  });

  test("an image with another version of the agent: the pinned one replaces it (a downgrade here) and the package restarts it", async () => {
    const t = await bootedVm();
    const { vm } = t;
    // As an earlier installation left it: the repository script with another version.
    const earlier = await vm.sh(`curl -fsSL -o /tmp/repo.sh ${OPS_AGENT_REPO_SCRIPT_URL} && bash /tmp/repo.sh --also-install --version=2.71.0 2>&1`);
    expect(earlier.code).toBe(0);
    expect(vm.read("/var/lib/fake-dpkg/versions")).toContain(`${AGENT} 2.71.0~debian12\n`);
    const opts = options();
    const mark = vm.calls().length;
    const result = await runScript(vm, opts);
    const calls = after(vm.calls(), mark);
    expect(result.output).toContain(`mlflow-startup: installing Google Cloud Ops Agent ${OPS_AGENT_VERSION} (replacing 2.71.0~debian12)`);
    expect(installs(calls)).toEqual([["-y", "--allow-downgrades", "install", `${AGENT}=${OPS_AGENT_VERSION}~*`]]);
    expect(vm.read("/var/lib/fake-dpkg/versions")).toContain(`${AGENT} ${OPS_AGENT_VERSION}~debian12\n`);
    expect(vm.read("/var/lib/fake-dpkg/versions")).not.toContain("2.71.0");
    expect(calls.filter((c) => c.caller === "dpkg" && c.cmd === "systemctl").map((c) => c.argv)).toEqual([
      ["daemon-reload"], ["restart", `${AGENT}.service`],
    ]);
    expect(agentRestarts(calls)).toEqual([["restart", AGENT]]);
    await scrapedUp(vm, mark);
    expectNoSecretInLogs(vm);
  });

  test.each([
    ["the repository script cannot be downloaded", "ops-agent-script-down", "download of the Ops Agent's repository script failed (attempt 6 of 7)",
      `mlflow-startup: ERROR: cannot download ${OPS_AGENT_REPO_SCRIPT_URL}: is the internet reachable`],
    ["Google's package repository is unreachable", "google-packages-down", "Ops Agent installation failed (attempt 6 of 7)",
      `mlflow-startup: ERROR: the Ops Agent ${OPS_AGENT_VERSION} could not be installed`],
  ])("%s: the script logs the WARNING and finishes; the server serves, unconfigured agent aside", async (_name, control, retried, error) => {
    const opts = options();
    const t = await bootedVm();
    const { vm } = t;
    vm.control(control, true);
    const result = await runScript(vm, opts);
    expect(result.output).toContain(`mlflow-startup: ${retried}`);
    expect(result.output).toContain(error);
    expect(result.output).toContain("mlflow-startup: WARNING: the Ops Agent is not running with MLflow's configuration: no logs or metrics reach Cloud Monitoring (the health alert fires); the server itself is unaffected");
    expect(result.output.indexOf("WARNING")).toBeLessThan(result.output.indexOf("MLflow is healthy"));
    expect(vm.read("/var/lib/fake-dpkg/installed")).not.toContain(AGENT);
    expect(vm.exists(OPS_AGENT_CONFIG)).toBe(false);
    expect(vm.exists(OPS_AGENT_PASSWORD_FILE)).toBe(false);
    // Google's repository is not left behind to fail a later boot's apt-get update.
    expect(vm.exists("/etc/apt/sources.list.d/google-cloud-ops-agent.list")).toBe(false);
    expect((await vm.sh("ls /tmp/add-google-cloud-ops-agent-repo.* 2>/dev/null | wc -l")).output.trim()).toBe("0");
    await expectServing(t, opts, opts.mlflowVersion);
    expectNoSecretInLogs(vm);
  });
});

describeVm("MLflow's /metrics (--expose-prometheus DIR, RuntimeDirectory=)", () => {
  /** /metrics as the Ops Agent asks for it: the admin, the password read from the agent's root-only file. */
  async function metrics(vm: FakeVm, port: number): Promise<string> {
    const get = await vm.sh(`/usr/bin/python3 -c '
import base64, sys, urllib.request
password = open("${OPS_AGENT_PASSWORD_FILE}").read().strip()
request = urllib.request.Request("http://127.0.0.1:${port}/metrics", headers={"Authorization": "Basic " + base64.b64encode(("admin:" + password).encode()).decode()})
sys.stdout.write(urllib.request.urlopen(request).read().decode())'`);
    expect(get.code).toBe(0);
    return get.output;
  }
  const listing = async (vm: FakeVm): Promise<string[]> => (await vm.sh(`stat -c '%U %a' ${METRICS_DIR} 2>&1 && ls ${METRICS_DIR}`)).output.trim().split("\n");

  test("the directory is the mlflow user's and holds one file per server process; /metrics adds them up; a restart starts it empty, a stop removes it", async () => {
    const opts = options();
    const t = await bootedVm();
    const { vm } = t;
    await runScript(vm, opts);
    let server = last(serverEvents(vm.calls(), "listening"));
    expect(server.argv).toEqual(expect.arrayContaining(["--expose-prometheus", METRICS_DIR]));
    expect(await listing(vm)).toEqual(["mlflow 755", ...server.worker_pids.map((p: number) => `counter_${p}.db`).sort()]);

    // Requests the exporter counts, spread over the processes (unauthenticated: 401), summed.
    const refused = await vm.sh(`for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{http_code} ' http://127.0.0.1:${opts.port}/api/2.0/mlflow/experiments/search; done`);
    expect(refused.output).toBe("401 401 401 401 401 ");
    expect(await metrics(vm, opts.port)).toContain('mlflow_http_request_total{method="GET",status="401"} 5.0\n');

    // A restart: systemd empties the directory, the old processes' counts are gone.
    const mark = vm.calls().length;
    expect((await vm.sh("FAKE_CALLER=test systemctl restart mlflow.service")).code).toBe(0);
    await vm.waitFor(() => serverEvents(after(vm.calls(), mark), "listening").length === 1, 30, "the restarted server");
    server = last(serverEvents(vm.calls(), "listening"));
    expect(await listing(vm)).toEqual(["mlflow 755", ...server.worker_pids.map((p: number) => `counter_${p}.db`).sort()]);
    expect(await metrics(vm, opts.port)).not.toContain("mlflow_http_request_total{");

    expect((await vm.sh("FAKE_CALLER=test systemctl stop mlflow.service")).code).toBe(0);
    expect(await listing(vm)).toEqual([`stat: cannot statx '${METRICS_DIR}': No such file or directory`]);
    expectNoSecretInLogs(vm);
  });
});
