// MlflowTrackingStack: one shared, secure MLflow tracking server on Google Cloud in one
// stack. Configures the providers, enables the APIs, composes the four sub-constructs and
// emits the outputs a user needs to connect.
import { Construct } from "constructs";
import { Aspects, TerraformStack, TerraformOutput, TerraformResource, dependable } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { MlflowNetwork, MlflowNetworkOptions, validateNetworkOptions } from "../constructs/network";
import { MlflowDatabase, MlflowDatabaseOptions, validateDatabaseOptions } from "../constructs/database";
import {
  MlflowArtifactStore, MlflowArtifactStoreOptions, defaultBucketName, validateArtifactStoreOptions,
} from "../constructs/artifact-store";
import {
  MlflowTrackingServer, MlflowServerOptions, MlflowAccessOptions, MlflowAuthOptions, validateServerOptions,
} from "../constructs/tracking-server";
import { DEFAULT_NAME_PREFIX, Validator, checkCommonProps } from "./validation";
import { checkStackPropTypes, checkUniqueNames } from "./private/validate-stack";
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
}

/** The Google APIs the stack uses; `iap` only in private mode, `dns` only with a DNS zone. */
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
    // First: nothing below may read a prop of the wrong type.
    validateStackProps(this, props);
    this.zone = props.zone ?? `${props.region}-b`;
    this.namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    const labels = { ...(props.labels ?? {}) };
    const mode = props.access?.mode ?? "private";

    new GoogleProvider(this, "google", { project: props.projectId, region: props.region, zone: this.zone });
    new RandomProvider(this, "random");

    const services = requiredApis(mode, props.access?.dnsZone !== undefined).map(
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
      // Public mode gives the VM an external IP; private mode needs NAT to reach mirrors, and
      // Private Google Access on an existing subnetwork so artifacts do not cross the NAT.
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
    this.server = new MlflowTrackingServer(this, "Server", {
      ...props.server,
      ...common,
      zone: this.zone,
      mlflowVersion: props.mlflowVersion,
      network: this.network,
      database: this.database,
      artifactStore: this.artifactStore,
      access: props.access,
      auth: props.auth,
    });

    // Nothing may be created before its API is on. `dependable` renders the plain address
    // (`google_project_service.Api-compute`) that depends_on needs, not an interpolation.
    for (const construct of [this.network, this.database, this.artifactStore, this.server]) {
      for (const child of construct.node.findAll()) {
        if (child instanceof TerraformResource) {
          child.dependsOn = [...(child.dependsOn ?? []), ...services.map((s) => dependable(s))];
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
  validateServerOptions(v, { ...props.server, mlflowVersion: props.mlflowVersion, access: props.access, auth: props.auth });
  const claimNames = checkUniqueNames(v, stack, {
    projectId: props.projectId, namePrefix, bucketName, bucketNameGiven: props.artifactStore?.bucketName !== undefined,
  });
  v.throwIfInvalid(stack.node.path);
  claimNames();
}
