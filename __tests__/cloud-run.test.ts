// The Cloud Run kind (server.kind "cloud-run"): a snapshot per access mode, and targeted
// assertions on what matters for security, data and the running server. The ingress
// sidecar's Caddyfile is validated by the real caddy binary, and the launcher is executed.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Testing } from "cdktf";
import { synthStack, onlyResource, resourcesOf, tool, TfJson, BASE_PROPS, checkCaddyfile, problemsOf } from "./helpers";
import {
  MlflowTrackingStack, MlflowTrackingStackProps, CADDY_IMAGE, renderCloudRunCaddyfile,
} from "../lib";
import { readTemplate } from "../lib/template";

const IAP = { server: { kind: "cloud-run" as const }, access: { iapMembers: ["group:ml-team@example.com", "user:ada@example.com"] } };
const INTERNAL = { server: { kind: "cloud-run" as const }, access: { mode: "internal" as const, invokerMembers: ["serviceAccount:trainer@acme-ml-prod.iam.gserviceaccount.com"] } };
const PROJECT_NUMBER = "${data.google_project.Server_Project_67984ED1.number}";
const URL = `https://mlflow-server-${PROJECT_NUMBER}.europe-west1.run.app`;

const serviceOf = (json: TfJson) => onlyResource(json, "google_cloud_run_v2_service");
/** The migration job (the gc job is the other google_cloud_run_v2_job). */
const jobOf = (json: TfJson) => json.resource.google_cloud_run_v2_job.Server_MigrationJob_AC0AF56A;
const container = (json: TfJson, name: string) => serviceOf(json).template.containers.find((c: any) => c.name === name);
const envOf = (c: any): Record<string, any> => Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.value_source]));

describe("snapshots", () => {
  test.each([["iap", IAP], ["internal", INTERNAL]])("%s", (_name, props) => {
    expect(synthStack(props).json).toMatchSnapshot();
  });
});

describe("providers, APIs and what is not created", () => {
  const { json } = synthStack(IAP);
  test("the google-beta provider, configured like the GA one, runs the Cloud Run resources", () => {
    expect(json.provider["google-beta"]).toEqual([json.provider.google[0]]);
    expect(serviceOf(json).provider).toBe("google-beta");
    expect(jobOf(json).provider).toBe("google-beta");
    expect(onlyResource(json, "google_project_service_identity").provider).toBe("google-beta");
  });
  test("Cloud Run, Artifact Registry and IAP APIs; no VM, no NAT, no firewall", () => {
    const apis = resourcesOf(json, "google_project_service").map(([, s]) => s.service);
    expect(apis).toEqual(expect.arrayContaining(["run.googleapis.com", "artifactregistry.googleapis.com", "iap.googleapis.com"]));
    for (const type of ["google_compute_instance", "google_compute_router_nat", "google_compute_firewall", "google_compute_address"]) {
      expect(json.resource[type]).toBeUndefined();
    }
    const internalApis = resourcesOf(synthStack(INTERNAL).json, "google_project_service").map(([, s]) => s.service);
    expect(internalApis).not.toContain("iap.googleapis.com");
  });
  test("the policy pack passes on both modes with no suppression", () => {
    for (const props of [IAP, INTERNAL]) {
      const app = Testing.app();
      const stack = new MlflowTrackingStack(app, "mlflow", { ...BASE_PROPS, ...props });
      expect(() => Testing.synth(stack, true)).not.toThrow();
    }
  });
});

describe("the service", () => {
  const { json } = synthStack(IAP);
  const service = serviceOf(json);
  test("iap mode: IAP on the service (beta launch stage), ingress from everywhere, invoker IAM left on", () => {
    expect(service).toMatchObject({ name: "mlflow-server", location: "europe-west1", iap_enabled: true, launch_stage: "BETA", ingress: "INGRESS_TRAFFIC_ALL", deletion_protection: true });
    expect(service.invoker_iam_disabled).toBeUndefined();
  });
  test("internal mode: ingress from the VPC only, no IAP", () => {
    const internal = serviceOf(synthStack(INTERNAL).json);
    expect(internal.ingress).toBe("INGRESS_TRAFFIC_INTERNAL_ONLY");
    expect(internal.iap_enabled).toBeUndefined();
  });
  test("its own service account, Direct VPC egress into the stack's subnetwork, bounded scaling", () => {
    expect(service.template).toMatchObject({
      service_account: "${google_service_account.Server_ServiceAccount_97513772.email}",
      timeout: "3600s",
      execution_environment: "EXECUTION_ENVIRONMENT_GEN2",
      // db-g1-small's 50 connections hold one instance's worth, twice during a rollout.
      scaling: { min_instance_count: 1, max_instance_count: 1 },
      vpc_access: { network_interfaces: [{ subnetwork: "${google_compute_subnetwork.Network_Subnetwork_36DAE8DB.id}" }], egress: "PRIVATE_RANGES_ONLY" },
    });
  });
  test("MLflow: pinned official image through Artifact Registry, listening on 127.0.0.1 behind the sidecar", () => {
    const mlflow = container(json, "mlflow");
    expect(mlflow.image).toBe("europe-west1-docker.pkg.dev/acme-ml-prod/mlflow-ghcr/mlflow/mlflow:v3.18.0-full");
    expect(mlflow.ports).toBeUndefined();
    expect(mlflow.args).toEqual([
      "mlflow", "server", "--host", "127.0.0.1", "--port", "5000", "--workers", "1", "--serve-artifacts",
      "--artifacts-destination", "gs://${google_storage_bucket.ArtifactStore_8A81FDFB.name}/mlartifacts",
      "--allowed-hosts", `localhost,localhost:*,127.0.0.1,127.0.0.1:*,0.0.0.0,0.0.0.0:*,mlflow-server-${PROJECT_NUMBER}.europe-west1.run.app,mlflow-server-${PROJECT_NUMBER}.europe-west1.run.app:443`,
      "--cors-allowed-origins", URL,
      "--app-name", "basic-auth",
    ]);
    expect(mlflow.command.slice(0, 2)).toEqual(["python", "-c"]);
    expect(mlflow.resources).toEqual({ limits: { cpu: "1", memory: "2Gi" }, cpu_idle: true, startup_cpu_boost: true });
  });
  test("a startup probe on /health patient enough for Direct VPC egress (60 s + 24 × 10 s)", () => {
    expect(container(json, "mlflow").startup_probe).toEqual({
      http_get: { path: "/health", port: 5000 }, initial_delay_seconds: 60, period_seconds: 10, timeout_seconds: 5, failure_threshold: 24,
    });
  });
  test("environment: settings in plain variables, every secret a Secret Manager reference", () => {
    const env = envOf(container(json, "mlflow"));
    expect(env).toMatchObject({
      DB_USER: "mlflow", DB_HOST: "${google_sql_database_instance.Database_B269D8BB.private_ip_address}", DB_PORT: "5432", DB_NAME: "mlflow",
      DB_CA_CERT: "${google_sql_database_instance.Database_B269D8BB.server_ca_cert[0].cert}",
      MLFLOW_DISABLE_TELEMETRY: "true", MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
      MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "2", MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "1",
      MLFLOW_ADMIN_USERNAME: "admin", MLFLOW_DEFAULT_PERMISSION: "READ",
    });
    const secretRefs = container(json, "mlflow").env.filter((e: any) => e.value_source).map((e: any) => [e.name, e.value_source.secret_key_ref]);
    expect(secretRefs).toEqual([
      ["DB_PASSWORD", { secret: "mlflow-db-password", version: "latest" }],
      ["MLFLOW_ADMIN_PASSWORD", { secret: "mlflow-admin-password", version: "latest" }],
      ["MLFLOW_FLASK_SERVER_SECRET_KEY", { secret: "mlflow-flask-secret-key", version: "latest" }],
    ]);
    const plain = JSON.stringify(serviceOf(json).template.containers.map((c: any) => [c.env.filter((e: any) => e.value), c.args, c.command]));
    expect(plain).not.toMatch(/random_password|secret_data|secret_manager_secret_version/);
  });
  test("the ingress sidecar: pinned Caddy through Artifact Registry, port named h2c, started after MLflow is healthy", () => {
    const ingress = container(json, "ingress");
    expect(ingress.image).toBe(`europe-west1-docker.pkg.dev/acme-ml-prod/mlflow-dockerhub/${CADDY_IMAGE}`);
    expect(CADDY_IMAGE).toMatch(/^library\/caddy:\d+\.\d+\.\d+-alpine$/);
    expect(ingress.ports).toEqual({ name: "h2c", container_port: 8080 });
    expect(ingress.depends_on).toEqual(["mlflow"]);
    expect(envOf(ingress).CADDYFILE).toBe(renderCloudRunCaddyfile());
  });
  test("the service waits for the migration job and for every grant and secret value", () => {
    expect(service.depends_on).toEqual(expect.arrayContaining([
      "google_cloud_run_v2_job.Server_MigrationJob_AC0AF56A",
      "google_secret_manager_secret_version.Server_AdminPassword_Version_4A81CABA",
      "google_secret_manager_secret_iam_member.Database_Password_Accessor0_64029EA8",
      "google_storage_bucket_iam_member.ArtifactStore_ObjectUser0_C40CCC77",
    ]));
  });
  test("Artifact Registry remote repositories for ghcr.io and Docker Hub, in the region", () => {
    const repos = Object.fromEntries(resourcesOf(json, "google_artifact_registry_repository").map(([, r]) => [r.repository_id, r]));
    expect(repos["mlflow-ghcr"]).toMatchObject({ format: "DOCKER", mode: "REMOTE_REPOSITORY", location: "europe-west1",
      remote_repository_config: { docker_repository: { custom_repository: { uri: "https://ghcr.io" } } } });
    expect(repos["mlflow-dockerhub"].remote_repository_config.docker_repository).toEqual({ public_repository: "DOCKER_HUB" });
  });
  test("server.image replaces the official image (and its repository)", () => {
    const own = synthStack({ server: { kind: "cloud-run", image: "europe-west1-docker.pkg.dev/acme-ml-prod/ml/mlflow:3.18.0-gcs" } }).json;
    expect(container(own, "mlflow").image).toBe("europe-west1-docker.pkg.dev/acme-ml-prod/ml/mlflow:3.18.0-gcs");
    expect(resourcesOf(own, "google_artifact_registry_repository").map(([, r]) => r.repository_id)).toEqual(["mlflow-dockerhub"]);
  });
  test("scaling, size and workers reach the service; pools follow the connection budget", () => {
    const custom = synthStack({ server: { kind: "cloud-run", minInstances: 0, maxInstances: 4, cpu: "2", memory: "4Gi", workers: 2 }, database: { tier: "db-custom-2-7680" } }).json;
    expect(serviceOf(custom).template.scaling).toEqual({ min_instance_count: 0, max_instance_count: 4 });
    expect(container(custom, "mlflow").resources.limits).toEqual({ cpu: "2", memory: "4Gi" });
    expect(container(custom, "mlflow").args).toEqual(expect.arrayContaining(["--workers", "2"]));
    expect(envOf(container(custom, "mlflow"))).toMatchObject({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "3", MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "2" });
  });
});

describe("the migration job", () => {
  const { json } = synthStack(IAP);
  const job = jobOf(json);
  test("same image, egress and secrets; backs up and migrates; runs once per change, before the service", () => {
    expect(job).toMatchObject({ name: "mlflow-migrate", location: "europe-west1", deletion_protection: true });
    // The literal inputs hashed at synth, the database's address, CA and name by Terraform.
    const db = "google_sql_database_instance.Database_B269D8BB";
    const hash = /^\$\{substr\(sha256\(join\("\|", \["([0-9a-f]{64})"/.exec(job.run_execution_token)?.[1];
    expect(job.run_execution_token).toBe(
      `\${substr(sha256(join("|", ["${hash}", ${db}.private_ip_address, ${db}.server_ca_cert[0].cert, ${db}.name])), 0, 12)}`);
    expect(job.name.length + 12).toBeLessThan(63);
    const task = job.template.template;
    expect(task).toMatchObject({ service_account: "${google_service_account.Server_ServiceAccount_97513772.email}", timeout: "3600s", max_retries: 0,
      vpc_access: serviceOf(json).template.vpc_access });
    const c = task.containers[0];
    expect(c.image).toBe(container(json, "mlflow").image);
    expect(c.command).toEqual(container(json, "mlflow").command);
    expect(c.args[0]).toBe("python");
    expect(c.args[2]).toContain("def backup(reason):");
    expect(envOf(c)).toMatchObject({
      CLOUD_SQL_BACKUP_INSTANCE: "acme-ml-prod/${google_sql_database_instance.Database_B269D8BB.name}",
      MLFLOW_CREATE_ADMIN_USER: "true",
      DB_PASSWORD: { secret_key_ref: { secret: "mlflow-db-password", version: "latest" } },
    });
  });
  test("the token changes with what the migration depends on, and only then", () => {
    const token = (props: Partial<MlflowTrackingStackProps>) => jobOf(synthStack({ ...IAP, ...props }).json).run_execution_token;
    expect(token({})).toBe(job.run_execution_token);
    expect(token({ mlflowVersion: "3.17.2" })).not.toBe(job.run_execution_token);
    expect(token({ operations: { backupBeforeUpgrade: false } })).not.toBe(job.run_execution_token);
    expect(token({ server: { kind: "cloud-run", maxInstances: 1 } })).toBe(job.run_execution_token);
  });
});

describe("who can reach it", () => {
  test("iap mode: the IAP service agent may invoke; iapMembers pass IAP, on this service only", () => {
    const { json } = synthStack(IAP);
    expect(onlyResource(json, "google_project_service_identity")).toMatchObject({ service: "iap.googleapis.com" });
    expect(onlyResource(json, "google_cloud_run_v2_service_iam_member")).toMatchObject({
      name: "${google_cloud_run_v2_service.Server_7E7D21FA.name}", role: "roles/run.invoker",
      member: "${google_project_service_identity.Server_IapServiceAgent_5743B3FD.member}",
    });
    const users = resourcesOf(json, "google_iap_web_cloud_run_service_iam_member").map(([, r]) => r);
    expect(users.map((u) => [u.role, u.member, u.cloud_run_service_name])).toEqual([
      ["roles/iap.httpsResourceAccessor", "group:ml-team@example.com", "${google_cloud_run_v2_service.Server_7E7D21FA.name}"],
      ["roles/iap.httpsResourceAccessor", "user:ada@example.com", "${google_cloud_run_v2_service.Server_7E7D21FA.name}"],
    ]);
    expect(json.resource.google_iap_settings).toBeUndefined();
  });
  test("iap mode with programmatic clients: IAP accepts their tokens for this service", () => {
    const { json } = synthStack({ ...IAP, access: { ...IAP.access, programmaticClientIds: ["123456789012-abc.apps.googleusercontent.com"] } });
    expect(onlyResource(json, "google_iap_settings")).toMatchObject({
      name: `projects/${PROJECT_NUMBER}/iap_web/cloud_run-europe-west1/services/mlflow-server`,
      access_settings: { oauth_settings: { programmatic_clients: ["123456789012-abc.apps.googleusercontent.com"] } },
    });
  });
  test("internal mode: invokerMembers get run.invoker on this service; nothing of IAP", () => {
    const { json } = synthStack(INTERNAL);
    expect(resourcesOf(json, "google_cloud_run_v2_service_iam_member").map(([, r]) => [r.role, r.member])).toEqual([
      ["roles/run.invoker", "serviceAccount:trainer@acme-ml-prod.iam.gserviceaccount.com"],
    ]);
    expect(json.resource.google_project_service_identity).toBeUndefined();
    expect(json.resource.google_iap_web_cloud_run_service_iam_member).toBeUndefined();
  });
  test("the same least-privilege grants as the VM kind", () => {
    const { json } = synthStack(IAP);
    expect(resourcesOf(json, "google_project_iam_member").map(([, r]) => r.role).sort()).toEqual([
      "projects/acme-ml-prod/roles/mlflow_sql_backup", "roles/logging.logWriter", "roles/monitoring.metricWriter",
    ]);
    expect(resourcesOf(json, "google_secret_manager_secret_iam_member")).toHaveLength(3);
    expect(onlyResource(json, "google_storage_bucket_iam_member").role).toBe("roles/storage.objectUser");
  });
});

describe("member bindings are named after the member", () => {
  const addresses = (members: string[], mode: "iap" | "internal") => {
    const access = mode === "iap" ? { iapMembers: members } : { mode, invokerMembers: members };
    const json = synthStack({ server: { kind: "cloud-run" }, access } as Partial<MlflowTrackingStackProps>).json;
    const type = mode === "iap" ? "google_iap_web_cloud_run_service_iam_member" : "google_cloud_run_v2_service_iam_member";
    return Object.fromEntries(resourcesOf(json, type).filter(([, r]) => r.role !== "roles/run.invoker" || mode === "internal").map(([name, r]) => [r.member, name]));
  };
  test.each(["iap", "internal"] as const)("%s: removing the first member leaves the others' addresses as they were", (mode) => {
    const [a, b, c] = ["user:ada@example.com", "group:ml@example.com", "serviceAccount:t@p.iam.gserviceaccount.com"];
    const before = addresses([a, b, c], mode);
    const after = addresses([b, c], mode);
    expect(Object.keys(after).sort()).toEqual([b, c].sort());
    expect(after[b]).toBe(before[b]);
    expect(after[c]).toBe(before[c]);
    expect(new Set(Object.values(before)).size).toBe(3);
  });
});

describe("outputs", () => {
  test("the deterministic URL, the service, the job; no VM outputs", () => {
    const { json } = synthStack(IAP);
    expect(Object.keys(json.output).sort()).toEqual([
      "admin_password_secret", "artifact_bucket", "database_instance", "migration_job", "server_service", "teardown_commands", "tracking_uri",
    ]);
    expect(json.output.tracking_uri.value).toBe(URL);
    expect(json.output.server_service.value).toBe("mlflow-server");
    expect(json.output.migration_job.value).toBe("mlflow-migrate");
    expect(String(json.output.teardown_commands.value)).toContain("server.deletionProtection: false (the Cloud Run service and jobs are protected)");
  });
});

describe("validation", () => {
  test.each([
    [{ server: { kind: "cloud-run", machineType: "e2-medium" } }, "server.machineType"],
    [{ server: { kind: "cloud-run", port: 8080 } }, "server.port"],
    [{ server: { kind: "vm", image: "x/y:1" } }, "server.image"],
    [{ server: { maxInstances: 3 } }, "server.maxInstances"],
    [{ server: { kind: "cloud-run" }, access: { mode: "private" } }, "access.mode"],
    [{ server: { kind: "cloud-run" }, access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"] } }, "access.mode"],
    [{ access: { mode: "iap" } }, "access.mode"],
    [{ server: { kind: "cloud-run" }, access: { domain: "mlflow.example.com" } }, "access.domain"],
    [{ server: { kind: "cloud-run" }, access: { invokerMembers: ["user:a@example.com"] } }, "access.invokerMembers"],
    [{ server: { kind: "cloud-run" }, access: { mode: "internal", iapMembers: ["user:a@example.com"] } }, "access.iapMembers"],
    [{ server: { kind: "cloud-run" }, access: { iapMembers: ["allUsers"] } }, "access.iapMembers[0]"],
    [{ server: { kind: "cloud-run" }, access: { mode: "internal", invokerMembers: ["allAuthenticatedUsers"] } }, "access.invokerMembers[0]"],
    [{ server: { kind: "cloud-run", minInstances: 3, maxInstances: 2 } }, "server.minInstances"],
    [{ server: { kind: "cloud-run", maxInstances: 0 } }, "server.maxInstances"],
    [{ server: { kind: "cloud-run", cpu: "0.5" } }, "server.cpu"],
    [{ server: { kind: "cloud-run", cpu: "3" } }, "server.cpu"],
    // With the sidecar's 1 vCPU an instance would need 9, over Cloud Run's 8.
    [{ server: { kind: "cloud-run", cpu: "8", memory: "32Gi" } }, "server.cpu"],
    [{ server: { kind: "cloud-run", memory: "8Gi" } }, "server.memory"],
    [{ server: { kind: "cloud-run", cpu: "4", memory: "1Gi" } }, "server.memory"],
    [{ server: { kind: "cloud-run", memory: "2GB" } }, "server.memory"],
    [{ server: { kind: "cloud-run", image: "ghcr.io/mlflow/mlflow:latest" } }, "server.image"],
    [{ server: { kind: "cloud-run", image: "ghcr.io/mlflow/mlflow" } }, "server.image"],
    [{ server: { kind: "cloud-run", workers: 9 } }, "server.workers"],
    [{ server: { kind: "cloud-run", maxInstances: 10 } }, "server.maxInstances"],
    [{ server: { kind: "cloud-run" }, access: { programmaticClientIds: ["not-a-client"] } }, "access.programmaticClientIds[0]"],
    [{ server: { kind: "cloud-run" }, network: { subnetCidr: "10.20.0.0/27" } }, "network.subnetCidr"],
  ] as Array<[Partial<MlflowTrackingStackProps>, string]>)("%j is refused at %s", (props, path) => {
    expect(problemsOf(props).map((p) => p.split(":")[0])).toContain(path);
  });
  test.each([
    [{ server: { kind: "cloud-run" } }],
    [{ server: { kind: "cloud-run", cpu: "4", memory: "16Gi", minInstances: 0, maxInstances: 2 }, database: { tier: "db-custom-1-3840" } }],
    [{ server: { kind: "cloud-run", cpu: "6", memory: "24Gi" }, database: { tier: "db-custom-2-7680" } }],
    [{ server: { kind: "cloud-run", image: "europe-docker.pkg.dev/p/r/mlflow@sha256:" + "a".repeat(64) } }],
    [{ server: { kind: "cloud-run" }, auth: { basicAuth: false } }],
    [{ server: { kind: "cloud-run", maxInstances: 10 }, database: { tier: "db-custom-2-7680" } }],
  ] as Array<[Partial<MlflowTrackingStackProps>]>)("%j is accepted", (props) => {
    expect(problemsOf(props)).toEqual([]);
  });
  test("without the optional peer @cdktf/provider-google-beta the kind is refused with the install command", () => {
    // As a module that is not installed fails to load (test:package runs the real case in a
    // fresh app); any other load error is not hidden.
    const missing = Object.assign(new Error("Cannot find module '@cdktf/provider-google-beta/lib/provider'"), { code: "MODULE_NOT_FOUND" });
    jest.isolateModules(() => {
      jest.doMock("@cdktf/provider-google-beta/lib/provider", () => { throw missing; });
      const lib = require("../lib") as typeof import("../lib");
      const app = Testing.app();
      let error: unknown;
      try {
        new lib.MlflowTrackingStack(app, "mlflow", { ...BASE_PROPS, server: { kind: "cloud-run" } });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(lib.MlflowValidationError);
      expect((error as Error).message).toContain(
        'server.kind: "cloud-run" is not valid; expected a kind whose bindings are installed');
      expect((error as Error).message).toContain("npm install @cdktf/provider-google-beta@16.12.1");
      // The VM kind needs no google-beta.
      expect(() => new lib.MlflowTrackingStack(Testing.app(), "vm", BASE_PROPS)).not.toThrow();
    });
    jest.isolateModules(() => {
      jest.doMock("@cdktf/provider-google-beta/lib/provider", () => { throw new Error("a broken install"); });
      const lib = require("../lib") as typeof import("../lib");
      expect(() => new lib.MlflowTrackingStack(Testing.app(), "mlflow", { ...BASE_PROPS, server: { kind: "cloud-run" } })).toThrow("a broken install");
    });
    jest.dontMock("@cdktf/provider-google-beta/lib/provider");
  });
  test("the connection budget decides the default maxInstances: 1 on db-g1-small, 3 on a bigger tier", () => {
    expect(serviceOf(synthStack({ server: { kind: "cloud-run" } }).json).template.scaling.max_instance_count).toBe(1);
    expect(serviceOf(synthStack({ server: { kind: "cloud-run" }, database: { tier: "db-custom-1-3840" } }).json).template.scaling.max_instance_count).toBe(3);
  });
  test("a refused maxInstances names the arithmetic, rollout overlap and jobs included", () => {
    expect(problemsOf({ server: { kind: "cloud-run", maxInstances: 10 } })[0]).toMatch(
      /^server\.maxInstances: .*20 server processes × 4 engines .* \+ mlflow gc × 2 engines .* \+ the schema migration × 2 engines/);
  });
});

describe("the ingress sidecar's Caddyfile", () => {
  const caddyfile = renderCloudRunCaddyfile();
  test("h2c and HTTP/1.1 on 8080, to MLflow on 127.0.0.1:5000, streaming, no admin endpoint, no TLS", () => {
    expect(caddyfile).toMatch(/^\tservers :8080 \{\n\t\tprotocols h1 h2c\n\t\}$/m);
    expect(caddyfile).toMatch(/^\tadmin off$/m);
    expect(caddyfile).toMatch(/^\tauto_https off$/m);
    expect(caddyfile).toContain("reverse_proxy 127.0.0.1:5000 {\n\t\tflush_interval -1\n\t}");
  });
  test("caddy adapts and validates it", () => {
    if (!tool("caddy")) return;
    const { config, adaptStatus, validation } = checkCaddyfile(caddyfile);
    expect(adaptStatus).toBe(0);
    expect(config.admin).toEqual({ disabled: true });
    const server = Object.values(config.apps.http.servers as Record<string, any>)[0];
    expect(server).toMatchObject({ listen: [":8080"], protocols: ["h1", "h2c"], automatic_https: { disable: true } });
    expect(server.routes[0].handle[0]).toEqual({ handler: "reverse_proxy", upstreams: [{ dial: "127.0.0.1:5000" }], flush_interval: -1 });
    expect(validation.output).toContain("Valid configuration");
  });
});

describe("the launcher (executed with python3)", () => {
  const launcher = readTemplate("cloud-run-launcher.py");
  function launch(env: Record<string, string>, dir: string): { env: Record<string, string>; status: number | null; stderr: string } {
    const result = spawnSync("/usr/bin/python3", ["-c", launcher, "/usr/bin/env"], {
      encoding: "utf8", env: { PATH: "/usr/bin:/bin", TMPDIR: dir, ...env },
    });
    const printed = Object.fromEntries(result.stdout.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    return { env: printed, status: result.status, stderr: result.stderr };
  }
  const DB = { DB_USER: "mlflow", DB_HOST: "10.91.0.3", DB_PORT: "5432", DB_NAME: "mlflow", DB_CA_CERT: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----" };
  test("builds the URI with the driver named and verify-ca, writes the CA and the INI, and drops the passwords", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launcher-"));
    try {
      const out = launch({ ...DB, DB_PASSWORD: "p@ss:w/rd%1", MLFLOW_ADMIN_PASSWORD: "adm%n", MLFLOW_DEFAULT_PERMISSION: "EDIT" }, dir);
      expect(out.status).toBe(0);
      const ca = path.join(dir, "mlflow-config", "cloudsql-server-ca.pem");
      expect(out.env.MLFLOW_BACKEND_STORE_URI).toBe(`postgresql+psycopg2://mlflow:p%40ss%3Aw%2Frd%251@10.91.0.3:5432/mlflow?sslmode=verify-ca&sslrootcert=${ca}&connect_timeout=10`);
      expect(fs.readFileSync(ca, "utf8")).toBe(`${DB.DB_CA_CERT}\n`);
      const ini = path.join(dir, "mlflow-config", "basic_auth.ini");
      expect(out.env.MLFLOW_AUTH_CONFIG_PATH).toBe(ini);
      expect(fs.statSync(ini).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(ini, "utf8")).toContain(`database_uri = ${out.env.MLFLOW_BACKEND_STORE_URI.replace(/%/g, "%%")}\n`);
      expect(fs.readFileSync(ini, "utf8")).toContain("admin_password = adm%%n\n");
      expect(fs.readFileSync(ini, "utf8")).toContain("default_permission = EDIT\n");
      expect(out.env.DB_PASSWORD).toBeUndefined();
      expect(out.env.MLFLOW_ADMIN_PASSWORD).toBeUndefined();
      // configparser reads the INI back to the same URI and password (as MLflow's read_auth_config does).
      const check = spawnSync("/usr/bin/python3", ["-c",
        "import configparser,sys; c=configparser.ConfigParser(); c.read(sys.argv[1]); print(c['mlflow']['database_uri']); print(c['mlflow']['admin_password'])", ini], { encoding: "utf8" });
      expect(check.stdout).toBe(`${out.env.MLFLOW_BACKEND_STORE_URI}\nadm%n\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  test("without basic auth: no INI, no auth config path", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launcher-"));
    try {
      const out = launch({ ...DB, DB_PASSWORD: "x" }, dir);
      expect(out.status).toBe(0);
      expect(out.env.MLFLOW_AUTH_CONFIG_PATH).toBeUndefined();
      expect(fs.existsSync(path.join(dir, "mlflow-config", "basic_auth.ini"))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
