// The `operations` prop end to end: its validation (table-driven, bad and good values), gc on
// the Cloud Run kind (a GA job sharing the migration job's container spec, run by Cloud
// Scheduler as a least-privilege account), and MlflowOperations' alerting per kind and
// access mode (which signal, which threshold, which channels; monitoring never widens ingress).
import { Testing } from "cdktf";
import { Construct } from "constructs";
import {
  IMlflowServer, MlflowTrackingStack, MlflowTrackingStackProps, MlflowValidationError, MlflowOperations, MlflowUptimeCheckTarget,
} from "../lib";
import { escapeTerraformTemplate, readTemplate } from "../lib/template";
import { CADDY_UNIT, GC_UNIT, renderGcTimer, renderGcUnit, renderOpsAgentConfig } from "../lib/startup-script";
import { UNIT_FAILED_MESSAGE_ID } from "../constructs/operations";
import * as fs from "fs";
import { BASE_PROPS, SCRIPT_OPTIONS, TfJson, onlyResource, resourcesOf, synthStack, tool } from "./helpers";

const CLOUD_RUN = { server: { kind: "cloud-run" as const } };
const PUBLIC_PLAIN = { access: { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } };
const PUBLIC_LIMITED = { access: { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], domain: "mlflow.example.com" } };

function problemsOf(props: Partial<MlflowTrackingStackProps>): string[] {
  try {
    synthStack(props);
  } catch (e) {
    if (e instanceof MlflowValidationError) return e.problems.map((p) => `${p.path}: ${JSON.stringify(p.value)}: ${p.expected}`);
    throw e;
  }
  return [];
}

const policies = (json: TfJson) => Object.fromEntries(resourcesOf(json, "google_monitoring_alert_policy").map(([name, p]) => [name.split("_")[1], p]));
const conditionNames = (policy: any) => policy.conditions.map((c: any) => c.display_name);
/** The one condition of a policy on systemd's "Unit failed" entry about `unit` on the stack's VM. */
function unitFailedConditions(json: TfJson, unit: string, displayName: string): unknown[] {
  const [vm] = resourcesOf(json, "google_compute_instance").map(([name]) => name);
  return [{
    display_name: displayName,
    condition_matched_log: {
      filter: `resource.type = "gce_instance" AND resource.labels.instance_id = "\${google_compute_instance.${vm}.instance_id}"` +
        ` AND jsonPayload.MESSAGE_ID = "${UNIT_FAILED_MESSAGE_ID}" AND jsonPayload.UNIT = "${unit}"`,
    },
  }];
}

describe("operations: validation", () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ["gcSchedule", "*/15 * * * *", /^operations\.gcSchedule: .*minute: "\*\/15" is not one number/],
    ["gcSchedule", "0 4 1 * 1", /^operations\.gcSchedule: .*day of month and day of week are both set/],
    ["gcSchedule", "0 25 * * *", /^operations\.gcSchedule: .*hour: 25 is outside 0-23/],
    ["gcSchedule", "@daily", /^operations\.gcSchedule: .*shorthands/],
    ["gcSchedule", "0 4 * * MON", /^operations\.gcSchedule: .*names such as JAN or MON/],
    ["gcSchedule", 42, /^operations\.gcSchedule: 42: a string, not a number/],
    ["gcOlderThan", "", /^operations\.gcOlderThan: "": a duration in MLflow's "#d#h#m#s" format/],
    ["gcOlderThan", "30", /^operations\.gcOlderThan: "30"/],
    ["gcOlderThan", "30 days", /^operations\.gcOlderThan/],
    ["gcOlderThan", "1.2.3d", /^operations\.gcOlderThan/],
    ["gcOlderThan", "2h1d", /^operations\.gcOlderThan/],
    ["gcOlderThan", "-1d", /^operations\.gcOlderThan/],
    ["gcOlderThan", 30, /^operations\.gcOlderThan: 30/],
    ["uptimeCheck", "yes", /^operations\.uptimeCheck: "yes": a boolean \(true or false\), not a string/],
    ["uptimeCheck", 1, /^operations\.uptimeCheck: 1: a boolean \(true or false\), not a number/],
    ["backupBeforeUpgrade", "no", /^operations\.backupBeforeUpgrade: "no": a boolean \(true or false\), not a string/],
    ["alertEmails", "ml-oncall@example.com", /^operations\.alertEmails: "ml-oncall@example.com": a list of strings.*write \["ml-oncall@example.com"\] for one/],
    ["alertEmails", ["not-an-email"], /^operations\.alertEmails\[0\]: "not-an-email": an email address/],
    ["alertEmails", ["ada@example"], /^operations\.alertEmails\[0\]: "ada@example"/],
    ["alertEmails", ["ada lovelace@example.com"], /^operations\.alertEmails\[0\]/],
    ["alertEmails", ["ok@example.com", "OK@Example.com"], /^operations\.alertEmails\[1\]: "OK@Example.com": an address not already in the list/],
  ];
  test.each(bad)("operations.%s = %j is refused", (key, value, message) => {
    expect(problemsOf({ operations: { [key]: value } as never })).toEqual([expect.stringMatching(message)]);
  });

  test("the Cloud Run kind checks the same way", () => {
    expect(problemsOf({ ...CLOUD_RUN, operations: { gcSchedule: "0 4 1 * 1", gcOlderThan: "a week" } })).toEqual([
      expect.stringMatching(/^operations\.gcSchedule: .*both set/),
      expect.stringMatching(/^operations\.gcOlderThan: "a week"/),
    ]);
  });

  test("not an object", () => {
    expect(problemsOf({ operations: "daily" as never })).toEqual([expect.stringMatching(/^operations: "daily": an object/)]);
  });

  test("every problem in one error", () => {
    expect(problemsOf({ operations: { gcSchedule: "daily", gcOlderThan: "soon", uptimeCheck: "on" as never, alertEmails: ["x"] } })).toHaveLength(4);
  });

  const good: Array<Partial<MlflowTrackingStackProps>> = [
    { operations: { gcSchedule: "30 2 * * 0", gcOlderThan: "1.5d", uptimeCheck: false, alertEmails: ["ml-oncall@example.com", "ada.lovelace+mlflow@example.co.uk"] } },
    { operations: { gcSchedule: "0 */6 * * 1-5", gcOlderThan: "12h30m" } },
    { operations: { gcOlderThan: "0s", alertEmails: [] } },
    { operations: {} },
    { ...CLOUD_RUN, operations: { gcSchedule: "15 3 1,15 * *", alertEmails: ["ml-oncall@example.com"] } },
  ];
  test.each(good)("%j is accepted", (props) => {
    expect(problemsOf(props)).toEqual([]);
  });

  test("defaults are exposed on the server", () => {
    const server = synthStack().stack.server as any;
    expect([server.gcSchedule, server.gcOlderThan]).toEqual(["0 4 * * *", "30d"]);
  });

  test("MlflowOperations checks its own props when used alone", () => {
    const stack = synthStack().stack;
    expect(() => new MlflowOperations(stack, "More", {
      projectId: "acme-ml-prod", region: "europe-west1", server: stack.server, database: stack.database, alertEmails: ["nope"],
    })).toThrow(/operations\.alertEmails\[0\]: "nope" is not valid; expected an email address/);
  });
});

describe("gc on Cloud Run: a job and Cloud Scheduler", () => {
  const { json, stack } = synthStack(CLOUD_RUN);
  const jobs = json.resource.google_cloud_run_v2_job;
  const gcName = Object.keys(jobs).find((k) => k.startsWith("Server_GcJob_"))!;
  const gc = jobs[gcName];
  const migration = jobs.Server_MigrationJob_AC0AF56A;
  const envOf = (job: any) => Object.fromEntries(job.template.template.containers[0].env.map((e: any) => [e.name, e.value ?? e.value_source]));

  test("a GA job (default provider) with the migration job's image, launcher, egress and identity", () => {
    expect(gc.provider).toBeUndefined();
    expect(gc).toMatchObject({ name: "mlflow-gc", location: "europe-west1", deletion_protection: true });
    const task = gc.template.template;
    for (const key of ["service_account", "vpc_access"]) expect(task[key]).toEqual(migration.template.template[key]);
    // As long as the VM's gc unit may run (TimeoutStartSec=6h); the migration keeps its hour.
    expect([task.timeout, migration.template.template.timeout]).toEqual(["21600s", "3600s"]);
    const [c, m] = [task.containers[0], migration.template.template.containers[0]];
    expect(c.name).toBe("gc");
    for (const key of ["image", "command", "resources"]) expect(c[key]).toEqual(m[key]);
    expect(c.args).toEqual(["python", "-c", escapeTerraformTemplate(readTemplate("mlflow-gc.py"))]);
    // Not retried: the next scheduled run is the retry, and a retry could overlap it.
    expect(task.max_retries).toBe(0);
  });
  test("its environment: the database (password as a Secret Manager reference), no admin password, gc settings, the server's pools", () => {
    const env = envOf(gc);
    expect(env.DB_PASSWORD).toEqual({ secret_key_ref: { secret: "mlflow-db-password", version: "latest" } });
    expect(env.MLFLOW_ADMIN_PASSWORD).toBeUndefined();
    const plan = (stack.server as any).connectionPlan;
    expect(env).toMatchObject({
      MLFLOW_GC_OLDER_THAN: "30d",
      MLFLOW_GC_ARTIFACTS_DESTINATION: "gs://${google_storage_bucket.ArtifactStore_8A81FDFB.name}/mlartifacts",
      MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: String(plan.poolSize),
      MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: String(plan.maxOverflow),
      MLFLOW_DISABLE_TELEMETRY: "true",
    });
    for (const [name, value] of Object.entries(env)) if (typeof value === "string") expect(`${name}=${value}`).not.toMatch(/random_password|secret_data/);
  });
  test("Cloud Scheduler calls the Cloud Run Admin API's jobs.run, in UTC, as its own account", () => {
    const scheduler = onlyResource(json, "google_cloud_scheduler_job");
    expect(scheduler).toMatchObject({
      name: "mlflow-gc",
      region: "europe-west1",
      schedule: "0 4 * * *",
      time_zone: "Etc/UTC",
      http_target: {
        http_method: "POST",
        uri: `https://run.googleapis.com/v2/projects/acme-ml-prod/locations/europe-west1/jobs/\${google_cloud_run_v2_job.${gcName}.name}:run`,
        oauth_token: { service_account_email: "${google_service_account.Server_GcInvoker_8051883D.email}", scope: "https://www.googleapis.com/auth/cloud-platform" },
      },
    });
    expect(scheduler.http_target.oidc_token).toBeUndefined();
    expect(scheduler.depends_on).toContain("google_cloud_run_v2_job_iam_member.Server_GcInvokerRole_2BCC78D9");
  });
  test("the scheduler's account may run this job and nothing else", () => {
    const invoker = json.resource.google_service_account.Server_GcInvoker_8051883D;
    expect(invoker.account_id).toBe("mlflow-gc-sched");
    expect(onlyResource(json, "google_cloud_run_v2_job_iam_member")).toMatchObject({
      name: `\${google_cloud_run_v2_job.${gcName}.name}`, location: "europe-west1", role: "roles/run.invoker",
      member: "serviceAccount:${google_service_account.Server_GcInvoker_8051883D.email}",
    });
    const grants = JSON.stringify([json.resource.google_project_iam_member, json.resource.google_cloud_run_v2_service_iam_member,
      json.resource.google_secret_manager_secret_iam_member, json.resource.google_storage_bucket_iam_member]);
    expect(grants).not.toContain("Server_GcInvoker");
  });
  test("the longest name prefix still gives a valid service account id (at most 30 characters)", () => {
    const prefix = "abcdefghij-klmnopqrs"; // 20, the maximum
    const id = synthStack({ ...CLOUD_RUN, namePrefix: prefix }).json.resource.google_service_account;
    const invokerId = Object.values<any>(id).map((a) => a.account_id).find((a) => a.endsWith("-gc-sched"));
    expect(invokerId).toBe(`${prefix}-gc-sched`);
    expect(invokerId.length).toBeLessThanOrEqual(30);
  });
  test.each([
    ["0 * * * *", "1 h"], ["0 */4 * * *", "4 h"], ["0 2,22 * * *", "4 h"],
  ])("a schedule denser than the 6-hour task timeout (%s) warns that runs can overlap", (gcSchedule, closest) => {
    const { stack } = synthStack({ ...CLOUD_RUN, operations: { gcSchedule } });
    const warnings = stack.server.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));
    expect(warnings).toEqual([expect.stringContaining(`operations.gcSchedule "${gcSchedule}" starts gc as little as ${closest} after the previous run`)]);
  });

  test("no overlap warning for runs 6 hours or more apart, nor on the VM (its timer never starts a second run)", () => {
    const warns = (props: Partial<MlflowTrackingStackProps>) =>
      synthStack(props).stack.server.node.metadata.filter((m) => m.type === "@cdktf/warn");
    for (const gcSchedule of ["0 4 * * *", "15 */6 * * *", "0 4,16 * * *"]) expect(warns({ ...CLOUD_RUN, operations: { gcSchedule } })).toEqual([]);
    expect(warns({ operations: { gcSchedule: "0 * * * *" } })).toEqual([]);
  });

  test("the schedule, --older-than and deletion protection follow the props", () => {
    const custom = synthStack({ server: { kind: "cloud-run", deletionProtection: false }, operations: { gcSchedule: "30 2 * * 0", gcOlderThan: "7d" } }).json;
    expect(onlyResource(custom, "google_cloud_scheduler_job").schedule).toBe("30 2 * * 0");
    const customGc = Object.entries<any>(custom.resource.google_cloud_run_v2_job).find(([k]) => k.startsWith("Server_GcJob_"))![1];
    expect(envOf(customGc).MLFLOW_GC_OLDER_THAN).toBe("7d");
    expect(customGc.deletion_protection).toBe(false);
  });
  test("Cloud Scheduler and Monitoring APIs are enabled", () => {
    const apis = resourcesOf(json, "google_project_service").map(([, s]) => s.service);
    expect(apis).toEqual(expect.arrayContaining(["cloudscheduler.googleapis.com", "monitoring.googleapis.com"]));
    expect(resourcesOf(synthStack().json, "google_project_service").map(([, s]) => s.service)).not.toContain("cloudscheduler.googleapis.com");
  });
});

describe("alerting", () => {
  test("the VM: MLflow's health as the Ops Agent's scrape shows it, and the database; no channel by default", () => {
    const { json } = synthStack();
    const { HealthPolicy: health, DatabaseConnectionsPolicy: db } = policies(json);
    expect(Object.keys(policies(json)).sort()).toEqual(["DatabaseConnectionsPolicy", "GcFailurePolicy", "HealthPolicy"]);
    expect(json.resource.google_monitoring_notification_channel).toBeUndefined();
    expect(json.resource.google_monitoring_uptime_check_config).toBeUndefined();
    expect(health).toMatchObject({ combiner: "OR", severity: "CRITICAL", notification_channels: [], display_name: "MLflow (mlflow): server health" });
    const scrape = 'metric.type = "prometheus.googleapis.com/up/gauge" AND resource.type = "prometheus_target" AND resource.labels.job = "mlflow" AND metric.labels.instance_name = "mlflow-server"';
    const perJob = [{ alignment_period: "60s", per_series_aligner: "ALIGN_MEAN", cross_series_reducer: "REDUCE_MIN", group_by_fields: ["resource.label.job"] }];
    expect(health.conditions[0].condition_threshold).toEqual({
      filter: scrape, aggregations: perJob, comparison: "COMPARISON_LT", threshold_value: 1, duration: "300s", trigger: { count: 1 },
    });
    expect(health.conditions[1].condition_absent).toEqual({ filter: scrape, aggregations: perJob, duration: "300s", trigger: { count: 1 } });
    expect(health.conditions[2].condition_threshold).toMatchObject({
      filter: expect.stringContaining('metric.type = "prometheus.googleapis.com/mlflow_http_request_total/counter"'),
      comparison: "COMPARISON_GT", threshold_value: 10, duration: "0s",
    });
    expect(health.conditions[2].condition_threshold.filter).toContain('metric.labels.status = monitoring.regex.full_match("5[0-9][0-9]")');
    expect(db).toMatchObject({ severity: "WARNING", combiner: "OR" });
  });

  test("the database: summed connections above 80% of the max_connections the library sets", () => {
    const threshold = (props: Partial<MlflowTrackingStackProps>) => policies(synthStack(props).json).DatabaseConnectionsPolicy.conditions[0].condition_threshold;
    expect(threshold({})).toEqual({
      filter: 'metric.type = "cloudsql.googleapis.com/database/postgresql/num_backends" AND resource.type = "cloudsql_database" AND resource.labels.database_id = "acme-ml-prod:${google_sql_database_instance.Database_B269D8BB.name}"',
      aggregations: [{ alignment_period: "60s", per_series_aligner: "ALIGN_MAX", cross_series_reducer: "REDUCE_SUM", group_by_fields: ["resource.label.database_id"] }],
      comparison: "COMPARISON_GT",
      threshold_value: 40, // db-g1-small: max_connections 50
      duration: "300s",
      trigger: { count: 1 },
    });
    expect(threshold({ database: { tier: "db-custom-2-7680", maxConnections: 200 } }).threshold_value).toBe(160);
    expect(threshold({ ...CLOUD_RUN }).threshold_value).toBe(40);
  });

  test("Cloud Run: 5xx responses and no instance at all (minInstances >= 1), from the service's own metrics", () => {
    const health = policies(synthStack(CLOUD_RUN).json).HealthPolicy;
    expect(conditionNames(health)).toEqual(["MLflow answers with server errors", "No instance of the service is running"]);
    expect(health.conditions[0].condition_threshold).toEqual({
      filter: 'metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision" AND resource.labels.service_name = "mlflow-server" AND resource.labels.location = "europe-west1" AND metric.labels.response_code_class = "5xx"',
      aggregations: [{ alignment_period: "300s", per_series_aligner: "ALIGN_SUM", cross_series_reducer: "REDUCE_SUM", group_by_fields: ["resource.label.service_name"] }],
      comparison: "COMPARISON_GT", threshold_value: 10, duration: "0s", trigger: { count: 1 },
    });
    expect(health.conditions[1].condition_threshold).toEqual({
      filter: 'metric.type = "run.googleapis.com/container/instance_count" AND resource.type = "cloud_run_revision" AND resource.labels.service_name = "mlflow-server" AND resource.labels.location = "europe-west1"',
      aggregations: [{ alignment_period: "60s", per_series_aligner: "ALIGN_MAX", cross_series_reducer: "REDUCE_SUM", group_by_fields: ["resource.label.service_name"] }],
      comparison: "COMPARISON_LT", threshold_value: 1, duration: "300s", evaluation_missing_data: "EVALUATION_MISSING_DATA_ACTIVE", trigger: { count: 1 },
    });
    const scaleToZero = policies(synthStack({ server: { kind: "cloud-run", minInstances: 0 } }).json).HealthPolicy;
    expect(conditionNames(scaleToZero)).toEqual(["MLflow answers with server errors"]);
  });

  test("alertEmails: one email channel each, on every policy", () => {
    const { json } = synthStack({ ...PUBLIC_LIMITED, operations: { alertEmails: ["ml-oncall@example.com", "ada@example.com"] } });
    const channels = resourcesOf(json, "google_monitoring_notification_channel");
    expect(channels.map(([, c]) => [c.type, c.labels])).toEqual([
      ["email", { email_address: "ml-oncall@example.com" }], ["email", { email_address: "ada@example.com" }],
    ]);
    const names = channels.map(([n]) => `\${google_monitoring_notification_channel.${n}.name}`);
    const all = policies(json);
    expect(Object.keys(all).sort()).toEqual(["DatabaseConnectionsPolicy", "GcFailurePolicy", "HealthPolicy", "ProxyPolicy"]);
    for (const p of Object.values<any>(all)) expect(p.notification_channels).toEqual(names);
  });

  test("uptimeCheck: false drops health alerting, never the database and gc alerts", () => {
    for (const props of [{}, PUBLIC_LIMITED, CLOUD_RUN]) {
      const { json } = synthStack({ ...props, operations: { uptimeCheck: false } });
      expect(Object.keys(policies(json))).toEqual(["DatabaseConnectionsPolicy", "GcFailurePolicy"]);
    }
  });

  test("a VM with a domain: Caddy's unit failing on this VM, apart from MLflow's own health (CRITICAL)", () => {
    const { json, stack } = synthStack(PUBLIC_LIMITED);
    const proxy = policies(json).ProxyPolicy;
    expect(proxy).toMatchObject({
      severity: "CRITICAL", combiner: "OR", display_name: "MLflow (mlflow): HTTPS proxy caddy.service failed",
      alert_strategy: { notification_rate_limit: { period: "300s" }, auto_close: "86400s" },
    });
    expect(proxy.conditions).toEqual(unitFailedConditions(json, "caddy.service", "caddy.service failed"));
    expect(proxy.documentation.content).toContain("https://mlflow.example.com is down for its users");
    expect(stack.server.healthTarget).toMatchObject({ kind: "vm", proxy: { unit: CADDY_UNIT, url: "https://mlflow.example.com" } });
    // The unit the policy names is the one the startup script starts and the Ops Agent ships
    // (systemd's entries about it included).
    expect(readTemplate("startup-script.sh")).toContain(`systemctl start ${CADDY_UNIT}`);
    expect(renderOpsAgentConfig({ port: 5000, basicAuth: true })).toContain(`jsonPayload.UNIT = "${CADDY_UNIT}"`);
    // No Caddy, no policy: private mode, plain HTTP, Cloud Run; and none with health alerting off.
    for (const props of [{}, PUBLIC_PLAIN, CLOUD_RUN]) expect(policies(synthStack(props).json).ProxyPolicy).toBeUndefined();
    expect(policies(synthStack({ ...PUBLIC_LIMITED, operations: { uptimeCheck: false } }).json).ProxyPolicy).toBeUndefined();
  });

  describe("a failed scheduled gc", () => {
    // Log-match policies need a notification rate limit (provider 6.50.0 docs); one email an
    // hour at most, an incident a day.
    const strategy = { notification_rate_limit: { period: "3600s" }, auto_close: "86400s" };

    test("VM: systemd's \"Unit failed\" entry about mlflow-gc.service, from this VM", () => {
      const { json } = synthStack();
      const gc = policies(json).GcFailurePolicy;
      expect(gc).toMatchObject({ severity: "WARNING", combiner: "OR", display_name: "MLflow (mlflow): garbage collection failed", alert_strategy: strategy });
      expect(gc.conditions).toEqual(unitFailedConditions(json, "mlflow-gc.service", "mlflow-gc.service failed"));
      expect(gc.documentation.content).toContain("journalctl -u mlflow-gc.service");
    });

    test("VM: the unit, the Ops Agent and systemd agree with the filter", () => {
      // The unit the timer starts is the one the filter names (a timer without Unit= starts the
      // service of its own name: systemd.timer(5)), and a stop is not a failure.
      const script = readTemplate("startup-script.sh");
      expect(script).toContain(`GC_UNIT_FILE=/etc/systemd/system/${GC_UNIT}\n`);
      expect(script).toContain(`GC_TIMER_FILE=/etc/systemd/system/${GC_UNIT.replace(/\.service$/, ".timer")}\n`);
      expect(renderGcTimer({})).not.toMatch(/^Unit=/m);
      expect(renderGcUnit({ ...SCRIPT_OPTIONS })).toMatch(/^SuccessExitStatus=SIGTERM$/m);
      // The Ops Agent ships systemd's entries about the unit (UNIT=), not only the unit's own.
      expect(renderOpsAgentConfig({ port: 5000, basicAuth: true })).toContain(`jsonPayload.UNIT = "${GC_UNIT}"`);
      // The message id is systemd's "Unit failed": Debian 12's catalog, wherever systemd is
      // installed (.ci/run installs it; the catalog comes with the package).
      if (tool("systemd-analyze", "systemd")) {
        const catalog = fs.readFileSync("/usr/lib/systemd/catalog/systemd.catalog", "utf8");
        expect(catalog).toContain(`-- ${UNIT_FAILED_MESSAGE_ID}\nSubject: Unit failed\n`);
      }
    });

    test("Cloud Run: the gc job's own error line", () => {
      const gc = policies(synthStack(CLOUD_RUN).json).GcFailurePolicy;
      expect(gc).toMatchObject({ severity: "WARNING", alert_strategy: strategy });
      expect(gc.conditions).toEqual([{
        display_name: "A run of the gc job mlflow-gc failed",
        condition_matched_log: { filter: 'resource.type = "cloud_run_job" AND resource.labels.job_name = "mlflow-gc" AND textPayload : "mlflow-gc: ERROR"' },
      }]);
      expect(gc.documentation.content).toContain("gcloud run jobs execute mlflow-gc --region=europe-west1 --project=acme-ml-prod");
    });
  });

  describe("uptime checks only where the checkers can already reach /health", () => {
    // A server open to the whole internet: none of this library's modes is (a covering
    // allowedSourceRanges is refused), so a server of the user's own that is, as the
    // IMlflowServer interface allows.
    function reachableServer(stack: MlflowTrackingStack, uptimeCheck: MlflowUptimeCheckTarget): IMlflowServer {
      const own = new Construct(stack, "OwnServer");
      const vm = stack.server;
      return Object.assign(own, {
        kind: "vm" as const, serviceAccountEmail: vm.serviceAccountEmail, trackingUri: "https://mlflow.example.com",
        healthTarget: { kind: "vm" as const, instanceName: "own-vm", uptimeCheck },
      });
    }
    function withOwnServer(uptimeCheck: MlflowUptimeCheckTarget, options: { uptimeCheck?: boolean } = {}): TfJson {
      const stack = new MlflowTrackingStack(Testing.app(), "mlflow", BASE_PROPS);
      new MlflowOperations(stack, "Own", {
        projectId: "acme-ml-prod", region: "europe-west1", namePrefix: "own", database: stack.database,
        server: reachableServer(stack, uptimeCheck), ...options,
      });
      return JSON.parse(Testing.synth(stack)) as TfJson;
    }
    const ownPolicies = (json: TfJson) => Object.fromEntries(resourcesOf(json, "google_monitoring_alert_policy")
      .filter(([name]) => name.startsWith("Own_")).map(([name, p]) => [name.split("_")[1], p]));

    test("an HTTPS endpoint: the check on /health with the certificate checked, and its policy", () => {
      const json = withOwnServer({ host: "mlflow.example.com", port: 443, useSsl: true });
      const [name, check] = resourcesOf(json, "google_monitoring_uptime_check_config")[0];
      expect(check).toMatchObject({
        period: "300s", timeout: "10s",
        http_check: { path: "/health", port: 443, use_ssl: true, validate_ssl: true, accepted_response_status_codes: [{ status_class: "STATUS_CLASS_2XX" }] },
        monitored_resource: { type: "uptime_url", labels: { project_id: "acme-ml-prod", host: "mlflow.example.com" } },
        content_matchers: [{ content: "OK", matcher: "CONTAINS_STRING" }],
      });
      expect(ownPolicies(json).UptimePolicy.conditions[0].condition_threshold).toMatchObject({
        filter: `metric.type = "monitoring.googleapis.com/uptime_check/check_passed" AND resource.type = "uptime_url" AND metric.labels.check_id = "\${google_monitoring_uptime_check_config.${name}.uptime_check_id}"`,
        aggregations: [{ alignment_period: "1200s", per_series_aligner: "ALIGN_NEXT_OLDER", cross_series_reducer: "REDUCE_COUNT_FALSE", group_by_fields: ["resource.label.*"] }],
        comparison: "COMPARISON_GT", threshold_value: 1,
      });
    });
    test("plain HTTP on a port: no TLS asked or checked", () => {
      const check = onlyResource(withOwnServer({ host: "203.0.113.7", port: 5000, useSsl: false }), "google_monitoring_uptime_check_config");
      expect(check.http_check).toMatchObject({ port: 5000, use_ssl: false, validate_ssl: false });
    });
    test("uptimeCheck: false: no check and no health policy (and no gc policy: this server has no gcTarget)", () => {
      const json = withOwnServer({ host: "mlflow.example.com", port: 443, useSsl: true }, { uptimeCheck: false });
      expect(json.resource.google_monitoring_uptime_check_config).toBeUndefined();
      expect(Object.keys(ownPolicies(json))).toEqual(["DatabaseConnectionsPolicy"]);
    });
    test.each([
      ["private", {}],
      ["public limited to allowedSourceRanges", PUBLIC_LIMITED],
      ["public plain HTTP", PUBLIC_PLAIN],
      ["Cloud Run iap", CLOUD_RUN],
      ["Cloud Run internal", { ...CLOUD_RUN, access: { mode: "internal" as const } }],
    ])("%s: none (no mode of the library is open to the internet), and a health policy all the same", (_name, props) => {
      const { json, stack } = synthStack(props as Partial<MlflowTrackingStackProps>);
      expect(json.resource.google_monitoring_uptime_check_config).toBeUndefined();
      expect(stack.server.healthTarget.kind === "vm" ? stack.server.healthTarget.uptimeCheck : undefined).toBeUndefined();
      const withProxy = props === PUBLIC_LIMITED ? ["ProxyPolicy"] : [];
      expect(Object.keys(policies(json)).sort()).toEqual(["DatabaseConnectionsPolicy", "GcFailurePolicy", "HealthPolicy", ...withProxy]);
    });
    test("a VM open to the whole internet, where an uptime check could reach it, is refused before monitoring is planned", () => {
      expect(problemsOf({ access: { mode: "public", allowedSourceRanges: ["0.0.0.0/0"], domain: "mlflow.example.com" } }))
        .toEqual([expect.stringMatching(/^access\.allowedSourceRanges: /)]);
    });
    test.each([["public limited", PUBLIC_LIMITED], ["public plain HTTP", PUBLIC_PLAIN], ["private", {}]])(
      "%s: monitoring opens nothing (the firewall is the same with and without it)", (_name, props) => {
        const firewalls = (uptimeCheck: boolean) => JSON.stringify(synthStack({ ...props, operations: { uptimeCheck } } as Partial<MlflowTrackingStackProps>).json.resource.google_compute_firewall);
        expect(firewalls(true)).toBe(firewalls(false));
      });
  });

  test("everything waits for the APIs to settle", () => {
    const { json } = synthStack({ operations: { alertEmails: ["ml-oncall@example.com"] } });
    for (const type of ["google_monitoring_alert_policy", "google_monitoring_notification_channel"]) {
      for (const [, r] of resourcesOf(json, type)) expect(r.depends_on).toContain("time_sleep.ApiSettle");
    }
  });

  test("standalone: in a user's own stack, without the library's stack", () => {
    const app = Testing.app();
    const stack = new MlflowTrackingStack(app, "mlflow", BASE_PROPS);
    const ops = new MlflowOperations(stack, "Extra", {
      projectId: "acme-ml-prod", region: "europe-west1", namePrefix: "extra", server: stack.server, database: stack.database,
      alertEmails: ["ml-oncall@example.com"],
    });
    expect(ops.notificationChannels).toHaveLength(1);
    expect(ops.databaseConnectionsThreshold).toBe(40);
    const json = JSON.parse(Testing.synth(stack)) as TfJson;
    expect(resourcesOf(json, "google_monitoring_alert_policy").map(([, p]) => p.display_name)).toEqual(expect.arrayContaining([
      "MLflow (extra): server health", "MLflow (extra): database connections near max_connections",
    ]));
  });
});
