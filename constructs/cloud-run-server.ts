// The tracking server on Cloud Run: an autoscaled service (MLflow, with a Caddy sidecar that
// takes HTTP/2 so uploads are not capped at 32 MiB), Direct VPC egress to Cloud SQL's private
// IP, Identity-Aware Proxy with Google sign-in (iap mode) or VPC-only ingress (internal
// mode), and a migration job that backs up and migrates the schema before a new revision
// serves. The service account, its grants and the generated secrets come from
// MlflowServerBase (shared with the VM kind).
//
// Cloud Run resources use the google-beta provider (@cdktf/provider-google-beta 16.12.1 =
// google-beta 6.50.0): its google_cloud_run_v2_service has iap_enabled and its
// google_cloud_run_v2_job has run_execution_token, which the GA bindings lack.
import { createHash } from "crypto";
import { Construct } from "constructs";
import { Annotations, Fn, TerraformProvider, TerraformStack, Token } from "cdktf";
import type { ArtifactRegistryRepository } from "@cdktf/provider-google/lib/artifact-registry-repository";
import type { GoogleCloudRunV2Service } from "@cdktf/provider-google-beta/lib/google-cloud-run-v2-service";
import type { GoogleCloudRunV2Job } from "@cdktf/provider-google-beta/lib/google-cloud-run-v2-job";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import type { CloudRunV2Job } from "@cdktf/provider-google/lib/cloud-run-v2-job";
import type { CloudSchedulerJob } from "@cdktf/provider-google/lib/cloud-scheduler-job";
import {
  BETA_PROVIDER_PACKAGE, betaProviderInstalled,
  loadArtifactRegistryRepository, loadBetaCloudRunJob, loadBetaCloudRunService, loadBetaProjectServiceIdentity, loadBetaProvider,
  loadCloudRunV2Job, loadCloudRunV2JobIamMember, loadCloudRunV2ServiceIamMember, loadCloudSchedulerJob, loadDataGoogleProject,
  loadIapSettings, loadIapWebCloudRunServiceIamMember,
} from "../lib/private/optional-providers";
import type { IMlflowNetwork } from "./network";
import {
  MlflowAccessOptions, MlflowHealthTarget, MlflowGcTarget, MlflowServerBase, MlflowServerBaseProps, validateRuntimeOptions,
} from "./server-base";
import { escapeTerraformTemplate, readTemplate, renderTemplate } from "../lib/template";
import { memberBindingId } from "../lib/private/member-binding";
import { minHoursBetweenFires } from "../lib/schedule";
import { ServerEndpoint, allowedHosts, corsOrigins, gcEnvironment, serverEnvironment } from "../lib/server-runtime";
import { ConnectionPlan, checkConnectionBudget, planConnections } from "../lib/connection-budget";
import { Validator, checkMembers, intRange, oneOf } from "../lib/validation";

/** Options of the Cloud Run kind (`server` prop with `kind: "cloud-run"`). */
export interface MlflowCloudRunServerOptions {
  readonly kind: "cloud-run";
  /**
   * Container image of MLflow. It must contain MLflow (with `mlflow[auth]` for basic auth),
   * psycopg2 and google-cloud-storage, and run `python` and `mlflow`.
   * @default - the official `ghcr.io/mlflow/mlflow:v<mlflowVersion>-full`, pulled through an
   * Artifact Registry remote repository the stack creates
   */
  readonly image?: string;
  /** Instances kept warm (0 lets the service scale to zero: a cold start of about a minute). @default 1 */
  readonly minInstances?: number;
  /**
   * Most instances at once. Each holds its own database pools, and during a rollout the old
   * and the new revision overlap: the stack refuses a count whose connections cannot fit the
   * Cloud SQL tier.
   * @default - 3, or fewer when the database's max_connections needs it (2 on db-g1-small)
   */
  readonly maxInstances?: number;
  /** vCPUs per instance: "1", "2", "4", "6" or "8". @default "1" */
  readonly cpu?: string;
  /** Memory per instance, e.g. "2Gi" (uploads are spooled in memory). @default "2Gi" */
  readonly memory?: string;
  /** uvicorn workers per instance. @default 1 */
  readonly workers?: number;
  /** MLflow's job runner (MLFLOW_SERVER_ENABLE_JOB_EXECUTION). @default false */
  readonly enableJobExecution?: boolean;
  /**
   * Deletion protection of the service and the migration and gc jobs (the provider's default is
   * on): set it to `false` and deploy before a destroy.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

export interface MlflowCloudRunServerProps extends MlflowServerBaseProps, Omit<MlflowCloudRunServerOptions, "kind"> {
  /** The network whose subnetwork the instances egress into (Direct VPC egress). */
  readonly network: IMlflowNetwork;
  /** @default { mode: "iap" } */
  readonly access?: MlflowAccessOptions;
  /**
   * The google-beta provider the Cloud Run resources use.
   * @default - the stack's default google-beta provider, created (for projectId and region) when there is none
   */
  readonly betaProvider?: TerraformProvider;
}

/** The official image's registry, behind an Artifact Registry remote repository. */
export const MLFLOW_IMAGE_REGISTRY = "https://ghcr.io";
/**
 * The ingress sidecar: Caddy's official image (Docker Hub `library/caddy`, built from
 * caddyserver/caddy-docker), pinned to a release tag.
 */
export const CADDY_IMAGE = "library/caddy:2.11.2-alpine";
/** Port Caddy listens on for Cloud Run (named h2c), and MLflow's port behind it. */
export const INGRESS_PORT = 8080;
export const MLFLOW_PORT = 5000;
/** Most instances the library configures by default. */
export const DEFAULT_MAX_INSTANCES = 3;
/**
 * How long a gc run may take on Cloud Run: as long as on the VM (TimeoutStartSec=6h,
 * templates/mlflow-gc.service); a job task may run up to 24 h
 * (cloud.google.com/run/docs/configuring/task-timeout).
 */
export const GC_TASK_TIMEOUT_HOURS = 6;

/** vCPU → allowed memory (MiB) per Cloud Run instance (cloud.google.com/run/docs/configuring/services/cpu, memory-limits). */
export const CLOUD_RUN_CPU_MEMORY: Readonly<Record<string, readonly [number, number]>> = {
  "1": [512, 4096], "2": [512, 8192], "4": [2048, 16384], "6": [4096, 24576], "8": [4096, 32768],
};

/**
 * What the ingress sidecar (Caddy) takes of every instance. Cloud Run's limits are per
 * instance, summed over its containers (at most 8 vCPU; "the sum of all containers in the
 * instance", cloud.google.com/run/docs/configuring/instances/cpu), so MLflow's container
 * gets at most 8 less the sidecar's vCPU.
 */
export const INGRESS_SIDECAR_RESOURCES = { cpu: 1, memoryMiB: 512 } as const;
/** Cloud Run's largest instance: 8 vCPU (cloud.google.com/run/docs/configuring/services/cpu). */
const CLOUD_RUN_MAX_INSTANCE_CPU = 8;

/** Mebibytes of a Cloud Run memory quantity ("512Mi", "2Gi"), or undefined. */
export function memoryMiB(memory: string): number | undefined {
  const m = /^(\d+)(Mi|Gi)$/.exec(memory);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
}

/** MLflow on Cloud Run with IAP or VPC-only ingress, and its schema-migration job. */
export class MlflowCloudRunServer extends MlflowServerBase {
  public readonly kind = "cloud-run" as const;
  public readonly accessMode: "iap" | "internal";
  public readonly image: string;
  public readonly minInstances: number;
  public readonly maxInstances: number;
  public readonly cpu: string;
  public readonly memory: string;
  public readonly workers: number;
  public readonly enableJobExecution: boolean;
  public readonly deletionProtection: boolean;
  /** Service name. */
  public readonly serviceName: string;
  /** The service's deterministic URL, `https://<service>-<project number>.<region>.run.app`. */
  public readonly trackingUri: string;
  /** The Cloud Run service (escape hatch). */
  public readonly service: GoogleCloudRunV2Service;
  /** The job that backs up and migrates the schema before a new revision serves. */
  public readonly migrationJob: GoogleCloudRunV2Job;
  /** Name of the migration job. */
  public readonly migrationJobName: string;
  /** The job that runs `mlflow gc` (templates/mlflow-gc.py). */
  public readonly gcJob: CloudRunV2Job;
  /** Name of the gc job. */
  public readonly gcJobName: string;
  /** The Cloud Scheduler job that runs the gc job on `operations.gcSchedule` (UTC). */
  public readonly gcScheduler: CloudSchedulerJob;
  /** The service account Cloud Scheduler runs the gc job as (roles/run.invoker on that job only). */
  public readonly gcInvokerEmail: string;
  /** What health alerting watches: the service's own metrics. */
  public readonly healthTarget: MlflowHealthTarget;
  /** Where a failed gc shows: the gc job's container log. */
  public readonly gcTarget: MlflowGcTarget;

  constructor(scope: Construct, id: string, props: MlflowCloudRunServerProps) {
    super(scope, id, props,
      "Runs the MLflow tracking server on Cloud Run (cdktf-mlflow-gcp): artifact bucket objects, its own secrets, logs and metrics, Cloud SQL backups before migrations.",
      (v) => {
        validateCloudRunOptions(v, props);
        return checkCloudRunConnectionBudget(v, props, props.database.maxConnections);
      });
    const access = props.access ?? {};
    this.accessMode = (access.mode ?? "iap") as "iap" | "internal";
    this.cpu = props.cpu ?? "1";
    this.memory = props.memory ?? "2Gi";
    this.workers = props.workers ?? 1;
    this.minInstances = props.minInstances ?? 1;
    this.maxInstances = props.maxInstances ?? defaultMaxInstances(props, props.database.maxConnections);
    this.enableJobExecution = props.enableJobExecution ?? false;
    this.deletionProtection = props.deletionProtection ?? true;
    this.serviceName = `${this.namePrefix}-server`;
    this.migrationJobName = `${this.namePrefix}-migrate`;
    this.gcJobName = `${this.namePrefix}-gc`;
    const provider = props.betaProvider ?? betaProviderOf(this, props);
    this.healthTarget = { kind: "cloud-run", serviceName: this.serviceName, region: props.region, minInstances: this.minInstances };
    this.gcTarget = { kind: "cloud-run", jobName: this.gcJobName, region: props.region };

    // The deterministic URL: the service cannot reference its own URL, and MLflow's host
    // check and CORS list need it (cloud.google.com/run/docs/triggering/https-request).
    const { DataGoogleProject } = loadDataGoogleProject();
    const { ArtifactRegistryRepository } = loadArtifactRegistryRepository();
    const { CloudRunV2ServiceIamMember } = loadCloudRunV2ServiceIamMember();
    const project = new DataGoogleProject(this, "Project", { projectId: props.projectId });
    const host = `${this.serviceName}-${project.number}.${props.region}.run.app`;
    this.trackingUri = `https://${host}`;
    const endpoints: ServerEndpoint[] = [{ scheme: "https", host, port: 443 }];

    // Cloud Run pulls from Artifact Registry: remote repositories cache the upstream images
    // in the project (same project: the Cloud Run service agent may read them;
    // cloud.google.com/artifact-registry/docs/deploy).
    const repository = (id: string, repositoryId: string, description: string, docker: object) => new ArtifactRegistryRepository(this, id, {
      project: props.projectId,
      location: props.region,
      repositoryId,
      format: "DOCKER",
      mode: "REMOTE_REPOSITORY",
      description,
      labels: props.labels,
      remoteRepositoryConfig: { description, dockerRepository: docker },
    });
    const registry = `${props.region}-docker.pkg.dev/${props.projectId}`;
    const imageRepositories: ArtifactRegistryRepository[] = [];
    if (props.image === undefined) {
      imageRepositories.push(repository("MlflowImages", `${this.namePrefix}-ghcr`, "ghcr.io (official MLflow images)",
        { customRepository: { uri: MLFLOW_IMAGE_REGISTRY } }));
    }
    const dockerHub = repository("IngressImages", `${this.namePrefix}-dockerhub`, "Docker Hub (Caddy, the ingress sidecar)",
      { publicRepository: "DOCKER_HUB" });
    imageRepositories.push(dockerHub);
    this.image = props.image ?? `${registry}/${this.namePrefix}-ghcr/mlflow/mlflow:v${this.mlflowVersion}-full`;
    const caddyImage = `${registry}/${this.namePrefix}-dockerhub/${CADDY_IMAGE}`;

    // What every MLflow process of this kind gets: settings in plain variables, secrets as
    // Secret Manager references, the launcher that writes the CA and the INI and builds the
    // URI (templates/cloud-run-launcher.py).
    // The job's binding requires a version; "latest" is read when an instance starts.
    const secretEnv = (name: string, secretId: string): EnvVar => ({ name, valueSource: { secretKeyRef: { secret: secretId, version: "latest" } } });
    const connectionEnv: EnvVar[] = [
      { name: "DB_USER", value: props.database.userName },
      { name: "DB_HOST", value: props.database.host },
      { name: "DB_PORT", value: String(props.database.port) },
      { name: "DB_NAME", value: props.database.databaseName },
      { name: "DB_CA_CERT", value: props.database.serverCaCertificate },
      secretEnv("DB_PASSWORD", props.database.passwordSecret.secretId),
    ];
    // With basic auth, the launcher writes the INI (admin password included) for the server
    // and the migration; gc needs none of it.
    const databaseEnv: EnvVar[] = [
      ...connectionEnv,
      ...(this.basicAuth ? [
        secretEnv("MLFLOW_ADMIN_PASSWORD", this.adminPasswordSecret!.secretId),
        { name: "MLFLOW_ADMIN_USERNAME", value: "admin" },
        { name: "MLFLOW_DEFAULT_PERMISSION", value: this.defaultPermission },
      ] : []),
    ];
    // Program texts go into the JSON as they are: Terraform must not read a `${` or `%{` in them.
    const launcher = ["python", "-c", escapeTerraformTemplate(readTemplate("cloud-run-launcher.py"))];
    const vpcAccess = {
      // Direct VPC egress: the instances take addresses in the subnetwork and reach Cloud
      // SQL's private IP; Google APIs and the registry stay on Cloud Run's own path.
      networkInterfaces: [{ subnetwork: props.network.subnetworkId }],
      egress: "PRIVATE_RANGES_ONLY",
    };
    const resources = { limits: { cpu: this.cpu, memory: this.memory } };

    // The task of every job of this kind (the migration, gc): one container of the MLflow
    // image started through the launcher, with the server's service account and egress.
    const jobTemplate = (container: string, script: string, env: EnvVar[], maxRetries: number, timeout: string) => ({
      taskCount: 1,
      labels: props.labels,
      template: {
        serviceAccount: this.serviceAccountEmail,
        timeout,
        maxRetries,
        vpcAccess,
        containers: [{
          name: container,
          image: this.image,
          command: launcher,
          args: ["python", "-c", script],
          env,
          resources: { limits: { cpu: "1", memory: "2Gi" } },
        }],
      },
    });

    const upgradeScript = escapeTerraformTemplate(readTemplate("mlflow-db-upgrade.py"));
    const jobEnv: EnvVar[] = [
      ...databaseEnv,
      { name: "CLOUD_SQL_BACKUP_INSTANCE", value: this.backupInstance ?? "" },
      { name: "MLFLOW_CREATE_ADMIN_USER", value: "true" },
      { name: "MLFLOW_DISABLE_TELEMETRY", value: "true" },
    ];
    const { GoogleCloudRunV2Job } = loadBetaCloudRunJob();
    this.migrationJob = new GoogleCloudRunV2Job(this, "MigrationJob", {
      provider,
      project: props.projectId,
      location: props.region,
      name: this.migrationJobName,
      labels: props.labels,
      deletionProtection: this.deletionProtection,
      // A new execution on every change of what the migration depends on (the image, the
      // script, its settings); the job is ready only once it succeeded, and the service
      // depends on it, so a new revision never serves an unmigrated schema. A failed
      // migration fails the apply and the old revision keeps serving (google-beta 6.50.0
      // google_cloud_run_v2_job run_execution_token). Name + token < 63 characters.
      runExecutionToken: migrationToken(
        [upgradeScript, readTemplate("cloud-run-launcher.py"),
          ...jobEnv.map((e) => `${e.name}=${Token.isUnresolved(e.value ?? "") ? "<reference>" : e.value ?? e.valueSource?.secretKeyRef.secret}`)],
        [this.image, props.database.host, props.database.serverCaCertificate, props.database.instanceName],
      ),
      // A half-applied migration is not retried blindly: the apply fails and says so.
      template: jobTemplate("migrate", upgradeScript, jobEnv, 0, "3600s"),
      dependsOn: [...this.prerequisites, ...imageRepositories],
    });

    // gc: the same image, launcher, egress and identity as the migration (GA: it needs no
    // beta feature). Its pools are a server's, as the connection budget counts them.
    const gcEnv: EnvVar[] = [
      ...connectionEnv,
      ...Object.entries(gcEnvironment({
        poolSize: this.connectionPlan.poolSize,
        maxOverflow: this.connectionPlan.maxOverflow,
        olderThan: this.gcOlderThan,
        artifactsDestination: props.artifactStore.artifactsUri,
      })).map(([name, value]) => ({ name, value })),
    ];
    const { CloudRunV2Job } = loadCloudRunV2Job();
    this.gcJob = new CloudRunV2Job(this, "GcJob", {
      project: props.projectId,
      location: props.region,
      name: this.gcJobName,
      labels: props.labels,
      deletionProtection: this.deletionProtection,
      // Not retried: the next scheduled run retries what is left (gc is idempotent), and a
      // retry could overlap it. The task timeout: GC_TASK_TIMEOUT_HOURS.
      template: jobTemplate("gc", escapeTerraformTemplate(readTemplate("mlflow-gc.py")), gcEnv, 0, `${GC_TASK_TIMEOUT_HOURS * 3600}s`),
      dependsOn: [...this.prerequisites, ...imageRepositories],
    });

    // Cloud Scheduler's "never two simultaneously outstanding executions" (googleapis
    // google/cloud/scheduler/v1/job.proto, `schedule`) holds for its jobs.run call, which
    // returns once the execution exists; Cloud Run jobs have no setting against concurrent
    // executions. A schedule denser than the task timeout can run two gcs at once.
    const closest = minHoursBetweenFires(this.gcSchedule);
    if (closest < GC_TASK_TIMEOUT_HOURS) {
      Annotations.of(this).addWarning(`operations.gcSchedule "${this.gcSchedule}" starts gc as little as ${closest} h after the previous run, ` +
        `less than the gc job's ${GC_TASK_TIMEOUT_HOURS}-hour task timeout: Cloud Scheduler starts a new execution while one still runs, ` +
        "so two gc runs can overlap and fail on each other's deletions (and raise the gc alert). " +
        `Runs at least ${GC_TASK_TIMEOUT_HOURS} hours apart avoid it, e.g. "0 4 * * *".`);
    }

    // Cloud Scheduler runs the job with the Cloud Run Admin API's jobs.run, as a service
    // account of its own that may run this job and nothing else ("Cloud Run Invoker ... can
    // invoke Cloud Run services and execute Cloud Run jobs", granted on the job). The account
    // id is `<prefix>-gc-sched`: service account ids have at most 30 characters.
    const invoker = new ServiceAccount(this, "GcInvoker", {
      project: props.projectId,
      accountId: `${this.namePrefix}-gc-sched`,
      displayName: "MLflow gc schedule",
      description: `Cloud Scheduler runs the Cloud Run job ${this.gcJobName} as this account (cdktf-mlflow-gcp).`,
    });
    this.gcInvokerEmail = invoker.email;
    const { CloudRunV2JobIamMember } = loadCloudRunV2JobIamMember();
    const runGrant = new CloudRunV2JobIamMember(this, "GcInvokerRole", {
      project: props.projectId,
      location: props.region,
      name: this.gcJob.name,
      role: "roles/run.invoker",
      member: `serviceAccount:${invoker.email}`,
    });
    const { CloudSchedulerJob } = loadCloudSchedulerJob();
    this.gcScheduler = new CloudSchedulerJob(this, "GcSchedule", {
      project: props.projectId,
      region: props.region,
      name: this.gcJobName,
      description: `Runs mlflow gc (Cloud Run job ${this.gcJobName}) on operations.gcSchedule (cdktf-mlflow-gcp)`,
      schedule: this.gcSchedule,
      // Cloud Scheduler's default, written out: the VM kind reads the schedule in UTC too.
      timeZone: "Etc/UTC",
      // Retries the jobs.run call, not gc itself (the call returns once the execution exists).
      retryConfig: { retryCount: 3 },
      httpTarget: {
        httpMethod: "POST",
        uri: `https://run.googleapis.com/v2/projects/${props.projectId}/locations/${props.region}/jobs/${this.gcJob.name}:run`,
        // An OAuth access token for a Google API (an OIDC token is for calling services).
        oauthToken: { serviceAccountEmail: invoker.email, scope: "https://www.googleapis.com/auth/cloud-platform" },
      },
      dependsOn: [runGrant],
    });

    const serverArgs = [
      "mlflow", "server",
      "--host", "127.0.0.1",
      "--port", String(MLFLOW_PORT),
      "--workers", String(this.workers),
      "--serve-artifacts",
      "--artifacts-destination", props.artifactStore.artifactsUri,
      "--allowed-hosts", allowedHosts(endpoints).join(","),
      "--cors-allowed-origins", corsOrigins(endpoints).join(","),
      ...(this.basicAuth ? ["--app-name", "basic-auth"] : []),
    ];
    const environment = serverEnvironment({
      enableJobExecution: this.enableJobExecution,
      poolSize: this.connectionPlan.poolSize,
      maxOverflow: this.connectionPlan.maxOverflow,
    });
    const { GoogleCloudRunV2Service } = loadBetaCloudRunService();
    this.service = new GoogleCloudRunV2Service(this, "Resource", {
      provider,
      project: props.projectId,
      location: props.region,
      name: this.serviceName,
      labels: props.labels,
      deletionProtection: this.deletionProtection,
      ingress: this.accessMode === "iap" ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_ONLY",
      // IAP directly on the service: beta in 6.50.0, and the API wants the BETA launch stage
      // for it (the provider's own "Cloudrunv2 Service Iap" example).
      ...(this.accessMode === "iap" ? { iapEnabled: true, launchStage: "BETA" } : {}),
      template: {
        serviceAccount: this.serviceAccountEmail,
        labels: props.labels,
        // Large artifact uploads and downloads stream through one request: Cloud Run's
        // maximum request timeout (cloud.google.com/run/docs/configuring/request-timeout).
        timeout: "3600s",
        executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
        scaling: { minInstanceCount: this.minInstances, maxInstanceCount: this.maxInstances },
        vpcAccess,
        containers: [
          {
            name: "mlflow",
            image: this.image,
            command: launcher,
            args: serverArgs,
            env: [
              ...databaseEnv,
              ...Object.entries(environment).map(([name, value]) => ({ name, value })),
              ...(this.basicAuth ? [secretEnv("MLFLOW_FLASK_SERVER_SECRET_KEY", this.flaskSecretKeySecret!.secretId)] : []),
            ],
            resources: { ...resources, cpuIdle: true, startupCpuBoost: true },
            // Direct VPC egress can take a minute or more to connect at instance start
            // (cloud.google.com/run/docs/configuring/vpc-direct-vpc), and MLflow connects to
            // the database before it answers: up to 60 + 24 × 10 s. /health is served on
            // HTTP/1 (probes must be).
            startupProbe: {
              httpGet: { path: "/health", port: MLFLOW_PORT },
              initialDelaySeconds: 60,
              periodSeconds: 10,
              timeoutSeconds: 5,
              failureThreshold: 24,
            },
          },
          {
            name: "ingress",
            image: caddyImage,
            command: ["sh", "-c", 'printf "%s\\n" "$CADDYFILE" >/tmp/Caddyfile && exec caddy run --adapter caddyfile --config /tmp/Caddyfile'],
            env: [{ name: "CADDYFILE", value: escapeTerraformTemplate(renderCloudRunCaddyfile()) }],
            // The port named h2c: Cloud Run speaks HTTP/2 cleartext to it, so requests are
            // not capped at 32 MiB as HTTP/1 ones are (cloud.google.com/run/docs/configuring/http2).
            ports: { name: "h2c", containerPort: INGRESS_PORT },
            dependsOn: ["mlflow"],
            resources: {
              limits: { cpu: String(INGRESS_SIDECAR_RESOURCES.cpu), memory: `${INGRESS_SIDECAR_RESOURCES.memoryMiB}Mi` },
              cpuIdle: true,
            },
          },
        ],
      },
      dependsOn: [this.migrationJob, ...this.prerequisites],
    });

    if (this.accessMode === "iap") {
      // IAP calls the service as its service agent, which needs the invoker role; users
      // pass IAP with roles/iap.httpsResourceAccessor on this service only
      // (cloud.google.com/iap/docs/enabling-cloud-run). The agent is created explicitly:
      // enabling the API does not create it (google_project_service_identity, beta).
      const { GoogleProjectServiceIdentity } = loadBetaProjectServiceIdentity();
      const agent = new GoogleProjectServiceIdentity(this, "IapServiceAgent", { provider, project: props.projectId, service: "iap.googleapis.com" });
      new CloudRunV2ServiceIamMember(this, "IapInvoker", {
        project: props.projectId, location: props.region, name: this.service.name, role: "roles/run.invoker", member: agent.member,
      });
      const { IapWebCloudRunServiceIamMember } = loadIapWebCloudRunServiceIamMember();
      (access.iapMembers ?? []).forEach((member, i) => new IapWebCloudRunServiceIamMember(this, memberBindingId("IapUser", member, i), {
        project: props.projectId, location: props.region, cloudRunServiceName: this.service.name,
        role: "roles/iap.httpsResourceAccessor", member,
      }));
      if ((access.programmaticClientIds ?? []).length > 0) {
        const { IapSettings } = loadIapSettings();
        new IapSettings(this, "IapSettings", {
          // The IAP resource of this service (the provider's IAP IAM resources use this path).
          name: `projects/${project.number}/iap_web/cloud_run-${props.region}/services/${this.serviceName}`,
          accessSettings: { oauthSettings: { programmaticClients: access.programmaticClientIds } },
          dependsOn: [this.service],
        });
      }
    } else {
      (access.invokerMembers ?? []).forEach((member, i) => new CloudRunV2ServiceIamMember(this, memberBindingId("Invoker", member, i), {
        project: props.projectId, location: props.region, name: this.service.name, role: "roles/run.invoker", member,
      }));
    }
  }
}

/** An environment variable of a container: a value, or a Secret Manager reference (service and job alike). */
interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueSource?: { readonly secretKeyRef: { readonly secret: string; readonly version: string } };
}

/** The ingress sidecar's Caddyfile (templates/Caddyfile.cloud-run). */
export function renderCloudRunCaddyfile(): string {
  return renderTemplate(readTemplate("Caddyfile.cloud-run"), { LISTEN_PORT: INGRESS_PORT, MLFLOW_PORT }, { name: "Caddyfile.cloud-run", quote: false });
}

/**
 * A run_execution_token: 12 hex characters of a hash of what the migration depends on. Text
 * known at synth is hashed here; values known only at apply (the database's address, CA and
 * name, an image given as a reference) are hashed by Terraform, each a plain reference. So
 * the token is the same from one synth to the next and changes whenever any input does.
 */
export function migrationToken(texts: readonly string[], values: readonly string[]): string {
  const literal = [...texts, ...values.filter((v) => !Token.isUnresolved(v))];
  const hash = createHash("sha256").update(literal.join("\u0000")).digest("hex");
  const references = values.filter((v) => Token.isUnresolved(v));
  if (references.length === 0) return hash.slice(0, 12);
  return Fn.substr(Fn.sha256(Fn.join("|", [hash, ...references])), 0, 12);
}

/** The stack's default google-beta provider, created like the GA one when the stack has none. */
function betaProviderOf(scope: Construct, props: { projectId: string; region: string }): TerraformProvider {
  const stack = TerraformStack.of(scope);
  const { GoogleBetaProvider } = loadBetaProvider();
  const existing = stack.node.findAll().find((c): c is TerraformProvider =>
    c instanceof GoogleBetaProvider && (c as TerraformProvider).alias === undefined);
  return existing ?? new GoogleBetaProvider(stack, "google-beta", { project: props.projectId, region: props.region });
}

/** What the connection budget needs from the Cloud Run options. */
type CloudRunBudgetInput = Pick<MlflowCloudRunServerOptions, "maxInstances" | "workers" | "enableJobExecution"> & {
  readonly auth?: { readonly basicAuth?: boolean };
};

function demandOf(props: CloudRunBudgetInput, maxInstances: number) {
  const workers = typeof props.workers === "number" && props.workers >= 1 ? props.workers : 1;
  return {
    // During a rollout the old revision's instances drain while the new ones start.
    serverProcesses: 2 * maxInstances * workers,
    serverCommands: 2 * maxInstances,
    basicAuth: props.auth?.basicAuth ?? true,
    enableJobExecution: props.enableJobExecution ?? false,
    gc: true,
    concurrentMigration: true,
  };
}

/** The default maxInstances: DEFAULT_MAX_INSTANCES, or the largest count whose worst case fits. */
export function defaultMaxInstances(props: CloudRunBudgetInput, maxConnections: number): number {
  for (let n = DEFAULT_MAX_INSTANCES; n > 1; n--) {
    if (planConnections(demandOf(props, n), maxConnections).fits) return n;
  }
  return 1;
}

/** The worst case of the Cloud Run kind against the database; a problem names server.maxInstances. */
export function checkCloudRunConnectionBudget(v: Validator, props: CloudRunBudgetInput, maxConnections: number): ConnectionPlan {
  const maxInstances = typeof props.maxInstances === "number" && props.maxInstances >= 1
    ? props.maxInstances : defaultMaxInstances(props, maxConnections);
  return checkConnectionBudget(v, props.maxInstances !== undefined ? "server.maxInstances" : "server.workers",
    props.maxInstances ?? props.workers ?? 1, demandOf(props, maxInstances), maxConnections);
}

/** Cloud Run options together with access and the runtime options. */
export interface MlflowCloudRunValidationInput extends Omit<MlflowCloudRunServerOptions, "kind"> {
  readonly kind?: string;
  readonly mlflowVersion?: string;
  readonly dependencyCutoff?: string;
  readonly access?: MlflowAccessOptions;
  readonly auth?: { readonly basicAuth?: boolean; readonly defaultPermission?: string };
}

/** Checks the Cloud Run kind's options; adds every problem to `v`. */
export function validateCloudRunOptions(v: Validator, props: MlflowCloudRunValidationInput): void {
  const access = props.access ?? {};
  if (!betaProviderInstalled()) {
    v.fail("server.kind", "cloud-run", `a kind whose bindings are installed: the Cloud Run kind's service and job are google-beta resources (provider 6.50's GA google_cloud_run_v2_service has no iap_enabled); install the optional peer dependency with npm install ${BETA_PROVIDER_PACKAGE}`);
  }
  validateRuntimeOptions(v, props as never);
  v.check("access.mode", access.mode, oneOf(["iap", "internal"]).test,
    `${oneOf(["iap", "internal"]).expected} with server.kind "cloud-run" ("private" and "public" are modes of the VM kind)`);
  v.check("server.minInstances", props.minInstances, intRange(0, 100).test, intRange(0, 100).expected);
  v.check("server.maxInstances", props.maxInstances, intRange(1, 100).test, intRange(1, 100).expected);
  if (typeof props.minInstances === "number" && typeof props.maxInstances === "number" && props.minInstances > props.maxInstances) {
    v.fail("server.minInstances", props.minInstances, `at most server.maxInstances (${props.maxInstances})`);
  }
  v.check("server.workers", props.workers, intRange(1, 8).test, intRange(1, 8).expected);
  // Whole vCPUs from the table that leave room for the ingress sidecar in an 8-vCPU instance.
  const cpus = Object.keys(CLOUD_RUN_CPU_MEMORY).filter((c) => Number(c) + INGRESS_SIDECAR_RESOURCES.cpu <= CLOUD_RUN_MAX_INSTANCE_CPU);
  v.check("server.cpu", props.cpu, oneOf(cpus).test, `${oneOf(cpus).expected} (whole vCPUs: MLflow's server needs at least 1, below 1 Cloud Run serves one request at a time; ` +
    `the ingress sidecar takes ${INGRESS_SIDECAR_RESOURCES.cpu} of an instance's ${CLOUD_RUN_MAX_INSTANCE_CPU})`);
  const cpu = typeof props.cpu === "string" && cpus.includes(props.cpu) ? props.cpu : "1";
  if (props.memory !== undefined) {
    const mib = typeof props.memory === "string" ? memoryMiB(props.memory) : undefined;
    const [low, high] = CLOUD_RUN_CPU_MEMORY[cpu];
    if (mib === undefined || mib < low || mib > high) {
      v.fail("server.memory", props.memory, `a memory size as "<n>Mi" or "<n>Gi" from ${low}Mi to ${high / 1024}Gi with ${cpu} vCPU (Cloud Run's CPU and memory table)`);
    }
  }
  if (props.image !== undefined) {
    v.check("server.image", props.image, (i: string) => typeof i === "string" && isPinnedImage(i),
      'an image pinned to a tag other than "latest" or to a digest, e.g. "europe-west1-docker.pkg.dev/p/r/mlflow:v3.18.0-full" or "...@sha256:<64 hex>"');
  }
  checkMembers(v, "access.iapMembers", access.iapMembers);
  checkMembers(v, "access.invokerMembers", access.invokerMembers);
  (access.programmaticClientIds ?? []).forEach((c, i) => v.check(`access.programmaticClientIds[${i}]`, c,
    (id: string) => /^[0-9]+-[a-z0-9]+\.apps\.googleusercontent\.com$/.test(id), 'an OAuth client id such as "123456789012-abc123.apps.googleusercontent.com"'));
  const mode = access.mode ?? "iap";
  if (mode === "iap" && access.invokerMembers !== undefined) {
    v.fail("access.invokerMembers", access.invokerMembers, 'no value in iap mode (IAP is the only caller there; list people in access.iapMembers), or mode "internal"');
  }
  if (mode === "internal" && access.iapMembers !== undefined) {
    v.fail("access.iapMembers", access.iapMembers, 'no value in internal mode (no IAP; list callers in access.invokerMembers), or mode "iap"');
  }
  if (mode === "internal" && access.programmaticClientIds !== undefined) {
    v.fail("access.programmaticClientIds", access.programmaticClientIds, "no value in internal mode (no IAP)");
  }
}

/** An image reference pinned to a digest, or to a tag that is not `latest`. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastSegment = image.split("/").pop() ?? "";
  const tag = lastSegment.includes(":") ? lastSegment.split(":").pop()! : "";
  return tag !== "" && tag !== "latest" && /^[\w][\w.-]{0,127}$/.test(tag);
}
