// MlflowTrackingStack: one shared, secure MLflow tracking server on Google Cloud in one
// stack. Configures the providers, enables the APIs, composes the sub-constructs (a VM or a
// Cloud Run service as the server, by `server.kind`) and emits the outputs a user needs to
// connect.
import { Construct } from "constructs";
import { Annotations, Aspects, TerraformStack, TerraformOutput, TerraformResource, dependable } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import { MlflowNetwork, MlflowNetworkOptions, validateNetworkOptions } from "../constructs/network";
import { MlflowDatabase, MlflowDatabaseOptions, maxConnectionsOf, validateDatabaseOptions } from "../constructs/database";
import {
  MlflowArtifactStore, MlflowArtifactStoreOptions, defaultBucketName, validateArtifactStoreOptions,
} from "../constructs/artifact-store";
import {
  MlflowTrackingServer, MlflowVmServerOptions, validateServerOptions, checkVmConnectionBudget,
} from "../constructs/tracking-server";
import {
  MlflowCloudRunServer, MlflowCloudRunServerOptions, checkCloudRunConnectionBudget, defaultMaxInstances, validateCloudRunOptions,
} from "../constructs/cloud-run-server";
import {
  IMlflowServer, MlflowAccessMode, MlflowAccessOptions, MlflowAuthOptions, MlflowOperationsOptions, MlflowServerKind,
} from "../constructs/server-base";
import { MlflowOperations } from "../constructs/operations";
import { validateOperationsOptions } from "./operations";
import { loadBetaProvider } from "./private/optional-providers";
import { DEFAULT_SUBNET_CIDR } from "../constructs/network";
import { DEFAULT_NAME_PREFIX, Validator, checkCommonProps, isToken } from "./validation";
import { checkStackPropTypes, checkUniqueNames } from "./private/validate-stack";
import { MlflowChecks } from "./checks";
import { takeCheckedTerraform } from "./checks/mlflow-checks";

/** The `server` prop: the VM kind (default) or the Cloud Run kind, told apart by `kind`. */
export type MlflowServerOptions = MlflowVmServerOptions | MlflowCloudRunServerOptions;

export interface MlflowTrackingStackProps {
  /** Google Cloud project to deploy into. */
  readonly projectId: string;
  /** Region of every regional resource, e.g. `europe-west1`. */
  readonly region: string;
  /** Zone of the VM (and the Cloud SQL primary); must lie in `region`. @default "${region}-b" */
  readonly zone?: string;
  /** Prefix of every resource name; no random suffixes anywhere. @default "mlflow" */
  readonly namePrefix?: string;
  /** Labels applied to every resource that takes labels. @default {} */
  readonly labels?: Record<string, string>;
  /**
   * Exact MLflow version of the server: installed on the VM (with pinned psycopg2-binary and
   * google-cloud-storage), or the official image's tag on Cloud Run. Changing it migrates the
   * schema (after a backup) and replaces the VM or rolls out a new revision.
   * @default "3.18.0"
   */
  readonly mlflowVersion?: string;
  /**
   * Instant every unpinned Python dependency of the VM's server is resolved at (uv
   * `--exclude-newer`), so a replaced VM installs exactly what was reviewed. An
   * `mlflowVersion` newer than the default needs a cutoff after its release.
   * @default DEFAULT_DEPENDENCY_CUTOFF ("2026-11-28T00:00:00Z")
   */
  readonly dependencyCutoff?: string;
  /** @default - a new VPC and subnetwork */
  readonly network?: MlflowNetworkOptions;
  /** @default - POSTGRES_16, ENTERPRISE edition, db-g1-small, ZONAL, 10 GB */
  readonly database?: MlflowDatabaseOptions;
  /** @default - bucket "${projectId}-${namePrefix}-artifacts" in `region` */
  readonly artifactStore?: MlflowArtifactStoreOptions;
  /** @default - the VM kind: e2-medium, debian-cloud/debian-12, port 5000 */
  readonly server?: MlflowServerOptions;
  /** @default - { mode: "private" } for the VM kind, { mode: "iap" } for Cloud Run */
  readonly access?: MlflowAccessOptions;
  /** @default { basicAuth: true, defaultPermission: "READ" } */
  readonly auth?: MlflowAuthOptions;
  /**
   * gc, health alerting and backups before migrations.
   * @default - gc daily at 04:00 UTC of what was deleted 30 days ago, health alerting without notification channels, a backup before migrations
   */
  readonly operations?: MlflowOperationsOptions;
}

/**
 * How long the first apply waits between enabling the APIs and using them: a just-enabled
 * API can still answer 403 SERVICE_DISABLED for a while, and the provider does not retry
 * that error.
 */
export const API_SETTLE_DURATION = "60s";

/**
 * The Google APIs the stack uses (`<name>.googleapis.com`) for an access mode (which also
 * tells the server kind): `iap` for private VMs and the Cloud Run iap mode, Cloud Run,
 * Artifact Registry and Cloud Scheduler (gc) for the Cloud Run kind, `dns` only with a DNS
 * zone (public or private), Monitoring (alert policies, notification channels) always.
 * `MlflowTrackingStack` enables them itself; a stack built from the sub-constructs enables
 * them with `google_project_service` (see the README).
 */
export function requiredApis(mode: MlflowAccessMode, dnsZone = false): string[] {
  // cloudresourcemanager: project-level IAM grants (log and metric writer) go through it.
  const apis = ["compute", "sqladmin", "servicenetworking", "secretmanager", "iam", "storage", "cloudresourcemanager", "monitoring"];
  if (mode === "iap" || mode === "internal") apis.push("run", "artifactregistry", "cloudscheduler");
  if (mode === "private" || mode === "iap") apis.push("iap");
  if (dnsZone) apis.push("dns");
  return apis.map((a) => `${a}.googleapis.com`);
}

/**
 * A complete MLflow tracking deployment: network, Cloud SQL, GCS, the server, outputs. Every
 * output is also an attribute of the stack (`tracking_uri` is `trackingUri`, …), for other
 * stacks and tests.
 */
export class MlflowTrackingStack extends TerraformStack {
  public readonly network: MlflowNetwork;
  public readonly database: MlflowDatabase;
  public readonly artifactStore: MlflowArtifactStore;
  /** The tracking server: an `MlflowTrackingServer` (VM) or an `MlflowCloudRunServer`. */
  public readonly server: IMlflowServer;
  /** Alert policies and notification channels. */
  public readonly operations: MlflowOperations;
  public readonly kind: MlflowServerKind;
  public readonly zone: string;
  public readonly namePrefix: string;
  /**
   * The `google` provider this stack configures (construct id `google`): set provider
   * settings the stack does not offer on it, e.g. `stack.googleProvider.userProjectOverride = true`.
   */
  public readonly googleProvider: GoogleProvider;
  /** Output `tracking_uri`: MLFLOW_TRACKING_URI (in private mode, while the IAP tunnel is open). */
  public readonly trackingUri: string;
  /** Output `artifact_bucket`: the GCS bucket that holds the artifacts. */
  public readonly artifactBucket: string;
  /** Output `database_instance`: the Cloud SQL instance name. */
  public readonly databaseInstance: string;
  /**
   * Output `admin_password_secret`: the Secret Manager secret id of the MLflow admin
   * password (its name, never the value); undefined when basic auth is off (the output is
   * then empty).
   */
  public readonly adminPasswordSecret?: string;
  /** Output `teardown_commands`: what `cdktf destroy` needs before and after it, in order. */
  public readonly teardownCommands: string;
  /** Output `server_instance` (VM kind): the VM's name. */
  public readonly serverInstance?: string;
  /** Output `server_zone` (VM kind): the VM's zone. */
  public readonly serverZone?: string;
  /** Output `internal_tracking_uri` (VM kind): MLFLOW_TRACKING_URI for clients inside the VPC. */
  public readonly internalTrackingUri?: string;
  /** Output `iap_tunnel_command` (VM, private mode): the gcloud command that opens the tunnel. */
  public readonly iapTunnelCommand?: string;
  /** Output `dns_record_needed` (VM, a domain without `access.dnsZone`): the A record to create. */
  public readonly dnsRecordNeeded?: string;
  /** Output `server_service` (Cloud Run kind): the Cloud Run service's name. */
  public readonly serverService?: string;
  /** Output `migration_job` (Cloud Run kind): the job that migrates the schema. */
  public readonly migrationJob?: string;

  constructor(scope: Construct, id: string, props: MlflowTrackingStackProps) {
    super(scope, id);
    // First: nothing below may read a prop of the wrong type.
    validateStackProps(this, props);
    this.kind = props.server?.kind ?? "vm";
    this.zone = props.zone ?? `${props.region}-b`;
    this.namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    const labels = { ...(props.labels ?? {}) };
    const mode: MlflowAccessMode = props.access?.mode ?? (this.kind === "cloud-run" ? "iap" : "private");

    const providerConfig = { project: props.projectId, region: props.region, zone: this.zone };
    this.googleProvider = new GoogleProvider(this, "google", providerConfig);
    if (this.kind === "cloud-run") {
      const { GoogleBetaProvider } = loadBetaProvider();
      new GoogleBetaProvider(this, "google-beta", providerConfig);
    }
    new RandomProvider(this, "random");
    new TimeProvider(this, "time");

    const usesDns = props.access?.dnsZone !== undefined || props.access?.privateDns === true;
    const apis = requiredApis(mode, usesDns);
    const services = apis.map(
      (service) =>
        new ProjectService(this, `Api-${service.split(".")[0]}`, {
          project: props.projectId,
          service,
          // Other workloads in the project may use these APIs: never turn them off on destroy.
          disableOnDestroy: false,
        }),
    );

    const common = { projectId: props.projectId, region: props.region, namePrefix: this.namePrefix, labels };
    this.network = new MlflowNetwork(this, "Network", {
      ...props.network,
      projectId: props.projectId,
      region: props.region,
      namePrefix: this.namePrefix,
      labels,
      // Only a VM without an external IP (private mode) needs NAT to reach package mirrors,
      // and Private Google Access on an existing subnetwork so artifacts do not cross the NAT;
      // Cloud Run pulls through Artifact Registry and egresses privately only to Cloud SQL.
      enableNat: props.network?.enableNat ?? mode === "private",
      requirePrivateGoogleAccess: props.network?.requirePrivateGoogleAccess ?? mode === "private",
    });
    this.database = new MlflowDatabase(this, "Database", {
      ...props.database,
      ...common,
      zone: this.zone,
      network: this.network,
    });
    this.artifactStore = new MlflowArtifactStore(this, "ArtifactStore", { ...props.artifactStore, ...common });
    const serverProps = {
      ...common,
      mlflowVersion: props.mlflowVersion,
      dependencyCutoff: props.dependencyCutoff,
      operations: props.operations,
      network: this.network,
      database: this.database,
      artifactStore: this.artifactStore,
      access: props.access,
      auth: props.auth,
    };
    this.server = props.server?.kind === "cloud-run"
      ? new MlflowCloudRunServer(this, "Server", { ...props.server, ...serverProps })
      : new MlflowTrackingServer(this, "Server", { ...(props.server as MlflowVmServerOptions | undefined), ...serverProps, zone: this.zone });
    this.operations = new MlflowOperations(this, "Operations", {
      ...common,
      server: this.server,
      database: this.database,
      uptimeCheck: props.operations?.uptimeCheck,
      alertEmails: props.operations?.alertEmails,
    });

    // Nothing may be created before its API is on and has settled: a just-enabled API may
    // still answer 403 SERVICE_DISABLED, which the provider does not retry
    // (terraform-provider-google v6.50.0 transport/error_retry_predicates.go retries a
    // service still being *activated*, not one reported as disabled). The sleep is
    // re-created, and waited for again, only when the set of APIs changes. `dependable`
    // renders the plain address (`time_sleep.ApiSettle`) that depends_on needs.
    const settle = new Sleep(this, "ApiSettle", {
      createDuration: API_SETTLE_DURATION,
      triggers: Object.fromEntries(services.map((s, i) => [apis[i], s.id])),
      dependsOn: services,
    });
    for (const construct of [this.network, this.database, this.artifactStore, this.server, this.operations]) {
      for (const child of construct.node.findAll()) {
        if (child instanceof TerraformResource) {
          child.dependsOn = [...(child.dependsOn ?? []), dependable(settle)];
        }
      }
    }

    const server = this.server;
    this.trackingUri = server.trackingUri;
    this.artifactBucket = this.artifactStore.bucketName;
    this.databaseInstance = this.database.instanceName;
    this.adminPasswordSecret = server.adminPasswordSecret?.secretId;
    this.teardownCommands = teardownCommands(this, props);
    if (server instanceof MlflowTrackingServer) {
      this.serverInstance = server.instanceName;
      this.serverZone = this.zone;
      this.internalTrackingUri = server.internalTrackingUri;
      this.iapTunnelCommand = server.iapTunnelCommand;
      this.dnsRecordNeeded = server.dnsRecordNeeded;
    } else if (server instanceof MlflowCloudRunServer) {
      this.serverService = server.serviceName;
      this.migrationJob = server.migrationJobName;
    }
    this.createOutputs(props);

    if (mode === "private" && (props.access?.iapMembers ?? []).length === 0) {
      Annotations.of(this).addWarning(
        "access.iapMembers is empty: in private mode only principals with IAP tunnel access on the whole project " +
          "(roles/iap.tunnelResourceAccessor, or owners) can reach the server. Add the team to access.iapMembers " +
          '(e.g. "group:ml-team@example.com") and deploy again.');
    }

    // The policy pack runs on every synth of this stack: errors fail it, warnings are
    // reported; accept a finding with MlflowChecks.suppress(construct, ruleId, reason).
    Aspects.of(this).add(new MlflowChecks());
  }

  /**
   * The stack's Terraform JSON. Within a synth, the policy pack has just resolved it to check
   * it: that result is used instead of resolving the stack a second time.
   */
  public toTerraform(): any {
    return takeCheckedTerraform(this) ?? super.toTerraform();
  }

  /** One output per attribute above (the attributes are set first). */
  private createOutputs(props: MlflowTrackingStackProps): void {
    const output = (id: string, value: string | undefined, description: string) => {
      if (value !== undefined) new TerraformOutput(this, id, { value, description, staticId: true });
    };
    const privateVm = this.server instanceof MlflowTrackingServer && this.server.accessMode === "private";
    output("tracking_uri", this.trackingUri,
      privateVm ? "MLFLOW_TRACKING_URI while the IAP tunnel (iap_tunnel_command) is open" : "MLFLOW_TRACKING_URI of the server");
    output("artifact_bucket", this.artifactBucket, "GCS bucket that holds the artifacts (written by the server only)");
    output("database_instance", this.databaseInstance, "Cloud SQL instance of the backend store");
    output("admin_password_secret", this.adminPasswordSecret ?? "",
      this.adminPasswordSecret
        ? `Secret Manager secret with the MLflow admin password: gcloud secrets versions access latest --secret=${this.adminPasswordSecret} --project=${props.projectId}`
        : "Basic auth is off: no admin password");
    output("server_instance", this.serverInstance, "Compute Engine VM that runs mlflow server");
    output("server_zone", this.serverZone, "Zone of the VM");
    output("internal_tracking_uri", this.internalTrackingUri,
      this.server instanceof MlflowTrackingServer && this.server.domain
        ? "MLFLOW_TRACKING_URI for clients inside the VPC (the domain must resolve to the server's internal address there: access.privateDns)"
        : "MLFLOW_TRACKING_URI for clients inside the VPC (the server's reserved internal address)");
    output("dns_record_needed", this.dnsRecordNeeded, "Create this A record for the domain; Caddy obtains the certificate once it resolves");
    output("iap_tunnel_command", this.iapTunnelCommand, "Opens a tunnel from localhost to the server through IAP");
    output("server_service", this.serverService, "Cloud Run service that runs mlflow server");
    output("migration_job", this.migrationJob, "Cloud Run job that backs up and migrates the schema before a new revision serves");
    output("teardown_commands", this.teardownCommands, "What `cdktf destroy` needs before and after it, in order (see the README's Tear down)");
  }
}

/**
 * The tear-down, step by step: what `destroy` refuses (deletion protection, a non-empty
 * versioned bucket) and what it leaves behind (the abandoned service-networking peering,
 * which keeps the range and the VPC from being deleted).
 */
function teardownCommands(stack: MlflowTrackingStack, props: MlflowTrackingStackProps): string {
  const project = `--project=${props.projectId}`;
  const steps: string[] = [];
  const protectedThings = [
    ...(stack.database.deletionProtection ? ["database.deletionProtection: false (Cloud SQL refuses to delete a protected instance)"] : []),
    ...(stack.server instanceof MlflowCloudRunServer && stack.server.deletionProtection
      ? ["server.deletionProtection: false (the Cloud Run service and jobs are protected)"] : []),
  ];
  if (protectedThings.length > 0) steps.push(`set ${protectedThings.join(" and ")}, and deploy`);
  const bucket = stack.artifactStore.node.defaultChild as TerraformResource;
  steps.push(
    `keep the artifacts: cd cdktf.out/stacks/${stack.node.id} && terraform state rm ${bucket.terraformResourceType}.${bucket.friendlyUniqueId}` +
      ` — or delete them: gcloud storage rm --recursive --all-versions gs://${stack.artifactStore.bucketName}/** ${project}`,
    stack.network.privateServicesAccess
      ? "cdktf destroy (it stops at the private services range, which the abandoned peering still uses; that is expected)"
      : "cdktf destroy",
  );
  if (stack.network.privateServicesAccess) {
    // ABANDON left the peering (provider 6.50.0 has no REMOVE_PEERING); deleting the
    // connection through Service Networking fails while Cloud SQL's producer resources
    // linger after the instance (terraform-provider-google#16275, #18834), deleting the
    // peering itself does not.
    steps.push(
      `gcloud compute networks peerings delete servicenetworking-googleapis-com --network=${stack.network.networkName} ${project}` +
        ", then cdktf destroy again (it removes the range and the VPC)",
    );
  }
  steps.push(
    `backups stay after the instance is gone (retainBackupsOnDelete; on-demand ones until deleted): gcloud sql backups list --instance=- ${project}`,
  );
  return steps.map((s, i) => `${i + 1}. ${s}`).join("\n");
}

/** Options that belong to one server kind only, with the kind they belong to. */
const KIND_OPTIONS: Record<MlflowServerKind, { server: string[]; access: string[] }> = {
  "vm": { server: ["machineType", "bootImage", "bootDiskSizeGb", "port"], access: ["allowedSourceRanges", "internalSourceRanges", "domain", "dnsZone", "privateDns", "allowPlaintextHttp", "adminMembers"] },
  "cloud-run": { server: ["image", "minInstances", "maxInstances", "cpu", "memory", "deletionProtection"], access: ["invokerMembers", "programmaticClientIds"] },
};

/**
 * Checks every prop of the stack and of the sub-constructs it builds, and throws one
 * MlflowValidationError listing all problems. Runtime types first (lib/private/validate-stack.ts),
 * then the value rules of each options object on the well-typed values.
 */
function validateStackProps(stack: MlflowTrackingStack, rawProps: MlflowTrackingStackProps): void {
  const v = new Validator();
  const props = checkStackPropTypes(v, rawProps);
  const namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
  checkCommonProps(v, props);
  validateNetworkOptions(v, { ...props.network, projectId: props.projectId, region: props.region });
  validateDatabaseOptions(v, props.database ?? {});
  const bucketName = props.artifactStore?.bucketName ?? defaultBucketName(props.projectId, namePrefix);
  validateArtifactStoreOptions(v, props.artifactStore ?? {}, bucketName);
  const kind: MlflowServerKind = props.server?.kind === "cloud-run" ? "cloud-run" : "vm";
  validateOperationsOptions(v, props.operations);
  v.check("server.kind", props.server?.kind, (k: string) => k === "vm" || k === "cloud-run", '"vm" or "cloud-run"');
  const other: MlflowServerKind = kind === "vm" ? "cloud-run" : "vm";
  const server = (props.server ?? {}) as Record<string, unknown>;
  const access = (props.access ?? {}) as Record<string, unknown>;
  for (const key of KIND_OPTIONS[other].server) {
    if (server[key] !== undefined) v.fail(`server.${key}`, server[key], `no value with server.kind "${kind}" (an option of the "${other}" kind)`);
  }
  for (const key of KIND_OPTIONS[other].access) {
    if (access[key] !== undefined) v.fail(`access.${key}`, access[key], `no value with server.kind "${kind}" (an option of the "${other}" kind)`);
  }
  const maxConnections = maxConnectionsOf(props.database ?? {});
  const runtime = { mlflowVersion: props.mlflowVersion, dependencyCutoff: props.dependencyCutoff, access: props.access, auth: props.auth };
  if (kind === "cloud-run") {
    const cloudRun = props.server as MlflowCloudRunServerOptions;
    validateCloudRunOptions(v, { ...cloudRun, ...runtime });
    if (!v.hasProblems) {
      checkCloudRunConnectionBudget(v, { ...cloudRun, auth: props.auth }, maxConnections);
      checkDirectVpcEgressRoom(v, props.network ?? {}, cloudRun.maxInstances ?? defaultMaxInstances({ ...cloudRun, auth: props.auth }, maxConnections));
    }
  } else {
    validateServerOptions(v, { ...(props.server as MlflowVmServerOptions | undefined), ...runtime });
    if (!v.hasProblems) checkVmConnectionBudget(v, { ...(props.server as MlflowVmServerOptions | undefined), auth: props.auth }, maxConnections);
  }
  const claimNames = checkUniqueNames(v, stack, {
    projectId: props.projectId, namePrefix, bucketName, bucketNameGiven: props.artifactStore?.bucketName !== undefined,
  });
  v.throwIfInvalid(stack.node.path);
  claimNames();
}

/**
 * Direct VPC egress takes addresses from the subnetwork: the range must be /26 or larger, and
 * Cloud Run uses about twice as many addresses as instances in steady state, reserving them
 * 16 at a time (cloud.google.com/run/docs/configuring/vpc-direct-vpc; its best-practices page
 * also says four times, which is what is checked). Counted: both revisions of a rollout, the
 * migration job and the gc job. An existing subnetwork's range is only known at apply.
 */
function checkDirectVpcEgressRoom(v: Validator, network: MlflowNetworkOptions, maxInstances: number): void {
  if (network.existingSubnetwork !== undefined) return;
  const cidr = network.subnetCidr ?? DEFAULT_SUBNET_CIDR;
  if (isToken(cidr)) return;
  const prefix = Number(cidr.split("/")[1]);
  const needed = 4 * (2 * maxInstances + 2);
  const usable = 2 ** (32 - prefix) - 4; // GCP keeps four addresses of every primary range
  if (prefix > 26 || usable < needed) {
    v.fail("network.subnetCidr", cidr, `a range of /26 or larger with at least ${needed} usable addresses for Direct VPC egress of ${maxInstances} Cloud Run instances (4 × (2 revisions × ${maxInstances} + 2 jobs))`);
  }
}
