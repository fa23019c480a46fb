// MlflowTrackingStack: one shared, secure MLflow tracking server on Google Cloud in one
// stack. Configures the providers, enables the APIs, composes the four sub-constructs and
// emits the outputs a user needs to connect.
import { Construct } from "constructs";
import { Aspects, TerraformStack, TerraformOutput, TerraformResource, dependable } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import { MlflowNetwork, MlflowNetworkOptions, validateNetworkOptions } from "../constructs/network";
import { MlflowDatabase, MlflowDatabaseOptions, validateDatabaseOptions } from "../constructs/database";
import {
  MlflowArtifactStore, MlflowArtifactStoreOptions, defaultBucketName, validateArtifactStoreOptions,
} from "../constructs/artifact-store";
import {
  MlflowTrackingServer, MlflowServerOptions, MlflowAccessOptions, MlflowAuthOptions, validateServerOptions, checkVmConnectionBudget,
} from "../constructs/tracking-server";
import { defaultMaxConnections } from "./connection-budget";
import { MlflowOperationsOptions } from "../constructs/server-base";
import { DEFAULT_NAME_PREFIX, Validator, checkCommonProps } from "./validation";
import { MlflowChecks } from "./checks";

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
   * Exact MLflow version installed on the server (with pinned psycopg2-binary and
   * google-cloud-storage). Changing it replaces the VM and migrates the schema.
   * @default "3.18.0"
   */
  readonly mlflowVersion?: string;
  /**
   * Instant every unpinned Python dependency of the server is resolved at (uv
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
  /** @default - e2-medium, debian-cloud/debian-12, port 5000 */
  readonly server?: MlflowServerOptions;
  /** @default { mode: "private" } */
  readonly access?: MlflowAccessOptions;
  /** @default { basicAuth: true, defaultPermission: "READ" } */
  readonly auth?: MlflowAuthOptions;
  /** @default { backupBeforeUpgrade: true } */
  readonly operations?: MlflowOperationsOptions;
}

/**
 * How long the first apply waits between enabling the APIs and using them: a just-enabled
 * API can still answer 403 SERVICE_DISABLED for a while, and the provider does not retry
 * that error.
 */
export const API_SETTLE_DURATION = "60s";

/**
 * The Google APIs the stack uses; `iap` only in private mode, `dns` only with a DNS zone
 * (public or private).
 */
export function requiredApis(mode: "private" | "public", dnsZone = false): string[] {
  // cloudresourcemanager: project-level IAM grants (log and metric writer) go through it.
  const apis = ["compute", "sqladmin", "servicenetworking", "secretmanager", "iam", "storage", "cloudresourcemanager"];
  if (mode === "private") apis.push("iap");
  if (dnsZone) apis.push("dns");
  return apis.map((a) => `${a}.googleapis.com`);
}

/** A complete MLflow tracking deployment: network, Cloud SQL, GCS, VM, outputs. */
export class MlflowTrackingStack extends TerraformStack {
  public readonly network: MlflowNetwork;
  public readonly database: MlflowDatabase;
  public readonly artifactStore: MlflowArtifactStore;
  public readonly server: MlflowTrackingServer;
  public readonly zone: string;
  public readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: MlflowTrackingStackProps) {
    super(scope, id);
    this.zone = props.zone ?? `${props.region}-b`;
    this.namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    const labels = { ...(props.labels ?? {}) };
    const mode = props.access?.mode ?? "private";
    validateStackProps(props, this.zone, this.namePrefix, this.node.path);

    new GoogleProvider(this, "google", { project: props.projectId, region: props.region, zone: this.zone });
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
      // Public mode gives the VM an external IP; private mode needs NAT to reach mirrors.
      enableNat: props.network?.enableNat ?? mode === "private",
    });
    this.database = new MlflowDatabase(this, "Database", {
      ...props.database,
      ...common,
      zone: this.zone,
      network: this.network,
    });
    this.artifactStore = new MlflowArtifactStore(this, "ArtifactStore", { ...props.artifactStore, ...common });
    this.server = new MlflowTrackingServer(this, "Server", {
      ...props.server,
      ...common,
      zone: this.zone,
      mlflowVersion: props.mlflowVersion,
      dependencyCutoff: props.dependencyCutoff,
      operations: props.operations,
      network: this.network,
      database: this.database,
      artifactStore: this.artifactStore,
      access: props.access,
      auth: props.auth,
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
    for (const construct of [this.network, this.database, this.artifactStore, this.server]) {
      for (const child of construct.node.findAll()) {
        if (child instanceof TerraformResource) {
          child.dependsOn = [...(child.dependsOn ?? []), dependable(settle)];
        }
      }
    }

    this.createOutputs(props);

    // The policy pack runs on every synth of this stack: errors fail it, warnings are
    // reported; accept a finding with MlflowChecks.suppress(construct, ruleId, reason).
    Aspects.of(this).add(new MlflowChecks());
  }

  private createOutputs(props: MlflowTrackingStackProps): void {
    const output = (id: string, value: string, description: string) =>
      new TerraformOutput(this, id, { value, description, staticId: true });
    output("tracking_uri", this.server.trackingUri,
      this.server.accessMode === "private"
        ? "MLFLOW_TRACKING_URI while the IAP tunnel (iap_tunnel_command) is open"
        : "MLFLOW_TRACKING_URI of the server");
    output("artifact_bucket", this.artifactStore.bucketName, "GCS bucket that holds the artifacts (written by the server only)");
    output("database_instance", this.database.instanceName, "Cloud SQL instance of the backend store");
    output("server_instance", this.server.instanceName, "Compute Engine VM that runs mlflow server");
    output("server_zone", this.zone, "Zone of the VM");
    output("internal_tracking_uri", this.server.internalTrackingUri,
      this.server.domain
        ? "MLFLOW_TRACKING_URI for clients inside the VPC (the domain must resolve to the server's internal address there: access.privateDns)"
        : "MLFLOW_TRACKING_URI for clients inside the VPC (the server's reserved internal address)");
    output("teardown_commands", teardownCommands(this, props),
      "What `cdktf destroy` needs before and after it, in order (see the README's Tear down)");
    output("admin_password_secret", this.server.adminPasswordSecret?.secretId ?? "",
      this.server.adminPasswordSecret
        ? `Secret Manager secret with the MLflow admin password: gcloud secrets versions access latest --secret=${this.server.adminPasswordSecret.secretId} --project=${props.projectId}`
        : "Basic auth is off: no admin password");
    if (this.server.dnsRecordNeeded) {
      output("dns_record_needed", this.server.dnsRecordNeeded,
        "Create this A record for the domain; Caddy obtains the certificate once it resolves");
    }
    if (this.server.iapTunnelCommand) {
      output("iap_tunnel_command", this.server.iapTunnelCommand, "Opens a tunnel from localhost to the server through IAP");
    }
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
  if (stack.database.deletionProtection) {
    steps.push("set database.deletionProtection: false and deploy (Cloud SQL refuses to delete a protected instance)");
  }
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

/**
 * Checks every prop of the stack and of the sub-constructs it builds, and throws one
 * MlflowValidationError listing all problems.
 */
function validateStackProps(props: MlflowTrackingStackProps, zone: string, namePrefix: string, path: string): void {
  const v = new Validator();
  checkCommonProps(v, { ...props, zone });
  validateNetworkOptions(v, props.network ?? {});
  validateDatabaseOptions(v, props.database ?? {});
  const bucketName = props.artifactStore?.bucketName ?? defaultBucketName(props.projectId, namePrefix);
  validateArtifactStoreOptions(v, props.artifactStore ?? {}, bucketName);
  validateServerOptions(v, {
    ...props.server, mlflowVersion: props.mlflowVersion, dependencyCutoff: props.dependencyCutoff, access: props.access, auth: props.auth,
  });
  if (!v.hasProblems) {
    const tier = props.database?.tier ?? "db-g1-small";
    checkVmConnectionBudget(v, { ...props.server, auth: props.auth }, props.database?.maxConnections ?? defaultMaxConnections(tier));
  }
  v.throwIfInvalid(path);
}
