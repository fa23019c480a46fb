// Alerting for a tracking server of either kind: an email notification channel per address,
// an alert policy on the server's health as the server's own telemetry shows it, an uptime
// check only where Google's checkers can already reach /health, and an alert when the
// database nears its max_connections. Monitoring never widens ingress.
//
// Which signal each scenario gets, and why:
//  - VM (any access mode): the Ops Agent scrapes MLflow's /metrics on loopback every minute
//    (job "mlflow"); the scrape's `up` below 1, or no `up` at all for 5 minutes (agent or VM
//    down), means MLflow is not serving; MLflow's own 5xx count catches a database outage,
//    during which /health and /metrics still answer.
//  - VM of this library (private, or public limited to allowedSourceRanges; ranges covering
//    the internet are refused): no uptime check. The checkers use public addresses all over
//    the world (cloud.google.com/monitoring/uptime-checks), which those firewalls refuse;
//    private uptime checks need Service Directory, beta-only here.
//  - A VM server of your own whose healthTarget says the internet reaches it: also an uptime
//    check on /health, which sees what the VM cannot see of itself (firewall, certificate).
//  - Cloud Run (iap and internal): no uptime check. Internal ingress refuses the internet;
//    IAP accepts only ID tokens for its own audience, not the uptime check's service-agent
//    token (audience https://<host>). Instead the service's built-in metrics
//    (cloud.google.com/run/docs/monitoring): 5xx responses (`run.googleapis.com/request_count`,
//    label response_code_class) and, with minInstances >= 1, no instance at all
//    (`run.googleapis.com/container/instance_count`, by state active/idle).
//  - Both kinds: `cloudsql.googleapis.com/database/postgresql/num_backends` (one series per
//    database) summed over the instance, above 80% of the max_connections the library sets.
//  - VM with a domain: Caddy failed (a log-match policy, CRITICAL). The scrape reaches MLflow
//    on loopback, not through Caddy, so users may see no HTTPS at all while MLflow is healthy;
//    caddy.service has no Restart= (the caddy package's unit: caddyserver/dist
//    init/caddy.service, as of commit 509c30c), so a crash or a start that
//    fails leaves it failed: systemd's "Unit failed" entry about it, as for gc below. (A
//    certificate Caddy cannot renew while it runs is not seen.) A stop or restart is not
//    one: templates/Caddyfile's grace_period (3 s) ends it before the unit's TimeoutStopSec=5s
//    would kill Caddy, a "timeout" failure to systemd.
//  - A failed scheduled gc (a log-match policy; gc never touches the server, so the health
//    alert never sees it, while deleted runs and their artifacts pile up):
//    - VM: systemd's own journal entry when mlflow-gc.service enters the failed state, whatever
//      ended it (an error, TimeoutStartSec=, a kill): MESSAGE_ID d9b373ed55a64feb8242e02dbe79a49c
//      with UNIT= the unit (systemd src/core/unit.c unit_log_failure(), SD_MESSAGE_UNIT_FAILURE_RESULT
//      of sd-messages.h; "Unit failed" in Debian 12's systemd 252 catalog). The Ops Agent ships
//      it (templates/ops-agent.yaml keeps entries whose UNIT is one of MLflow's units) with every
//      journal field, named as in the journal, under jsonPayload: ops-agent 2.70.0
//      confgenerator/logging_receivers.go configures fluent-bit's systemd input without
//      Strip_Underscores, its integration test TestSystemdLog queries jsonPayload.MESSAGE and
//      jsonPayload.PRIORITY, and a maintainer filters on jsonPayload._SYSTEMD_UNIT (#1784).
//    - Cloud Run: the gc job's container log, where templates/mlflow-gc.py writes
//      "mlflow-gc: ERROR" on each of its failures (the launcher's own, before it, write none). A plain-text line is stored in textPayload
//      (cloud.google.com/functions/1stgendocs/monitoring/logging, for functions on Cloud Run;
//      not read for jobs: inferred, to confirm on a deployment). A run ended by its task
//      timeout or out of memory writes no such line (not alerted).
import { Construct } from "constructs";
import { Fn, Op, Token } from "cdktf";
import {
  MonitoringAlertPolicy, MonitoringAlertPolicyAlertStrategy, MonitoringAlertPolicyConditions,
} from "@cdktf/provider-google/lib/monitoring-alert-policy";
import { MonitoringNotificationChannel } from "@cdktf/provider-google/lib/monitoring-notification-channel";
import type { MonitoringUptimeCheckConfig } from "@cdktf/provider-google/lib/monitoring-uptime-check-config";
import type { IMlflowBackendDatabase } from "./database";
import type { IMlflowServer, MlflowGcTarget, MlflowHealthTarget, MlflowVmUnitTarget } from "./server-base";
import { loadMonitoringUptimeCheckConfig } from "../lib/private/optional-providers";
import { validateOperationsOptions } from "../lib/operations";
import { DEFAULT_NAME_PREFIX, Validator, checkCommonProps } from "../lib/validation";

export interface MlflowOperationsProps {
  readonly projectId: string;
  /** Region of the deployment. */
  readonly region: string;
  /** @default "mlflow" */
  readonly namePrefix?: string;
  /** Labels of the alert policies and channels. @default {} */
  readonly labels?: Record<string, string>;
  /** The server whose health is watched. */
  readonly server: IMlflowServer;
  /** The database whose connections are watched. */
  readonly database: IMlflowBackendDatabase;
  /**
   * Health alerting: the alert policy on the server, and an uptime check when the server's
   * `healthTarget` says the internet reaches it (never for this library's own servers).
   * @default true
   */
  readonly uptimeCheck?: boolean;
  /** One email notification channel each, attached to every policy. @default [] */
  readonly alertEmails?: string[];
}

/** Share of max_connections above which the database alert fires. */
export const DATABASE_CONNECTIONS_ALERT_RATIO = 0.8;
/** Server errors (5xx) in 5 minutes above which the health alert fires. */
export const SERVER_ERRORS_ALERT_THRESHOLD = 10;
/** systemd's "Unit failed" journal message (sd-messages.h SD_MESSAGE_UNIT_FAILURE_RESULT). */
export const UNIT_FAILED_MESSAGE_ID = "d9b373ed55a64feb8242e02dbe79a49c";
/** What templates/mlflow-gc.py writes at the start of each failure line. */
export const GC_ERROR_MARKER = "mlflow-gc: ERROR";

/** Alert policies, notification channels and (where it can reach) an uptime check. */
export class MlflowOperations extends Construct {
  /** Notification channel names (`projects/P/notificationChannels/N`), one per address. */
  public readonly notificationChannels: string[];
  /** The policy on the server's health (absent with `uptimeCheck: false`). */
  public readonly healthPolicy?: MonitoringAlertPolicy;
  /** The policy on database connections. */
  public readonly databaseConnectionsPolicy: MonitoringAlertPolicy;
  /** The uptime check on /health (only where the checkers can reach it). */
  public readonly uptimeCheck?: MonitoringUptimeCheckConfig;
  /** The policy on the uptime check. */
  public readonly uptimePolicy?: MonitoringAlertPolicy;
  /** The alert threshold of database connections. */
  public readonly databaseConnectionsThreshold: number;
  /** The policy on failed scheduled gc runs (absent for a server without a `gcTarget`). */
  public readonly gcFailurePolicy?: MonitoringAlertPolicy;
  /** The policy on the HTTPS proxy's unit failing (a VM with a domain; absent with `uptimeCheck: false`). */
  public readonly proxyPolicy?: MonitoringAlertPolicy;

  constructor(scope: Construct, id: string, props: MlflowOperationsProps) {
    super(scope, id);
    const v = new Validator();
    checkCommonProps(v, props);
    validateOperationsOptions(v, { uptimeCheck: props.uptimeCheck, alertEmails: props.alertEmails });
    v.throwIfInvalid(this.node.path);

    const prefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    const labels = props.labels ?? {};
    const project = props.projectId;
    const channels = (props.alertEmails ?? []).map((email, i) => new MonitoringNotificationChannel(this, `Email${i}`, {
      project,
      type: "email",
      displayName: `MLflow (${prefix}): ${email}`,
      description: "Alerts of the MLflow tracking server (cdktf-mlflow-gcp)",
      labels: { email_address: email },
      userLabels: labels,
    }));
    this.notificationChannels = channels.map((c) => c.name);

    const policy = (id: string, displayName: string, severity: string, conditions: MonitoringAlertPolicyConditions[], documentation: string,
      alertStrategy?: MonitoringAlertPolicyAlertStrategy) =>
      new MonitoringAlertPolicy(this, id, {
        project,
        displayName: `MLflow (${prefix}): ${displayName}`,
        combiner: "OR",
        severity,
        conditions,
        notificationChannels: this.notificationChannels,
        userLabels: labels,
        documentation: { mimeType: "text/markdown", subject: `MLflow (${prefix}): ${displayName}`, content: documentation },
        alertStrategy,
      });

    if (props.uptimeCheck ?? true) {
      this.healthPolicy = policy("HealthPolicy", "server health", "CRITICAL", healthConditions(props.server.healthTarget),
        healthDocumentation(props.server.healthTarget, project));
      const proxy = props.server.healthTarget.kind === "vm" ? props.server.healthTarget.proxy : undefined;
      if (proxy) {
        // A log-match policy has one condition and needs a notification rate limit; the unit
        // stays failed until someone acts, so the incident stays open for a day.
        this.proxyPolicy = policy("ProxyPolicy", `HTTPS proxy ${proxy.unit} failed`, "CRITICAL", [{
          displayName: `${proxy.unit} failed`,
          conditionMatchedLog: { filter: unitFailedFilter(proxy) },
        }], [
          `\`${proxy.unit}\` on the VM failed, so ${proxy.url} is down for its users while MLflow itself may be healthy.`,
          `On the VM: \`journalctl -u ${proxy.unit}\`, then \`sudo systemctl start ${proxy.unit}\`;`,
          `logs ${unitLogsQuery(proxy.unit, project)}.`,
          "Usual causes: a configuration Caddy cannot load, port 80 or 443 taken by another process, its data disk (/var/lib/caddy) missing or full.",
          "(A certificate Caddy cannot get does not stop it: it retries, and the journal says why.)",
        ].join(" "), { notificationRateLimit: { period: "300s" }, autoClose: "86400s" });
      }
      const target = props.server.healthTarget.kind === "vm" ? props.server.healthTarget.uptimeCheck : undefined;
      if (target) {
        const { MonitoringUptimeCheckConfig } = loadMonitoringUptimeCheckConfig();
        this.uptimeCheck = new MonitoringUptimeCheckConfig(this, "UptimeCheck", {
          project,
          displayName: `MLflow (${prefix}): /health`,
          // Every 5 minutes from every checker region, within the free executions.
          period: "300s",
          timeout: "10s",
          httpCheck: {
            path: "/health",
            port: target.port,
            useSsl: target.useSsl,
            validateSsl: target.useSsl,
            acceptedResponseStatusCodes: [{ statusClass: "STATUS_CLASS_2XX" }],
          },
          contentMatchers: [{ content: "OK", matcher: "CONTAINS_STRING" }],
          monitoredResource: { type: "uptime_url", labels: { project_id: project, host: target.host } },
          userLabels: labels,
        });
        // More than one checker location failing (the console's own policy for a check).
        this.uptimePolicy = policy("UptimePolicy", "/health unreachable from the internet", "CRITICAL", [{
          displayName: "Uptime check failing",
          conditionThreshold: {
            filter: `metric.type = "monitoring.googleapis.com/uptime_check/check_passed" AND resource.type = "uptime_url" AND metric.labels.check_id = "${this.uptimeCheck.uptimeCheckId}"`,
            aggregations: [{ alignmentPeriod: "1200s", perSeriesAligner: "ALIGN_NEXT_OLDER", crossSeriesReducer: "REDUCE_COUNT_FALSE", groupByFields: ["resource.label.*"] }],
            comparison: "COMPARISON_GT",
            thresholdValue: 1,
            duration: "60s",
            trigger: { count: 1 },
          },
        }], "Google's uptime checkers cannot get `/health` from the server's public address. Check the VM, the firewall rules, and (with a domain) Caddy and its certificate: `journalctl -u caddy.service`.");
      }
    }

    // max_connections is set by the library (MlflowDatabase's max_connections flag), so the
    // threshold is known; Cloud SQL has no metric for it.
    const max = props.database.maxConnections;
    this.databaseConnectionsThreshold = Token.isUnresolved(max)
      ? Token.asNumber(Fn.floor(Op.mul(max, DATABASE_CONNECTIONS_ALERT_RATIO)))
      : Math.floor(max * DATABASE_CONNECTIONS_ALERT_RATIO);
    this.databaseConnectionsPolicy = policy("DatabaseConnectionsPolicy", "database connections near max_connections", "WARNING", [{
      displayName: `Connections above ${Math.round(DATABASE_CONNECTIONS_ALERT_RATIO * 100)}% of max_connections`,
      conditionThreshold: {
        filter: `metric.type = "cloudsql.googleapis.com/database/postgresql/num_backends" AND resource.type = "cloudsql_database" AND resource.labels.database_id = "${project}:${props.database.instanceName}"`,
        // One series per database: their sum is the instance's connections.
        aggregations: [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_MAX", crossSeriesReducer: "REDUCE_SUM", groupByFields: ["resource.label.database_id"] }],
        comparison: "COMPARISON_GT",
        thresholdValue: this.databaseConnectionsThreshold,
        duration: "300s",
        trigger: { count: 1 },
      },
    }], [
      `The Cloud SQL instance \`${props.database.instanceName}\` has held more than ${Math.round(DATABASE_CONNECTIONS_ALERT_RATIO * 100)}% of its max_connections for 5 minutes;`,
      "new connections fail once they are used up. The stack sizes MLflow's pools to fit (lib/connection-budget.ts):",
      "look for other clients (`SELECT usename, application_name, count(*) FROM pg_stat_activity GROUP BY 1, 2`),",
      "or raise `database.maxConnections` / `database.tier`.",
    ].join(" "));

    const gc = props.server.gcTarget;
    if (gc) {
      // Log-match conditions need a notification rate limit (provider 6.50.0
      // monitoring_alert_policy docs: "Required for alert policies with a LogMatch
      // condition"): at most one email an hour (a failure while the incident is open notifies
      // on it again); an incident closes a day after its last match.
      this.gcFailurePolicy = policy("GcFailurePolicy", "garbage collection failed", "WARNING", [{
        displayName: gc.kind === "vm" ? `${gc.unit} failed` : `A run of the gc job ${gc.jobName} failed`,
        conditionMatchedLog: { filter: gcFailureFilter(gc) },
      }], gcFailureDocumentation(gc, project), { notificationRateLimit: { period: "3600s" }, autoClose: "86400s" });
    }
  }
}

/** systemd's "Unit failed" entry about the unit, on its VM (see the header). */
export function unitFailedFilter(target: MlflowVmUnitTarget): string {
  return filter('resource.type = "gce_instance"', `resource.labels.instance_id = "${target.instanceId}"`,
    `jsonPayload.MESSAGE_ID = "${UNIT_FAILED_MESSAGE_ID}"`, `jsonPayload.UNIT = "${target.unit}"`);
}

/** Where a VM unit's journal is in Cloud Logging: its own entries and systemd's about it. */
function unitLogsQuery(unit: string, project: string): string {
  return `(Cloud Logging, project ${project}): \`resource.type="gce_instance" AND (jsonPayload._SYSTEMD_UNIT="${unit}" OR jsonPayload.UNIT="${unit}")\``;
}

/** The log entries of a failed gc run (see the header). */
export function gcFailureFilter(gc: MlflowGcTarget): string {
  return gc.kind === "vm"
    ? unitFailedFilter(gc)
    : filter('resource.type = "cloud_run_job"', `resource.labels.job_name = "${gc.jobName}"`, `textPayload : "${GC_ERROR_MARKER}"`);
}

function gcFailureDocumentation(gc: MlflowGcTarget, project: string): string {
  const after = "Runs and experiments deleted long enough ago, and their artifacts, stay until a run succeeds; the tracking server is unaffected," +
    " and the next scheduled run tries again (gc is idempotent).";
  if (gc.kind === "vm") {
    return [
      `A scheduled \`mlflow gc\` on the VM failed: \`${gc.unit}\` ended with an error, hit its 6-hour limit, or was killed`,
      "(out of memory, say; a stop's SIGTERM is not a failure).", after,
      `On the VM: \`journalctl -u ${gc.unit}\` (\`systemctl start ${gc.unit}\` runs it now);`,
      `logs ${unitLogsQuery(gc.unit, project)}.`,
      "Usual causes: the database unreachable, the bucket's permissions, too little free space on the boot disk.",
    ].join(" ");
  }
  return [
    `A run of the Cloud Run job \`${gc.jobName}\` (\`mlflow gc\`) failed with an error (its log has a line \`${GC_ERROR_MARKER}\`).`, after,
    `Logs (Cloud Logging, project ${project}): \`resource.type="cloud_run_job" AND resource.labels.job_name="${gc.jobName}"\`;`,
    `run it now: \`gcloud run jobs execute ${gc.jobName} --region=${gc.region} --project=${project}\`.`,
    "Runs ended by the 6-hour task timeout or out of memory, or that fail before gc starts, write no such line: see the job's executions.",
  ].join(" ");
}

/** A filter's metric and resource terms joined. */
const filter = (...terms: string[]) => terms.join(" AND ");

function healthConditions(target: MlflowHealthTarget): MonitoringAlertPolicyConditions[] {
  if (target.kind === "vm") {
    // The Ops Agent scrape (templates/ops-agent.yaml): GMP stores `up` per target as
    // prometheus.googleapis.com/up/gauge on prometheus_target, job = the job_name; the agent
    // adds the VM's name as the label instance_name to every series
    // (GoogleCloudPlatform/ops-agent confgenerator/resourcedetector, PrometheusStyleMetadata).
    // Series are reduced to one per job, so a replaced VM (a new series) leaves no stale one.
    const scrape = filter('metric.type = "prometheus.googleapis.com/up/gauge"', 'resource.type = "prometheus_target"',
      'resource.labels.job = "mlflow"', `metric.labels.instance_name = "${target.instanceName}"`);
    const perJob = [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_MEAN", crossSeriesReducer: "REDUCE_MIN", groupByFields: ["resource.label.job"] }];
    return [
      {
        displayName: "MLflow's metrics cannot be scraped",
        conditionThreshold: { filter: scrape, aggregations: perJob, comparison: "COMPARISON_LT", thresholdValue: 1, duration: "300s", trigger: { count: 1 } },
      },
      {
        displayName: "No metrics from MLflow's VM",
        conditionAbsent: { filter: scrape, aggregations: perJob, duration: "300s", trigger: { count: 1 } },
      },
      {
        displayName: "MLflow answers with server errors",
        conditionThreshold: {
          // prometheus-flask-exporter's request counter (label status: the HTTP status code).
          filter: filter('metric.type = "prometheus.googleapis.com/mlflow_http_request_total/counter"', 'resource.type = "prometheus_target"',
            'resource.labels.job = "mlflow"', `metric.labels.instance_name = "${target.instanceName}"`, 'metric.labels.status = monitoring.regex.full_match("5[0-9][0-9]")'),
          aggregations: [{ alignmentPeriod: "300s", perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_SUM", groupByFields: ["resource.label.job"] }],
          comparison: "COMPARISON_GT",
          thresholdValue: SERVER_ERRORS_ALERT_THRESHOLD,
          duration: "0s",
          trigger: { count: 1 },
        },
      },
    ];
  }
  const service = `resource.labels.service_name = "${target.serviceName}"`;
  const perService = (aligner: string, period: string) =>
    [{ alignmentPeriod: period, perSeriesAligner: aligner, crossSeriesReducer: "REDUCE_SUM", groupByFields: ["resource.label.service_name"] }];
  const conditions: MonitoringAlertPolicyConditions[] = [{
    displayName: "MLflow answers with server errors",
    conditionThreshold: {
      // Requests IAP refuses never reach the revision, so they do not count.
      filter: filter('metric.type = "run.googleapis.com/request_count"', 'resource.type = "cloud_run_revision"', service,
        `resource.labels.location = "${target.region}"`, 'metric.labels.response_code_class = "5xx"'),
      aggregations: perService("ALIGN_SUM", "300s"),
      comparison: "COMPARISON_GT",
      thresholdValue: SERVER_ERRORS_ALERT_THRESHOLD,
      duration: "0s",
      trigger: { count: 1 },
    },
  }];
  if (target.minInstances >= 1) {
    conditions.push({
      displayName: "No instance of the service is running",
      conditionThreshold: {
        filter: filter('metric.type = "run.googleapis.com/container/instance_count"', 'resource.type = "cloud_run_revision"', service,
          `resource.labels.location = "${target.region}"`),
        aggregations: perService("ALIGN_MAX", "60s"),
        comparison: "COMPARISON_LT",
        thresholdValue: 1,
        duration: "300s",
        // No data at all means no instance.
        evaluationMissingData: "EVALUATION_MISSING_DATA_ACTIVE",
        trigger: { count: 1 },
      },
    });
  }
  return conditions;
}

function healthDocumentation(target: MlflowHealthTarget, project: string): string {
  if (target.kind === "vm") {
    return [
      `The MLflow server on the VM \`${target.instanceName}\` is not serving, or answers with server errors.`,
      `Logs (Cloud Logging, project ${project}): \`resource.type="gce_instance" AND jsonPayload._SYSTEMD_UNIT="mlflow.service"\`;`,
      `on the VM: \`journalctl -u mlflow.service -u google-startup-scripts.service\`. No metrics at all: the VM, or the Ops Agent`,
      "(`systemctl status google-cloud-ops-agent`). Server errors with a healthy scrape: usually the database.",
    ].join(" ");
  }
  return [
    `The Cloud Run service \`${target.serviceName}\` answers with server errors, or has no instance.`,
    `Logs (Cloud Logging, project ${project}): \`resource.type="cloud_run_revision" AND resource.labels.service_name="${target.serviceName}"\`.`,
    "A revision that cannot start shows its startup probe failures there; server errors with running instances: usually the database.",
  ].join(" ");
}
