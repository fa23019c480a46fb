// Day-2 operations on the VM: the gc service and timer (rendered, checked by systemd-analyze
// verify, wired into the startup script), MLflow's /metrics (--expose-prometheus with a
// RuntimeDirectory, the pinned exporter), and the Ops Agent (pinned install, its config.yaml
// parsed and checked, failures that never stop the server).
import { spawnSync } from "child_process";
import {
  LOGGED_UNITS, OPS_AGENT_PASSWORD_FILE, OPS_AGENT_VERSION, renderGcTimer, renderGcUnit, renderMlflowUnit, renderOpsAgentConfig,
  renderStartupScript, StartupScriptOptions,
} from "../lib/startup-script";
import { PINNED_PYTHON_PACKAGES } from "../lib/server-runtime";
import { readTemplate } from "../lib/template";
import { SCRIPT_OPTIONS, parseYaml, synthStack, tool, verifyUnits, vmScript } from "./helpers";

/** `KEY=value` lines of a unit's Environment=. */
const unitEnv = (unit: string) => Object.fromEntries([...unit.matchAll(/^Environment=([A-Za-z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
/** Every `Key=value` line of a unit, in order. */
const settings = (unit: string) => unit.split("\n").filter((l) => /^[A-Z][A-Za-z]+=/.test(l));
/** The value of a shell variable assigned in the rendered script, unquoted by bash. */
function scriptValue(script: string, name: string): string {
  const assignments = script.slice(0, script.indexOf("# ---- fixed layout"));
  const result = spawnSync("bash", ["-c", `${assignments}\nprintf '%s' "$${name}"`], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout;
}

describe("mlflow-gc.service", () => {
  const unit = renderGcUnit(SCRIPT_OPTIONS);
  test("one run of the gc helper as the mlflow user, with the server's environment file", () => {
    expect(settings(unit)).toEqual(expect.arrayContaining([
      "Type=oneshot", "User=mlflow", "Group=mlflow", "EnvironmentFile=/etc/mlflow/mlflow.env",
      "ExecStart=/opt/mlflow/venv/bin/python /opt/mlflow/bin/mlflow-gc.py", "TimeoutStartSec=6h",
    ]));
    // A failure must not restart anything or pull the server down.
    expect(unit).not.toMatch(/^(Restart|Requires|BindsTo|PartOf|OnFailure)=/m);
    expect(unit).toMatch(/^After=network-online.target mlflow.service$/m);
    expect(unit).not.toMatch(/\[Install\]/);
  });
  test("its settings: --older-than, the artifacts destination, pools sized like a server's; no secret", () => {
    expect(unitEnv(renderGcUnit({ ...SCRIPT_OPTIONS, gcOlderThan: "7d", poolSize: 3, maxOverflow: 1 }))).toEqual({
      MLFLOW_DISABLE_TELEMETRY: "true",
      MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "3",
      MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "1",
      MLFLOW_GC_OLDER_THAN: "7d",
      MLFLOW_GC_ARTIFACTS_DESTINATION: "gs://acme-ml-prod-mlflow-artifacts/mlartifacts",
      TMPDIR: "/var/tmp",
    });
    expect(unitEnv(unit).MLFLOW_GC_OLDER_THAN).toBe("30d");
    expect(settings(unit).join("\n")).not.toMatch(/postgresql|password/i);
  });
  test("the same hardening as mlflow.service", () => {
    const hardening = (u: string) => settings(u).filter((l) => /^(No|Private|Protect|Restrict|Lock|Capability)/.test(l));
    expect(hardening(unit)).toEqual(hardening(renderMlflowUnit(SCRIPT_OPTIONS)));
    expect(hardening(unit)).toHaveLength(17);
  });
  test("a value that cannot go into a unit line is refused", () => {
    expect(() => renderGcUnit({ ...SCRIPT_OPTIONS, artifactsDestination: "gs://b/x y" })).toThrow(/renderGcUnit: .* cannot go into a systemd unit line/);
  });
});

describe("mlflow-gc.timer", () => {
  test("the schedule as a calendar event in UTC; missed runs caught up; a small random delay", () => {
    const timer = renderGcTimer({ gcSchedule: "30 2 * * 0" });
    expect(settings(timer)).toEqual([
      "Description=MLflow garbage collection schedule (cdktf-mlflow-gcp)",
      "OnCalendar=Sun *-*-* 02:30:00 UTC",
      "Persistent=true",
      "RandomizedDelaySec=5min",
      "WantedBy=timers.target",
    ]);
    expect(renderGcTimer({})).toMatch(/^OnCalendar=\*-\*-\* 04:00:00 UTC$/m);
  });

  test.each([
    ["default", SCRIPT_OPTIONS],
    ["weekdays, no basic auth", { ...SCRIPT_OPTIONS, basicAuth: false, adminPasswordSecret: undefined, flaskSecretKeySecret: undefined, gcSchedule: "15 1 * * 1-5" }],
    ["quarterly", { ...SCRIPT_OPTIONS, gcSchedule: "0 3 1 */3 *", gcOlderThan: "90d" }],
  ] as Array<[string, StartupScriptOptions]>)("%s: systemd-analyze verify accepts the server, gc and timer units with no warning", (_name, options) => {
    if (!tool("systemd-analyze", "systemd")) return;
    expect(verifyUnits({
      "mlflow.service": renderMlflowUnit(options),
      "mlflow-gc.service": renderGcUnit(options),
      "mlflow-gc.timer": renderGcTimer(options),
    })).toEqual({ output: "", status: 0 });
  });

  test("the verify check can fail: a bad calendar event is reported", () => {
    if (!tool("systemd-analyze", "systemd")) return;
    const badCalendar = renderGcTimer({}).replace(/^OnCalendar=.*$/m, "OnCalendar=*-*-* *:*/15:00");
    expect(verifyUnits({ "mlflow-gc.service": renderGcUnit(SCRIPT_OPTIONS), "mlflow-gc.timer": badCalendar }).output)
      .toMatch(/Failed to parse calendar specification/);
  });
});

describe("MLflow's metrics", () => {
  const unit = renderMlflowUnit(SCRIPT_OPTIONS);
  test("--expose-prometheus in a directory systemd creates empty at each start", () => {
    expect(/^ExecStart=(.*)$/m.exec(unit)![1]).toContain(" --expose-prometheus /run/mlflow-metrics ");
    expect(unit).toMatch(/^RuntimeDirectory=mlflow-metrics$/m);
  });
  test("the exporter is installed pinned next to MLflow (it is only in mlflow[extras])", () => {
    expect(PINNED_PYTHON_PACKAGES["prometheus-flask-exporter"]).toBe("0.23.2");
  });
});

describe("the Ops Agent's configuration", () => {
  const config = parseYaml(renderOpsAgentConfig(SCRIPT_OPTIONS));
  test("the journal, of MLflow's units only", () => {
    expect(config.logging.receivers).toEqual({ mlflow_journal: { type: "systemd_journald" } });
    expect(config.logging.service.pipelines).toEqual({ mlflow: { receivers: ["mlflow_journal"], processors: ["mlflow_units_only"] } });
    expect(config.logging.processors.mlflow_units_only.type).toBe("exclude_logs");
    const [filter] = config.logging.processors.mlflow_units_only.match_any;
    expect(filter).toBe(`NOT (${LOGGED_UNITS.flatMap((u) => [`jsonPayload._SYSTEMD_UNIT = "${u}"`, `jsonPayload.UNIT = "${u}"`]).join(" OR ")})`);
    expect(LOGGED_UNITS).toEqual(["mlflow.service", "mlflow-gc.service", "caddy.service", "google-startup-scripts.service"]);
  });
  test("MLflow's /metrics on loopback every minute as job \"mlflow\", as the admin with a password file", () => {
    expect(config.metrics.service.pipelines).toEqual({ mlflow: { receivers: ["mlflow_prometheus"] } });
    expect(config.metrics.receivers.mlflow_prometheus).toEqual({
      type: "prometheus",
      config: {
        scrape_configs: [{
          job_name: "mlflow",
          scrape_interval: "60s",
          scrape_timeout: "10s",
          metrics_path: "/metrics",
          static_configs: [{ targets: ["127.0.0.1:5000"] }],
          basic_auth: { username: "admin", password_file: OPS_AGENT_PASSWORD_FILE },
        }],
      },
    });
  });
  test("without basic auth, no credentials; another port is followed", () => {
    const scrape = parseYaml(renderOpsAgentConfig({ ...SCRIPT_OPTIONS, basicAuth: false, port: 8080 })).metrics.receivers.mlflow_prometheus.config.scrape_configs[0];
    expect(scrape.basic_auth).toBeUndefined();
    expect(scrape.static_configs).toEqual([{ targets: ["127.0.0.1:8080"] }]);
  });
  test("no `$` anywhere (the agent's collector reads it as an environment variable)", () => {
    expect(renderOpsAgentConfig(SCRIPT_OPTIONS)).not.toContain("$");
  });
});

describe("the startup script runs gc and the Ops Agent", () => {
  const script = renderStartupScript(SCRIPT_OPTIONS);
  const main = script.slice(script.indexOf("main() {"));
  test("the gc helper, unit and timer are embedded as rendered", () => {
    expect(scriptValue(script, "GC_SCRIPT")).toBe(readTemplate("mlflow-gc.py").trimEnd());
    expect(scriptValue(script, "GC_UNIT")).toBe(renderGcUnit(SCRIPT_OPTIONS).trimEnd());
    expect(scriptValue(script, "GC_TIMER")).toBe(renderGcTimer(SCRIPT_OPTIONS).trimEnd());
    expect(scriptValue(script, "OPS_AGENT_CONFIG")).toBe(renderOpsAgentConfig(SCRIPT_OPTIONS).trimEnd());
  });
  test("gc files never restart the server; the timer is enabled after daemon-reload, independently of the server", () => {
    expect(main).toMatch(/CONFIG_CHANGED=0\n\s+write_file "\$GC_FILE" 0644 "\$GC_SCRIPT"\n\s+write_file "\$GC_UNIT_FILE" 0644 "\$GC_UNIT"\n\s+write_file "\$GC_TIMER_FILE" 0644 "\$GC_TIMER"\n\s+gc_changed=\$CONFIG_CHANGED\n\s+CONFIG_CHANGED=\$server_changed/);
    expect(main.indexOf("systemctl daemon-reload")).toBeLessThan(main.indexOf("systemctl enable mlflow-gc.timer"));
    expect(main).toContain("if ((gc_changed)); then\n    systemctl restart mlflow-gc.timer\n  else\n    systemctl start mlflow-gc.timer");
    // A new MLflow version: a running gc of the old one is stopped before the migration.
    const stopGc = "if ((VENV_CHANGED)); then\n      systemctl stop mlflow-gc.timer\n      systemctl stop mlflow-gc.service\n    fi";
    expect(main).toContain(stopGc);
    expect(main.indexOf(stopGc)).toBeLessThan(main.indexOf("systemctl stop mlflow.service"));
  });
  test("the Ops Agent: pinned, from Google's repository script over HTTPS, with retries", () => {
    expect(scriptValue(script, "OPS_AGENT_VERSION")).toBe(OPS_AGENT_VERSION);
    expect(OPS_AGENT_VERSION).toBe("2.70.0");
    expect(scriptValue(script, "OPS_AGENT_REPO_SCRIPT_URL")).toBe("https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh");
    expect(script).toContain('curl -fsSL -o "$script" "$OPS_AGENT_REPO_SCRIPT_URL"');
    expect(script).toContain('bash "$script" --also-install --version="$OPS_AGENT_VERSION"');
    expect(script.match(/retry "\$INSTALL_ATTEMPTS" "\$INSTALL_RETRY_SECONDS" "(download of the Ops Agent's repository script|Ops Agent installation)"/g)).toHaveLength(2);
    // Installed once: a reboot finds the pinned version (Debian versions carry a suffix).
    expect(script).toContain('"$OPS_AGENT_VERSION" | "$OPS_AGENT_VERSION"[!0-9]*) return 0 ;;');
  });
  test("its configuration after the package, the password root-only, restarted only on a change", () => {
    const configure = script.slice(script.indexOf("configure_ops_agent() {"), script.indexOf("main() {"));
    expect(configure.indexOf("install_ops_agent || return 1")).toBeLessThan(configure.indexOf('write_file "$OPS_AGENT_CONFIG_FILE"'));
    expect(configure).toContain('write_file "$OPS_AGENT_PASSWORD_FILE" 0600 "$admin_password"');
    expect(configure).toContain('write_file "$OPS_AGENT_CONFIG_FILE" 0644 "$OPS_AGENT_CONFIG"');
    expect(configure).toContain("if ((changed || OPS_AGENT_INSTALLED)); then");
    expect(scriptValue(script, "OPS_AGENT_PASSWORD_FILE")).toBe(OPS_AGENT_PASSWORD_FILE);
  });
  test("a failed agent never stops the server: configured after the server starts, failure only logged", () => {
    expect(main.indexOf("systemctl start --no-block mlflow.service")).toBeLessThan(main.indexOf('configure_ops_agent "$admin_password"'));
    expect(main.indexOf('configure_ops_agent "$admin_password"')).toBeLessThan(main.indexOf('curl -fs -o /dev/null --max-time 5 "http://127.0.0.1:$MLFLOW_PORT/health"'));
    expect(main).toContain('configure_ops_agent "$admin_password" ||\n    log "WARNING: the Ops Agent is not running');
  });
});

describe("in the synthesized stack", () => {
  test("operations.gcSchedule and gcOlderThan reach the VM's timer and gc unit", () => {
    const script = vmScript(synthStack({ operations: { gcSchedule: "30 2 * * 0", gcOlderThan: "7d" } }).json);
    expect(scriptValue(script.replace(/\$\{[^}]+\}/g, "x"), "GC_TIMER")).toMatch(/^OnCalendar=Sun \*-\*-\* 02:30:00 UTC$/m);
    expect(scriptValue(script.replace(/\$\{[^}]+\}/g, "x"), "GC_UNIT")).toMatch(/^Environment=MLFLOW_GC_OLDER_THAN=7d$/m);
  });
  test("the gc unit's pools are the server's, chosen by the connection budget", () => {
    const { stack, json } = synthStack({ server: { workers: 4 } });
    const plan = (stack.server as any).connectionPlan;
    const gcUnit = scriptValue(vmScript(json).replace(/\$\{[^}]+\}/g, "x"), "GC_UNIT");
    expect(unitEnv(gcUnit).MLFLOW_SQLALCHEMYSTORE_POOL_SIZE).toBe(String(plan.poolSize));
    expect(unitEnv(gcUnit).MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW).toBe(String(plan.maxOverflow));
  });
});
