// What a user of the stack can reach besides the props: the outputs as typed attributes, the
// main resource of each construct (named attribute and node.defaultChild), the provider, and
// addOverride, including the rule that attributes read before an override keep their value.
// Also the synth-time warning of private mode without IAP members, and MlflowDatabase on its
// own with nothing but a network id.
import * as fs from "fs";
import * as path from "path";
import { DefaultTokenResolver, StringConcat, TerraformStack, Testing, Tokenization } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { ComputeNetwork } from "@cdktf/provider-google/lib/compute-network";
import { ComputeSubnetwork } from "@cdktf/provider-google/lib/compute-subnetwork";
import { SqlDatabaseInstance } from "@cdktf/provider-google/lib/sql-database-instance";
import { StorageBucket } from "@cdktf/provider-google/lib/storage-bucket";
import { SecretManagerSecret } from "@cdktf/provider-google/lib/secret-manager-secret";
import { ComputeInstance } from "@cdktf/provider-google/lib/compute-instance";
import {
  MlflowCloudRunServer, MlflowDatabase, MlflowNetwork, MlflowTrackingServer, MlflowTrackingStack, MlflowTrackingStackProps,
} from "../lib";
import { BASE_PROPS, TfJson, onlyResource, synthStack } from "./helpers";

const camel = (id: string) => id.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
/** A value as it appears in the stack's cdk.tf.json (tokens resolved to `${…}` references). */
const resolved = (stack: TerraformStack, value: unknown) =>
  Tokenization.resolve(value, { scope: stack, preparing: false, resolver: new DefaultTokenResolver(new StringConcat()) });

describe("every output is also a typed attribute of the stack", () => {
  const scenarios: Array<[string, Partial<MlflowTrackingStackProps>]> = [
    ["private", { access: { iapMembers: ["group:ml@example.com"] } }],
    ["public with a domain, no DNS zone", { access: { mode: "public", domain: "mlflow.example.com", allowedSourceRanges: ["203.0.113.0/24"] } }],
    ["basic auth off", { auth: { basicAuth: false } }],
  ];
  test.each(scenarios)("%s: attribute camelCase(output id) resolves to the output's value", (_name, props) => {
    const { stack, json } = synthStack(props);
    expect(Object.keys(json.output).length).toBeGreaterThanOrEqual(6);
    for (const [id, output] of Object.entries(json.output)) {
      const attribute = camel(id);
      expect({ id, has: attribute in stack }).toEqual({ id, has: true });
      const value = (stack as unknown as Record<string, unknown>)[attribute];
      // admin_password_secret is "" when basic auth is off; the attribute is then undefined.
      expect({ id, value: resolved(stack, value ?? "") }).toEqual({ id, value: output.value });
    }
  });

  test("optional attributes are undefined exactly when their output is absent", () => {
    const { stack, json } = synthStack({ access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } });
    expect(json.output.iap_tunnel_command).toBeUndefined();
    expect(stack.iapTunnelCommand).toBeUndefined();
    expect(json.output.dns_record_needed).toBeUndefined();
    expect(stack.dnsRecordNeeded).toBeUndefined();
    expect(stack.trackingUri).toMatch(/^http:\/\/\$\{TfToken\[TOKEN\.\d+\]\}:5000$/);
  });
});

describe("escape hatches: the main resource of each construct", () => {
  test("named attributes are the synthesized resources, and each is node.defaultChild (id Resource)", () => {
    const { stack } = synthStack();
    expect(stack.database.instance).toBeInstanceOf(SqlDatabaseInstance);
    expect(stack.artifactStore.bucket).toBeInstanceOf(StorageBucket);
    expect(stack.network.network).toBeInstanceOf(ComputeNetwork);
    expect(stack.network.subnetwork).toBeInstanceOf(ComputeSubnetwork);
    expect(stack.database.passwordSecret).toBeDefined();
    const password = stack.database.node.findChild("Password") as any;
    expect(password.secret).toBeInstanceOf(SecretManagerSecret);
    for (const [construct, resource] of [
      [stack.database, stack.database.instance],
      [stack.artifactStore, stack.artifactStore.bucket],
      [stack.network, stack.network.network],
      [password, password.secret],
      [stack.server, (stack.server as MlflowTrackingServer).instance],
    ] as const) {
      expect(construct.node.defaultChild).toBe(resource);
      expect((resource as any).node.id).toBe("Resource");
    }
  });

  test("the server's main resource: the VM (MlflowTrackingServer.instance) or the service (MlflowCloudRunServer.service)", () => {
    const vm = synthStack().stack.server;
    expect(vm).toBeInstanceOf(MlflowTrackingServer);
    expect((vm as MlflowTrackingServer).instance).toBeInstanceOf(ComputeInstance);
    const run = synthStack({ server: { kind: "cloud-run" } }).stack.server;
    expect(run).toBeInstanceOf(MlflowCloudRunServer);
    expect(run.node.defaultChild).toBe((run as MlflowCloudRunServer).service);
    expect((run as MlflowCloudRunServer).migrationJob.node.id).toBe("MigrationJob");
  });

  test("an existing network and subnetwork: no network/subnetwork attributes, no defaultChild", () => {
    const { stack } = synthStack({ network: { existingNetwork: "default", existingSubnetwork: "default" } });
    expect(stack.network.network).toBeUndefined();
    expect(stack.network.subnetwork).toBeUndefined();
    expect(stack.network.node.defaultChild).toBeUndefined();
  });

  test("addOverride changes the synthesized resource; attributes read before it keep the construct's values", () => {
    const app = Testing.app();
    const stack = new MlflowTrackingStack(app, "mlflow", BASE_PROPS);
    const tierBefore = stack.database.tier;
    stack.database.instance.addOverride("settings.tier", "db-custom-2-7680");
    stack.database.instance.addOverride("settings.disk_autoresize_limit", 100);
    (stack.server.node.defaultChild as any).addOverride("scheduling.automatic_restart", true);
    const json = JSON.parse(Testing.synth(stack)) as TfJson;
    const sql = onlyResource(json, "google_sql_database_instance");
    expect(sql.settings.tier).toBe("db-custom-2-7680");
    expect(sql.settings.disk_autoresize_limit).toBe(100);
    expect(sql.settings.edition).toBe("ENTERPRISE"); // the rest of the block stays
    expect(onlyResource(json, "google_compute_instance").scheduling).toEqual({ automatic_restart: true });
    // The construct's attribute (and anything built from it at construct time) does not follow.
    expect(tierBefore).toBe("db-g1-small");
    expect(stack.database.tier).toBe("db-g1-small");
  });

  test("a reference follows an override, a value copied at construct time does not", () => {
    const app = Testing.app();
    const stack = new MlflowTrackingStack(app, "mlflow", BASE_PROPS);
    stack.artifactStore.bucket.addOverride("name", "renamed-artifacts");
    const json = JSON.parse(Testing.synth(stack)) as TfJson;
    const bucketAddress = Object.keys(json.resource.google_storage_bucket)[0];
    expect(onlyResource(json, "google_storage_bucket").name).toBe("renamed-artifacts");
    // The server's --artifacts-destination and the output refer to the bucket's name:
    // Terraform fills in the overridden one at apply time.
    expect(json.output.artifact_bucket.value).toBe(`\${google_storage_bucket.${bucketAddress}.name}`);
    expect(onlyResource(json, "google_compute_instance").metadata_startup_script)
      .toContain(`gs://\${google_storage_bucket.${bucketAddress}.name}/mlartifacts`);
  });

  test("provider settings: on stack.googleProvider (the child with id google)", () => {
    const app = Testing.app();
    const stack = new MlflowTrackingStack(app, "mlflow", BASE_PROPS);
    expect(stack.node.tryFindChild("google")).toBe(stack.googleProvider);
    expect(stack.googleProvider).toBeInstanceOf(GoogleProvider);
    stack.googleProvider.userProjectOverride = true;
    stack.googleProvider.billingProject = "acme-billing";
    stack.googleProvider.defaultLabels = { cost_center: "ml" };
    const json = JSON.parse(Testing.synth(stack)) as TfJson;
    expect(json.provider.google[0]).toMatchObject({
      project: "acme-ml-prod", user_project_override: true, billing_project: "acme-billing", default_labels: { cost_center: "ml" },
    });
  });
});

describe("private mode without IAP members", () => {
  function warnings(props: Partial<MlflowTrackingStackProps>): string[] {
    const app = Testing.app();
    new MlflowTrackingStack(app, "mlflow", { ...BASE_PROPS, ...props });
    app.synth();
    const manifest = JSON.parse(fs.readFileSync(path.join(app.outdir, "manifest.json"), "utf8"));
    return manifest.stacks.mlflow.annotations
      .filter((a: { level: string }) => a.level === "@cdktf/warn")
      .map((a: { message: string }) => a.message);
  }
  const IAP_WARNING = /^access\.iapMembers is empty: in private mode only principals with IAP tunnel access on the whole project/;

  test.each([
    ["no access prop", {}],
    ["an empty list", { access: { iapMembers: [] } }],
    ["private mode, no members", { access: { mode: "private" as const } }],
  ])("%s: a synth warning says how to add members", (_name, props) => {
    const found = warnings(props).filter((m) => IAP_WARNING.test(m));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/Add the team to access\.iapMembers .* and deploy again/);
  });

  test.each([
    ["one member", { access: { iapMembers: ["group:ml@example.com"] } }],
    ["public mode", { access: { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } }],
  ])("%s: no such warning", (_name, props) => {
    expect(warnings(props).filter((m) => IAP_WARNING.test(m))).toEqual([]);
  });
});

describe("MlflowDatabase on its own needs only a network id", () => {
  function databaseOnly(network: ConstructorParameters<typeof MlflowDatabase>[2]["network"]) {
    const app = Testing.app();
    const stack = new TerraformStack(app, "db");
    new GoogleProvider(stack, "google", { project: "acme-ml-prod", region: "europe-west1" });
    new RandomProvider(stack, "random");
    const database = new MlflowDatabase(stack, "Database", { projectId: "acme-ml-prod", region: "europe-west1", network });
    return { database, json: JSON.parse(Testing.synth(stack, true)) as TfJson };
  }

  test("an existing network with private services access: a plain object, no subnetwork, no peering", () => {
    const { json } = databaseOnly({ networkId: "projects/acme-ml-prod/global/networks/default" });
    expect(Object.keys(json.resource).sort()).toEqual([
      "google_secret_manager_secret", "google_secret_manager_secret_version", "google_sql_database", "google_sql_database_instance",
      "google_sql_user", "random_password",
    ]);
    const sql = onlyResource(json, "google_sql_database_instance");
    expect(sql.settings.ip_configuration).toMatchObject({ ipv4_enabled: false, private_network: "projects/acme-ml-prod/global/networks/default" });
    expect(sql.depends_on).toBeUndefined();
  });

  test("with an MlflowNetwork it still waits for the peering", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "db");
    new GoogleProvider(stack, "google", { project: "acme-ml-prod", region: "europe-west1" });
    new RandomProvider(stack, "random");
    const network = new MlflowNetwork(stack, "Network", { projectId: "acme-ml-prod", region: "europe-west1", enableNat: false });
    new MlflowDatabase(stack, "Database", { projectId: "acme-ml-prod", region: "europe-west1", network });
    const json = JSON.parse(Testing.synth(stack)) as TfJson;
    expect(onlyResource(json, "google_sql_database_instance").depends_on)
      .toEqual([`google_service_networking_connection.${Object.keys(json.resource.google_service_networking_connection)[0]}`]);
  });
});
