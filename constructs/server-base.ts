// What every kind of MLflow server shares: its own service account with exactly the access
// it needs (the artifact bucket, its secrets, logs and metrics, an on-demand Cloud SQL
// backup before a schema migration), the generated admin password and Flask secret key of
// basic auth, and the options both kinds take. MlflowTrackingServer (a Compute Engine VM)
// and MlflowCloudRunServer extend MlflowServerBase; each file holds only what differs.
//
// The construct ids below (ServiceAccount, AdminPassword, FlaskSecretKey, LogWriter,
// MetricWriter) are those of the first release: the resources keep their Terraform
// addresses, so an existing deployment keeps its service account and, above all, its
// generated passwords (a re-created admin password would lock the admin out).
import { Construct, IConstruct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ProjectIamCustomRole } from "@cdktf/provider-google/lib/project-iam-custom-role";
import type { IMlflowBackendDatabase } from "./database";
import type { IMlflowArtifactStore } from "./artifact-store";
import { IMlflowSecret, MlflowGeneratedSecret } from "./generated-secret";
import { DEFAULT_DEPENDENCY_CUTOFF, DEFAULT_MLFLOW_VERSION, MlflowPermission } from "../lib/server-runtime";
import {
  DEFAULT_NAME_PREFIX, DEPENDENCY_CUTOFF, MLFLOW_VERSION, Validator, checkCommonProps, oneOf,
} from "../lib/validation";
import { gcSettings, validateOperationsOptions } from "../lib/operations";
import type { ConnectionPlan } from "../lib/connection-budget";

/** The kinds of tracking server this library runs. */
export type MlflowServerKind = "vm" | "cloud-run";

/** A URL Google's uptime checkers can reach `/health` at, as the server is exposed. */
export interface MlflowUptimeCheckTarget {
  /** Host name or address (a Terraform reference for a static IP). */
  readonly host: string;
  readonly port: number;
  readonly useSsl: boolean;
}

/**
 * What health alerting (MlflowOperations) watches on a server: the VM by its name (the Ops
 * Agent's scrape of MLflow's metrics carries it), the Cloud Run service by its name.
 */
export type MlflowHealthTarget =
  | {
    readonly kind: "vm";
    readonly instanceName: string;
    /**
     * Set only where Google's uptime checkers can already reach the server from the internet.
     * MlflowTrackingServer never sets it (no mode of it is open to the whole internet); a
     * server of your own that is open to it can.
     */
    readonly uptimeCheck?: MlflowUptimeCheckTarget;
    /**
     * The HTTPS proxy in front of MLflow on the VM (MlflowTrackingServer with a domain: Caddy):
     * MLflow's own metrics stay healthy while it is down, so its failure is watched apart.
     */
    readonly proxy?: MlflowProxyTarget;
  }
  | {
    readonly kind: "cloud-run";
    readonly serviceName: string;
    readonly region: string;
    /** Instances kept running: with at least one, no instance at all means the service is down. */
    readonly minInstances: number;
  };

/**
 * A systemd unit on a VM whose failure MlflowOperations alerts on: systemd's "Unit failed"
 * entry about it in the VM's journal, which the Ops Agent ships.
 */
export interface MlflowVmUnitTarget {
  /** The VM's numeric id (`resource.labels.instance_id` of its log entries). */
  readonly instanceId: string;
  /** The unit, e.g. `caddy.service` or `mlflow-gc.service`. */
  readonly unit: string;
}

/** The HTTPS proxy's unit in front of MLflow on a VM. */
export interface MlflowProxyTarget extends MlflowVmUnitTarget {
  /** The URL it serves, for the alert's text. */
  readonly url: string;
}

/**
 * Where a failed scheduled `mlflow gc` shows, for MlflowOperations' alert on it: on a VM, the
 * oneshot unit that runs gc; on Cloud Run the gc job (its container log).
 */
export type MlflowGcTarget =
  | ({ readonly kind: "vm" } & MlflowVmUnitTarget)
  | {
    readonly kind: "cloud-run";
    readonly jobName: string;
    readonly region: string;
  };

/** What the stack and its users need from a tracking server of any kind. */
export interface IMlflowServer extends IConstruct {
  readonly kind: MlflowServerKind;
  /** What health alerting watches. */
  readonly healthTarget: MlflowHealthTarget;
  /** Where a failed scheduled gc shows; a server without one gets no gc alert. */
  readonly gcTarget?: MlflowGcTarget;
  /** The server's own service account. */
  readonly serviceAccountEmail: string;
  /** URL clients set as MLFLOW_TRACKING_URI. */
  readonly trackingUri: string;
  /** Secret holding the MLflow admin password (basic auth only). */
  readonly adminPasswordSecret?: IMlflowSecret;
}

/** How users reach the server: `private`/`public` for the VM kind, `iap`/`internal` for Cloud Run. */
export type MlflowAccessMode = "private" | "public" | "iap" | "internal";

/** How users reach the server (`access` prop). */
export interface MlflowAccessOptions {
  /**
   * VM kind: `private` (no ingress from the internet; users connect through an IAP TCP
   * tunnel) or `public` (a static external IP, reachable from `allowedSourceRanges` only).
   * Cloud Run kind: `iap` (Identity-Aware Proxy in front of the service: Google sign-in,
   * `iapMembers` pass) or `internal` (ingress from the VPC only; callers need
   * `roles/run.invoker`, given to `invokerMembers`).
   * @default - "private" for the VM kind, "iap" for the Cloud Run kind
   */
  readonly mode?: MlflowAccessMode;
  /**
   * Who may pass IAP: open a tunnel to the VM (private mode), or sign in to the Cloud Run
   * service (iap mode), e.g. `group:ml-team@example.com`.
   * @default []
   */
  readonly iapMembers?: string[];
  /**
   * Cloud Run, internal mode: who may call the service (`roles/run.invoker` on it), e.g. the
   * service accounts of training jobs in the VPC.
   * @default []
   */
  readonly invokerMembers?: string[];
  /**
   * Cloud Run, iap mode: OAuth client ids (of a desktop or other OAuth client you created)
   * that IAP accepts ID tokens of, for programmatic clients such as laptops running MLflow
   * (IAP's Google-managed client serves browsers only). Service accounts do not need one:
   * they pass IAP with a signed JWT.
   * @default []
   */
  readonly programmaticClientIds?: string[];
  /** CIDR ranges allowed to reach the server in public mode (required there). @default [] */
  readonly allowedSourceRanges?: string[];
  /**
   * Private ranges inside your network that reach the server directly, without the tunnel
   * (training VMs, notebooks, GKE pods in other subnetworks).
   * @default - the server's own subnetwork
   */
  readonly internalSourceRanges?: string[];
  /**
   * Public DNS name to serve HTTPS on (public mode), e.g. `mlflow.example.com`. Caddy on the
   * VM obtains a Let's Encrypt certificate for it once its A record points at the static IP,
   * and proxies to MLflow, which then listens on 127.0.0.1 only. Port 443 is open to
   * `allowedSourceRanges`, port 80 to the internet (the certificate authority must reach the
   * HTTP-01 challenge there; Caddy answers it and redirects everything else to HTTPS).
   * @default - no domain (plain HTTP, which needs `allowPlaintextHttp: true`)
   */
  readonly domain?: string;
  /**
   * Name of a Cloud DNS managed zone in the project that holds `domain`: the stack creates
   * the A record. Without it, the output `dns_record_needed` says which record to create.
   * @default - no record is created
   */
  readonly dnsZone?: string;
  /**
   * With `domain`: a private Cloud DNS zone for exactly that name in the server's network,
   * resolving it to the server's internal address, so clients inside the VPC use
   * `https://<domain>` without leaving the network.
   * @default false
   */
  readonly privateDns?: boolean;
  /**
   * Acknowledge that public mode without a domain serves plain HTTP: passwords and data
   * cross the network unencrypted.
   * @default false
   */
  readonly allowPlaintextHttp?: boolean;
  /**
   * Who may log in to the VM through IAP and OS Login as an administrator (sudo):
   * `roles/compute.osAdminLogin` on this VM and `roles/iam.serviceAccountUser` on its
   * service account. An administrator can read every secret the server reads.
   * @default []
   */
  readonly adminMembers?: string[];
}

/** MLflow authentication (`auth` prop). */
export interface MlflowAuthOptions {
  /** MLflow's `basic-auth` app with a generated admin password. @default true */
  readonly basicAuth?: boolean;
  /** Permission of every user on what others created. @default "READ" */
  readonly defaultPermission?: MlflowPermission;
  /**
   * Acknowledge that public mode with `basicAuth: false` serves every API, deletes included,
   * to anyone in `access.allowedSourceRanges`, with no login. Required (true) for that
   * combination; not allowed otherwise.
   * @default false
   */
  readonly allowUnauthenticatedAccess?: boolean;
}

/** Day-2 operations (`operations` prop). */
export interface MlflowOperationsOptions {
  /**
   * When `mlflow gc` removes deleted runs and experiments for good, with their artifacts: a
   * cron expression of five fields in UTC (Cloud Scheduler's format). Minute: one number;
   * hour, day of month, month and day of week: a number, `*`, `A-B`, a step (`*` or `A-B`
   * followed by `/S`) or a comma list of these; numbers only (day of week 0-7, 0 and 7
   * Sunday); day of month and day of week not both set. The VM runs it from a systemd timer,
   * Cloud Run from Cloud Scheduler and a job.
   * @default "0 4 * * *" (every day at 04:00 UTC)
   */
  readonly gcSchedule?: string;
  /**
   * How long a run or experiment stays in the deleted stage (restorable from the UI) before
   * gc removes it: `mlflow gc --older-than`, MLflow's `#d#h#m#s` format.
   * @default "30d"
   */
  readonly gcOlderThan?: string;
  /**
   * Health alerting: an alert policy on the server's health (VM: the Ops Agent's scrape of
   * MLflow's metrics; Cloud Run: the service's own request and instance metrics). An uptime
   * check only for a server whose `healthTarget` says Google's checkers already reach it from
   * the internet, which no server of this library is: monitoring never opens anything for
   * them. The alert on database connections is created either way.
   * @default true
   */
  readonly uptimeCheck?: boolean;
  /**
   * Addresses that get the alerts: one Cloud Monitoring email notification channel each,
   * attached to every alert policy of the stack.
   * @default [] (the policies exist and show incidents in the console, but notify no one)
   */
  readonly alertEmails?: string[];
  /**
   * Before a schema migration (only when the installed MLflow is newer than the schema,
   * never on a plain restart), take an on-demand Cloud SQL backup and wait for it; when the
   * backup fails, nothing is migrated and the server does not start. On-demand backups are
   * kept until deleted: `gcloud sql backups list --instance=<db> --project=<p>`.
   * @default true
   */
  readonly backupBeforeUpgrade?: boolean;
}

/** Props every server kind takes. */
export interface MlflowServerBaseProps {
  readonly projectId: string;
  readonly region: string;
  /** @default "mlflow" */
  readonly namePrefix?: string;
  /** @default {} */
  readonly labels?: Record<string, string>;
  /** @default "3.18.0" */
  readonly mlflowVersion?: string;
  /**
   * Instant every unpinned Python dependency is resolved at (RFC 3339, e.g.
   * `2026-11-28T00:00:00Z`). Move it past the release of an `mlflowVersion` newer than the
   * library's default.
   * @default DEFAULT_DEPENDENCY_CUTOFF
   */
  readonly dependencyCutoff?: string;
  readonly database: IMlflowBackendDatabase;
  readonly artifactStore: IMlflowArtifactStore;
  /** @default { basicAuth: true, defaultPermission: "READ" } */
  readonly auth?: MlflowAuthOptions;
  /** @default - gc daily at 04:00 UTC of what was deleted 30 days ago, health alerting, a backup before migrations */
  readonly operations?: MlflowOperationsOptions;
}

/** The project-wide roles of every server's service account: writing its logs and metrics. */
const PROJECT_ROLES = { LogWriter: "roles/logging.logWriter", MetricWriter: "roles/monitoring.metricWriter" } as const;

/**
 * Permissions of the custom role that lets a server back up Cloud SQL before a migration:
 * start an on-demand backup (`cloudsql.backupRuns.create`) and follow its operation
 * (`cloudsql.instances.get` covers operations.get;
 * cloud.google.com/sql/docs/postgres/iam-permissions).
 */
export const BACKUP_PERMISSIONS = ["cloudsql.backupRuns.create", "cloudsql.backupRuns.get", "cloudsql.instances.get"] as const;

/** Shared base of the server kinds: identity, grants and generated secrets. */
export abstract class MlflowServerBase extends Construct implements IMlflowServer {
  public abstract readonly kind: MlflowServerKind;
  public abstract readonly trackingUri: string;
  public abstract readonly healthTarget: MlflowHealthTarget;
  public readonly serviceAccountEmail: string;
  public readonly adminPasswordSecret?: IMlflowSecret;
  /** Secret holding the Flask secret key of basic auth (the same on every instance). */
  public readonly flaskSecretKeySecret?: IMlflowSecret;
  public readonly mlflowVersion: string;
  public readonly dependencyCutoff: string;
  public readonly basicAuth: boolean;
  public readonly defaultPermission: MlflowPermission;
  public readonly backupBeforeUpgrade: boolean;
  /** When gc runs: a cron expression, UTC. */
  public readonly gcSchedule: string;
  /** What gc removes: runs and experiments deleted at least this long ago (`--older-than`). */
  public readonly gcOlderThan: string;
  public readonly namePrefix: string;
  /** `PROJECT/INSTANCE` backed up before a migration; undefined when backups are off. */
  public readonly backupInstance?: string;
  /** The database connections the deployment may open at worst, and the pool sizes. */
  public readonly connectionPlan: ConnectionPlan;
  /** The server's service account as an IAM member (`serviceAccount:…`). */
  protected readonly member: string;
  /** The service account's resource name (`projects/…/serviceAccounts/…`). */
  protected readonly serviceAccountName: string;
  /**
   * What must exist before the server first starts: its grants and the values of the
   * secrets it reads (it reads them at start, and retries only for a while).
   */
  protected readonly prerequisites: ITerraformDependable[];

  /**
   * @param validateKind checks the kind's own options into the same Validator, so one
   *   MlflowValidationError lists every problem before anything is created, and returns the
   *   kind's connection plan (its budget check)
   */
  protected constructor(scope: Construct, id: string, props: MlflowServerBaseProps, description: string,
    validateKind: (v: Validator) => ConnectionPlan) {
    super(scope, id);
    const v = new Validator();
    checkCommonProps(v, props);
    const plan = validateKind(v);
    validateOperationsOptions(v, props.operations);
    v.throwIfInvalid(this.node.path);
    this.connectionPlan = plan;

    this.namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    this.mlflowVersion = props.mlflowVersion ?? DEFAULT_MLFLOW_VERSION;
    this.dependencyCutoff = normalizeCutoff(props.dependencyCutoff ?? DEFAULT_DEPENDENCY_CUTOFF);
    this.basicAuth = props.auth?.basicAuth ?? true;
    this.defaultPermission = props.auth?.defaultPermission ?? "READ";
    this.backupBeforeUpgrade = props.operations?.backupBeforeUpgrade ?? true;
    const gc = gcSettings(props.operations);
    this.gcSchedule = gc.schedule;
    this.gcOlderThan = gc.olderThan;

    const serviceAccount = new ServiceAccount(this, "ServiceAccount", {
      project: props.projectId,
      accountId: `${this.namePrefix}-server`,
      displayName: "MLflow tracking server",
      description,
    });
    this.serviceAccountEmail = serviceAccount.email;
    this.serviceAccountName = serviceAccount.name;
    this.member = `serviceAccount:${serviceAccount.email}`;

    // Exactly what the server needs, each on the narrowest resource that grants it.
    this.prerequisites = [
      props.artifactStore.grantReadWrite(this.member),
      props.database.passwordSecret.grantAccess(this.member),
      props.database.passwordSecret.ready,
      ...props.database.ready,
    ];
    for (const [id, role] of Object.entries(PROJECT_ROLES)) {
      new ProjectIamMember(this, id, { project: props.projectId, role, member: this.member });
    }

    if (this.backupBeforeUpgrade) {
      // Role ids allow letters, digits, underscores and dots only.
      const roleId = `${this.namePrefix.replace(/-/g, "_")}_sql_backup`;
      const role = new ProjectIamCustomRole(this, "BackupRole", {
        project: props.projectId,
        roleId,
        title: "MLflow server: Cloud SQL backup before a schema migration",
        description: "Start an on-demand Cloud SQL backup and follow its operation (cdktf-mlflow-gcp).",
        permissions: [...BACKUP_PERMISSIONS],
      });
      // The role's name written out (with a dependency on the role), so a review of the
      // synthesized JSON (and MlflowChecks) sees which role is granted, not a reference.
      this.prerequisites.push(new ProjectIamMember(this, "BackupRoleMember", {
        project: props.projectId,
        role: `projects/${props.projectId}/roles/${roleId}`,
        member: this.member,
        dependsOn: [role],
      }));
      this.backupInstance = `${props.projectId}/${props.database.instanceName}`;
    }

    if (this.basicAuth) {
      const adminPassword = new MlflowGeneratedSecret(this, "AdminPassword", {
        projectId: props.projectId,
        secretId: `${this.namePrefix}-admin-password`,
        labels: props.labels,
        location: props.region,
      });
      const flaskSecretKey = new MlflowGeneratedSecret(this, "FlaskSecretKey", {
        projectId: props.projectId,
        secretId: `${this.namePrefix}-flask-secret-key`,
        labels: props.labels,
        location: props.region,
        length: 48,
      });
      this.prerequisites.push(
        adminPassword.grantAccess(this.member), adminPassword.ready,
        flaskSecretKey.grantAccess(this.member), flaskSecretKey.ready,
      );
      this.adminPasswordSecret = adminPassword;
      this.flaskSecretKeySecret = flaskSecretKey;
    }
  }
}

/**
 * A cutoff as uv reads it: a date alone means its midnight UTC, passed as that instant (uv
 * 0.12.5 would read a bare date as the END of that day in local time: astral-sh/uv
 * crates/uv-distribution-types/src/exclude_newer.rs).
 */
export function normalizeCutoff(cutoff: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(cutoff) ? `${cutoff}T00:00:00Z` : cutoff;
}

const PERMISSIONS: readonly MlflowPermission[] = ["READ", "EDIT", "MANAGE", "NO_PERMISSIONS"];

/** The options every server kind checks the same way. */
export interface MlflowRuntimeValidationInput {
  readonly mlflowVersion?: string;
  readonly dependencyCutoff?: string;
  readonly auth?: MlflowAuthOptions;
}

/**
 * Checks `mlflowVersion`, `dependencyCutoff` and `auth`. An MLflow newer than the library's
 * default was released after the default cutoff, so it cannot be resolved with it: such a
 * version needs an explicit `dependencyCutoff` past its release.
 */
export function validateRuntimeOptions(v: Validator, props: MlflowRuntimeValidationInput): void {
  v.check("mlflowVersion", props.mlflowVersion, MLFLOW_VERSION.test, MLFLOW_VERSION.expected);
  v.check("dependencyCutoff", props.dependencyCutoff, DEPENDENCY_CUTOFF.test, DEPENDENCY_CUTOFF.expected);
  if (props.dependencyCutoff === undefined && typeof props.mlflowVersion === "string" && MLFLOW_VERSION.test(props.mlflowVersion) &&
    compareVersions(props.mlflowVersion, DEFAULT_MLFLOW_VERSION) > 0) {
    v.fail("dependencyCutoff", props.dependencyCutoff,
      `an instant after the release of mlflowVersion ${props.mlflowVersion} (newer than this library's default ` +
      `${DEFAULT_MLFLOW_VERSION}, so released after the default cutoff ${DEFAULT_DEPENDENCY_CUTOFF}, which cannot resolve it)`);
  }
  v.check("auth.defaultPermission", props.auth?.defaultPermission, oneOf(PERMISSIONS).test, oneOf(PERMISSIONS).expected);
}

/** Compares two dotted version numbers ("3.18.0" < "3.19.0"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
