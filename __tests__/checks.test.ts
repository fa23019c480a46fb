// MlflowChecks: every rule on its own (a compliant and a non-compliant resource each, as
// JSON), then the pack inside real synths: the default stack in every mode passes, errors
// fail app.synth() / Testing.synth(stack, true) / Testing.fullSynth with every finding
// listed, warnings become annotations, suppressions need a reason and show in cdk.tf.json.
import * as fs from "fs";
import * as path from "path";
import { Aspects, TerraformResource, TerraformStack, Testing } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ComputeFirewall } from "@cdktf/provider-google/lib/compute-firewall";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import {
  MLFLOW_RULES, MlflowArtifactStore, MlflowChecks, MlflowDatabase, MlflowNetwork, MlflowRule, MlflowStackFacts,
  MlflowSynthesizedResource, MlflowTrackingServer, MlflowTrackingStack, MlflowTrackingStackProps, MlflowValidationError,
} from "../lib";
import { serverFacts, mlflowRequirements, isExactPin } from "../lib/checks/private/server";
import { classifySource } from "../lib/checks/private/network";
import { BASE_PROPS, TfJson } from "./helpers";

const PUBLIC_PLAIN = { access: { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } };
const EXISTING_NETWORK = { network: { existingNetwork: "default", existingSubnetwork: "default" } };
const NO_BASIC_AUTH = { auth: { basicAuth: false } };
const MODES: Array<[string, Partial<MlflowTrackingStackProps>]> = [
  ["private default", {}],
  ["public plain HTTP", PUBLIC_PLAIN],
  ["existing network", EXISTING_NETWORK],
  ["basic auth off", NO_BASIC_AUTH],
];

// ---- helpers --------------------------------------------------------------------------

function newStack(props: Partial<MlflowTrackingStackProps> = {}) {
  const app = Testing.app();
  const stack = new MlflowTrackingStack(app, "mlflow", { ...BASE_PROPS, ...props });
  return { app, stack };
}

/** app.synth(), then cdk.tf.json and manifest.json as written. */
function appSynth(props: Partial<MlflowTrackingStackProps> = {}, edit?: (stack: MlflowTrackingStack) => void) {
  const { app, stack } = newStack(props);
  edit?.(stack);
  app.synth();
  const read = (file: string) => JSON.parse(fs.readFileSync(path.join(app.outdir, file), "utf8"));
  const manifest = read("manifest.json");
  return {
    stack,
    tf: read(manifest.stacks.mlflow.synthesizedStackPath) as TfJson & { resource: Record<string, Record<string, any>> },
    annotations: manifest.stacks.mlflow.annotations as Array<{ constructPath: string; level: string; message: string }>,
  };
}

/** The error app.synth() throws (fails the test if it does not throw). */
function synthError(props: Partial<MlflowTrackingStackProps>, edit: (stack: MlflowTrackingStack) => void): string {
  const { app, stack } = newStack(props);
  edit(stack);
  try {
    app.synth();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("app.synth() did not fail");
}

function resourceOf(scope: { node: { findAll(): any[] } }, type: string): TerraformResource {
  const found = scope.node.findAll().filter((c: any) => TerraformResource.isTerraformResource(c) && c.terraformResourceType === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** The day the date-dependent rules are judged on in these tests (the pack itself uses the real date). */
const TODAY = "2026-11-28";

/** The synthesized resources and stack facts of a stack, as the rules see them. */
function rulesInput(props: Partial<MlflowTrackingStackProps> = {}): { resources: MlflowSynthesizedResource[]; facts: MlflowStackFacts } {
  const json = JSON.parse(Testing.synth(newStack(props).stack)) as TfJson;
  const resources = Object.entries(json.resource).flatMap(([type, byName]) =>
    Object.entries(byName).map(([name, config]) => ({ type, name, config })));
  return { resources, facts: { servers: resources.map(serverFacts).filter((f) => f !== undefined) as any, today: TODAY } };
}

const DEFAULT = rulesInput();
const PUBLIC = rulesInput(PUBLIC_PLAIN);
const CLOUD_RUN = rulesInput({ server: { kind: "cloud-run" } });
const isService = "google_cloud_run_v2_service";
const isJob = "google_cloud_run_v2_job";

/** A default-stack resource of a type (the first), deep-copied and changed by `edit`. */
function variant(type: string, edit: (config: any) => void = () => undefined, from = DEFAULT, match?: (c: any) => boolean): MlflowSynthesizedResource {
  const original = from.resources.find((r) => r.type === type && (match ? match(r.config) : true));
  if (!original) throw new Error(`no ${type} in the stack`);
  const config = JSON.parse(JSON.stringify(original.config));
  edit(config);
  return { type, name: original.name, config };
}

function rule(id: string): MlflowRule {
  const r = MLFLOW_RULES.find((x) => x.id === id);
  if (!r) throw new Error(`no rule ${id}`);
  return r;
}

const fw = (config: Record<string, unknown>): MlflowSynthesizedResource => ({
  type: "google_compute_firewall",
  name: "Fw",
  config: { name: "fw", network: "default", ...config },
});
const vmScriptEdit = (replace: (script: string) => string) => (c: any) => {
  c.metadata_startup_script = replace(c.metadata_startup_script);
};
const isSqlInstance = "google_sql_database_instance";
const isBucket = "google_storage_bucket";
const isFirewall = "google_compute_firewall";
const isVm = "google_compute_instance";
const iapFirewall = (c: any) => c.name === "mlflow-allow-iap";
const publicFirewall = (c: any) => c.name === "mlflow-allow-mlflow";

// ---- every rule: one compliant and one non-compliant resource -------------------------

type Case = [ruleId: string, compliant: MlflowSynthesizedResource, nonCompliant: MlflowSynthesizedResource, found: RegExp, facts?: MlflowStackFacts];
const CASES: Case[] = [
  ["MLF-SQL-PUBLIC-IP", variant(isSqlInstance), variant(isSqlInstance, (c) => { c.settings.ip_configuration.ipv4_enabled = true; }), /ipv4_enabled is true/],
  ["MLF-SQL-SSL", variant(isSqlInstance), variant(isSqlInstance, (c) => { c.settings.ip_configuration.ssl_mode = "ALLOW_UNENCRYPTED_AND_ENCRYPTED"; }), /ssl_mode is "ALLOW_UNENCRYPTED_AND_ENCRYPTED"/],
  ["MLF-SQL-DELETION-PROTECTION", variant(isSqlInstance), variant(isSqlInstance, (c) => { c.deletion_protection = false; }), /deletion_protection is false/],
  ["MLF-SQL-BACKUPS", variant(isSqlInstance), variant(isSqlInstance, (c) => { c.settings.backup_configuration.point_in_time_recovery_enabled = false; }), /point_in_time_recovery_enabled is false/],
  ["MLF-GCS-UNIFORM-ACCESS", variant(isBucket), variant(isBucket, (c) => { c.uniform_bucket_level_access = false; }), /uniform_bucket_level_access is false/],
  ["MLF-GCS-PUBLIC-ACCESS-PREVENTION", variant(isBucket), variant(isBucket, (c) => { c.public_access_prevention = "inherited"; }), /"inherited"/],
  ["MLF-GCS-VERSIONING", variant(isBucket), variant(isBucket, (c) => { c.versioning.enabled = false; }), /versioning.enabled is false/],
  ["MLF-GCS-FORCE-DESTROY", variant(isBucket), variant(isBucket, (c) => { c.force_destroy = true; }), /force_destroy is true/],
  ["MLF-FW-SSH-WORLD", variant(isFirewall, () => undefined, DEFAULT, iapFirewall), variant(isFirewall, (c) => { c.source_ranges = ["0.0.0.0/0"]; }, DEFAULT, iapFirewall), /tcp\/22 \(SSH\) from 0\.0\.0\.0\/0/],
  ["MLF-FW-ALL-PORTS-WORLD", variant(isFirewall, () => undefined, DEFAULT, iapFirewall), fw({ source_ranges: ["::/0"], allow: [{ protocol: "all" }] }), /every port from ::\/0/],
  ["MLF-FW-MLFLOW-WORLD", variant(isFirewall, () => undefined, PUBLIC, publicFirewall), variant(isFirewall, (c) => { c.source_ranges = ["0.0.0.0/0"]; }, PUBLIC, publicFirewall), /tcp\/5000 \(the MLflow port\)/, PUBLIC.facts],
  ["MLF-PLAINTEXT-BASIC-AUTH", variant(isFirewall, () => undefined, PUBLIC, iapFirewall), variant(isFirewall, () => undefined, PUBLIC, publicFirewall), /203\.0\.113\.0\/24 reach google_compute_instance\.Server_7E7D21FA on plain HTTP port 5000/, PUBLIC.facts],
  ["MLF-VM-DEFAULT-SA", variant(isVm), variant(isVm, (c) => { c.service_account.email = "123456789012-compute@developer.gserviceaccount.com"; }), /default Compute Engine service account 123456789012-compute@/],
  ["MLF-VM-SECURE-BOOT", variant(isVm), variant(isVm, (c) => { c.shielded_instance_config.enable_secure_boot = false; }), /enable_secure_boot is false/],
  ["MLF-VM-OS-LOGIN", variant(isVm), variant(isVm, (c) => { delete c.metadata["enable-oslogin"]; }), /enable-oslogin"\] is not set/],
  ["MLF-VM-METADATA-SECRET", variant(isVm), variant(isVm, (c) => { c.metadata["db-password"] = "${random_password.Database_Password_Value_159A38AE.result}"; }), /metadata\["db-password"\] holds a generated password/],
  ["MLF-IAM-PROJECT-ROLES",
    { type: "google_project_iam_member", name: "LogWriter", config: { project: "p", role: "roles/logging.logWriter", member: "serviceAccount:${google_service_account.Sa.email}" } },
    { type: "google_project_iam_member", name: "Editor", config: { project: "p", role: "roles/editor", member: "serviceAccount:${google_service_account.Sa.email}" } },
    /roles\/editor .* on the project for serviceAccount:/],
  ["MLF-MLFLOW-VERSION-PIN", variant(isVm), variant(isVm, vmScriptEdit((s) => s.replace("'mlflow[auth]==3.18.0'", "'mlflow[auth]>=3.18'"))), /installs "mlflow\[auth\]>=3\.18" without an exact/],
  ["MLF-SQL-EXTENDED-SUPPORT", variant(isSqlInstance), variant(isSqlInstance, (c) => { c.database_version = "POSTGRES_13"; }), /POSTGRES_13 has been in paid extended support since February 1, 2026/],
  ["MLF-SQL-HA-SHARED-CORE", variant(isSqlInstance), variant(isSqlInstance, (c) => { c.settings.availability_type = "REGIONAL"; }), /REGIONAL on shared-core tier db-g1-small/],
  ["MLF-GCS-PUBLIC-IAM", variant("google_storage_bucket_iam_member"), variant("google_storage_bucket_iam_member", (c) => { c.member = "allUsers"; }), /roles\/storage\.objectUser for allUsers/],
  ["MLF-FW-WORLD", variant(isFirewall, () => undefined, DEFAULT, iapFirewall), fw({ source_ranges: ["0.0.0.0/1", "128.0.0.0/1"], allow: [{ protocol: "tcp", ports: ["443"] }] }), /tcp\/443 from 0\.0\.0\.0\/1, 128\.0\.0\.0\/1 \(together every IPv4 address on the internet\)/],
  ["MLF-IAM-PRIVILEGE-ESCALATION",
    { type: "google_project_iam_member", name: "LogWriter", config: { project: "p", role: "roles/logging.logWriter", member: "serviceAccount:${google_service_account.Sa.email}" } },
    { type: "google_project_iam_member", name: "TokenCreator", config: { project: "p", role: "roles/iam.serviceAccountTokenCreator", member: "serviceAccount:${google_service_account.Sa.email}" } },
    /roles\/iam\.serviceAccountTokenCreator \(mint access and ID tokens for every service account in scope\) on the project for serviceAccount:/],
  ["MLF-RUN-PUBLIC-INVOKER", variant("google_cloud_run_v2_service_iam_member", () => undefined, CLOUD_RUN),
    variant("google_cloud_run_v2_service_iam_member", (c) => { c.member = "allUsers"; }, CLOUD_RUN), /roles\/run\.invoker for allUsers/],
  ["MLF-RUN-INGRESS", variant(isService, () => undefined, CLOUD_RUN), variant(isService, (c) => { delete c.iap_enabled; }, CLOUD_RUN),
    /ingress is INGRESS_TRAFFIC_ALL and iap_enabled is not true/],
  ["MLF-RUN-ENV-SECRET", variant(isJob, () => undefined, CLOUD_RUN),
    variant(isJob, (c) => { c.template.template.containers[0].env.push({ name: "DB_PASSWORD", value: "${random_password.Database_Password_Value_159A38AE.result}" }); }, CLOUD_RUN),
    /gc: DB_PASSWORD=\$\{random_password\./],
  ["MLF-RUN-IMAGE-PIN", variant(isService, () => undefined, CLOUD_RUN),
    variant(isService, (c) => { c.template.containers[0].image = "ghcr.io/mlflow/mlflow:latest"; }, CLOUD_RUN), /mlflow: ghcr\.io\/mlflow\/mlflow:latest \(the tag latest\)/],
  ["MLF-RUN-DEFAULT-SA", variant(isJob, () => undefined, CLOUD_RUN), variant(isJob, (c) => { delete c.template.template.service_account; }, CLOUD_RUN),
    /template\.service_account is not set/],
];

describe("every rule has a compliant and a non-compliant case", () => {
  test("the table covers every rule, and there are at least 15", () => {
    expect(CASES.map(([id]) => id).sort()).toEqual(MLFLOW_RULES.map((r) => r.id).sort());
    expect(MLFLOW_RULES.length).toBeGreaterThanOrEqual(15);
  });

  test.each(CASES)("%s", (id, good, bad, found, facts = DEFAULT.facts) => {
    const r = rule(id);
    expect(r.resourceTypes).toContain(good.type);
    expect(r.check(good, facts)).toEqual({ compliance: "compliant" });
    const result = r.check(bad, facts);
    expect(result.compliance).toBe("non-compliant");
    expect(result.detail).toMatch(found);
  });

  test.each(MLFLOW_RULES.map((r) => [r.id, r] as const))("%s is documented: level, why, how to fix", (_id, r) => {
    expect(r.id).toMatch(/^MLF-[A-Z0-9-]+$/);
    expect(["error", "warning"]).toContain(r.level);
    for (const text of [r.title, r.why, r.howToFix]) expect(text.length).toBeGreaterThan(20);
  });

  test("rule ids are unique", () => {
    expect(new Set(MLFLOW_RULES.map((r) => r.id)).size).toBe(MLFLOW_RULES.length);
  });

  test("levels: only the options this library offers knowingly, and plain HTTP by acknowledgement, are warnings", () => {
    // Cost warnings too: a Cloud SQL version in paid extended support, HA without an SLA.
    expect(MLFLOW_RULES.filter((r) => r.level === "warning").map((r) => r.id).sort()).toEqual([
      "MLF-GCS-FORCE-DESTROY", "MLF-GCS-VERSIONING", "MLF-PLAINTEXT-BASIC-AUTH", "MLF-SQL-DELETION-PROTECTION",
      "MLF-SQL-EXTENDED-SUPPORT", "MLF-SQL-HA-SHARED-CORE", "MLF-VM-SECURE-BOOT",
    ]);
  });

  test("a rule is not applicable to other resource types", () => {
    const bucket = variant(isBucket);
    for (const r of MLFLOW_RULES.filter((x) => !x.resourceTypes.includes(isBucket))) {
      expect(r.resourceTypes).not.toContain(bucket.type);
    }
  });
});

// ---- edge cases of the rules ----------------------------------------------------------

describe("rule details", () => {
  const check = (id: string, resource: MlflowSynthesizedResource, facts = DEFAULT.facts) => rule(id).check(resource, facts);

  test.each([
    ["ipv4_enabled unset (provider default true)", (c: any) => { delete c.settings.ip_configuration.ipv4_enabled; }, "non-compliant"],
    ["ipv4_enabled as an override written as a list block", (c: any) => { c.settings.ip_configuration = [{ ...c.settings.ip_configuration, ipv4_enabled: true }]; }, "non-compliant"],
    ["ipv4_enabled from a variable", (c: any) => { c.settings.ip_configuration.ipv4_enabled = "${var.public_ip}"; }, "not-applicable"],
  ])("MLF-SQL-PUBLIC-IP: %s", (_name, edit, expected) => {
    expect(check("MLF-SQL-PUBLIC-IP", variant(isSqlInstance, edit)).compliance).toBe(expected);
  });

  test("MLF-SQL-SSL: TRUSTED_CLIENT_CERTIFICATE_REQUIRED passes, unset fails", () => {
    expect(check("MLF-SQL-SSL", variant(isSqlInstance, (c) => { c.settings.ip_configuration.ssl_mode = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"; })).compliance).toBe("compliant");
    expect(check("MLF-SQL-SSL", variant(isSqlInstance, (c) => { delete c.settings.ip_configuration.ssl_mode; })).detail).toMatch(/not set/);
  });

  test("MLF-SQL-DELETION-PROTECTION: API-side protection off is reported too", () => {
    expect(check("MLF-SQL-DELETION-PROTECTION", variant(isSqlInstance, (c) => { delete c.settings.deletion_protection_enabled; })).detail)
      .toMatch(/deletion_protection_enabled is not set/);
  });

  test("MLF-SQL-BACKUPS: backups off; read replicas are not applicable", () => {
    expect(check("MLF-SQL-BACKUPS", variant(isSqlInstance, (c) => { c.settings.backup_configuration.enabled = false; })).detail).toMatch(/enabled is false/);
    expect(check("MLF-SQL-BACKUPS", variant(isSqlInstance, (c) => { delete c.settings.backup_configuration; c.master_instance_name = "primary"; })).compliance).toBe("not-applicable");
  });

  test.each([
    ["IAP range to 22", { source_ranges: ["35.235.240.0/20"], allow: [{ protocol: "tcp", ports: ["22"] }] }, "compliant"],
    ["a port range that covers 22", { source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["20-25"] }] }, "non-compliant"],
    ["tcp without ports", { source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "tcp" }] }, "non-compliant"],
    ["protocol all", { source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "all" }] }, "non-compliant"],
    ["IPv6 world", { source_ranges: ["::/0"], allow: [{ protocol: "tcp", ports: ["22"] }] }, "non-compliant"],
    ["no source at all (GCP applies it to 0.0.0.0/0)", { allow: [{ protocol: "tcp", ports: ["22"] }] }, "non-compliant"],
    ["source tags only", { source_tags: ["bastion"], allow: [{ protocol: "tcp", ports: ["22"] }] }, "compliant"],
    ["a deny rule", { source_ranges: ["0.0.0.0/0"], deny: [{ protocol: "tcp", ports: ["22"] }] }, "compliant"],
    ["an egress rule", { direction: "EGRESS", destination_ranges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["22"] }] }, "not-applicable"],
    ["a disabled rule", { disabled: true, source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["22"] }] }, "not-applicable"],
    ["a subnetwork's range (a reference, never the world)", { source_ranges: ["${google_compute_subnetwork.Sub.ip_cidr_range}"], allow: [{ protocol: "tcp", ports: ["22"] }] }, "compliant"],
    ["a variable's range (not checkable)", { source_ranges: ["${var.ranges}"], allow: [{ protocol: "tcp", ports: ["22"] }] }, "not-applicable"],
    ["a public range that is not the world", { source_ranges: ["198.51.100.0/24"], allow: [{ protocol: "tcp", ports: ["22"] }] }, "compliant"],
  ])("MLF-FW-SSH-WORLD: %s", (_name, config, expected) => {
    expect(check("MLF-FW-SSH-WORLD", fw(config)).compliance).toBe(expected);
  });

  test("a variable's range is reported as not checkable, not silently passed", () => {
    const result = check("MLF-FW-SSH-WORLD", fw({ source_ranges: ["${var.ranges}"], allow: [{ protocol: "tcp", ports: ["22"] }] }));
    expect(result).toMatchObject({ notCheckable: true, detail: expect.stringMatching(/source_ranges is a Terraform reference/) });
  });

  test("MLF-FW-ALL-PORTS-WORLD: 0-65535 counts as every port; one port does not", () => {
    expect(check("MLF-FW-ALL-PORTS-WORLD", fw({ source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "udp", ports: ["0-65535"] }] })).compliance).toBe("non-compliant");
    expect(check("MLF-FW-ALL-PORTS-WORLD", fw({ source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["443"] }] })).compliance).toBe("compliant");
  });

  test("MLF-FW-MLFLOW-WORLD: the server's own port counts, not only 5000", () => {
    const facts: MlflowStackFacts = { servers: [{ ...PUBLIC.facts.servers[0], port: 8080 }] };
    const world8080 = fw({ source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["8080"] }] });
    expect(check("MLF-FW-MLFLOW-WORLD", world8080, facts).detail).toMatch(/tcp\/8080/);
    expect(check("MLF-FW-MLFLOW-WORLD", world8080, { servers: [] }).compliance).toBe("compliant");
  });

  test("MLF-FW-MLFLOW-WORLD: port 5000 of another VM is not the MLflow port", () => {
    const facts: MlflowStackFacts = { servers: [{ ...PUBLIC.facts.servers[0], port: 8080, networkTags: ["mlflow-server"] }] };
    const registry = fw({ source_ranges: ["0.0.0.0/0"], target_tags: ["registry"], allow: [{ protocol: "tcp", ports: ["5000"] }] });
    expect(check("MLF-FW-MLFLOW-WORLD", registry, facts).compliance).toBe("compliant");
    const toServer = fw({ source_ranges: ["0.0.0.0/0"], target_tags: ["mlflow-server"], allow: [{ protocol: "tcp", ports: ["8080"] }] });
    expect(check("MLF-FW-MLFLOW-WORLD", toServer, facts).compliance).toBe("non-compliant");
  });

  test("MLF-PLAINTEXT-BASIC-AUTH: not reported for private sources, other targets, basic auth off, loopback or TLS servers", () => {
    const publicRule = variant(isFirewall, () => undefined, PUBLIC, publicFirewall);
    const server = PUBLIC.facts.servers[0];
    expect(server).toMatchObject({ port: 5000, basicAuth: true, loopbackOnly: false, tls: false, networkTags: ["mlflow-server"] });
    const withServer = (changes: Partial<typeof server>) => ({ servers: [{ ...server, ...changes }] });
    expect(check("MLF-PLAINTEXT-BASIC-AUTH", publicRule, withServer({ basicAuth: false })).compliance).toBe("not-applicable");
    expect(check("MLF-PLAINTEXT-BASIC-AUTH", publicRule, withServer({ loopbackOnly: true })).compliance).toBe("not-applicable");
    expect(check("MLF-PLAINTEXT-BASIC-AUTH", publicRule, withServer({ tls: true })).compliance).toBe("not-applicable");
    expect(check("MLF-PLAINTEXT-BASIC-AUTH", publicRule, withServer({ networkTags: ["other"] })).compliance).toBe("compliant");
    const fromVpn = variant(isFirewall, (c) => { c.source_ranges = ["10.8.0.0/16"]; }, PUBLIC, publicFirewall);
    expect(check("MLF-PLAINTEXT-BASIC-AUTH", fromVpn, PUBLIC.facts).compliance).toBe("compliant");
    // A rule without target tags applies to every VM of the network, this one included.
    expect(check("MLF-PLAINTEXT-BASIC-AUTH", fw({ source_ranges: ["198.51.100.7/32"], allow: [{ protocol: "tcp", ports: ["5000"] }] }), PUBLIC.facts).compliance).toBe("non-compliant");
  });

  test("server facts come from the startup script: port, host, basic auth", () => {
    expect(DEFAULT.facts.servers).toEqual([expect.objectContaining({
      address: "google_compute_instance.Server_7E7D21FA", port: 5000, basicAuth: true, loopbackOnly: false, tls: false,
      serviceAccountEmail: "${google_service_account.Server_ServiceAccount_97513772.email}",
    })]);
    expect(rulesInput(NO_BASIC_AUTH).facts.servers[0].basicAuth).toBe(false);
    const script = (text: string) => serverFacts({ type: isVm, name: "Vm", config: { metadata_startup_script: text } });
    expect(script("mlflow server --backend-store-uri x")).toMatchObject({ port: 5000, loopbackOnly: true, basicAuth: false });
    expect(script("exec mlflow server --host=0.0.0.0 -p 8080 --app-name basic-auth")).toMatchObject({ port: 8080, loopbackOnly: false, basicAuth: true });
    expect(script("echo hello")).toBeUndefined();
    // A comment or a message that mentions the command is not the command.
    expect(script("# this VM runs mlflow server behind nginx\nmlflow server --host 0.0.0.0 --port 8080 --app-name basic-auth"))
      .toMatchObject({ port: 8080, loopbackOnly: false, basicAuth: true });
    expect(script('echo "starting mlflow server"\nlog "mlflow server is up"')).toBeUndefined();
  });

  test.each([
    ["no service_account block", (c: any) => { delete c.service_account; }, /no service_account block/],
    ["a block without email", (c: any) => { c.service_account = { scopes: ["cloud-platform"] }; }, /email is not set/],
    ["the default compute account by data source", (c: any) => { c.service_account.email = "${data.google_compute_default_service_account.default.email}"; }, /default Compute Engine service account/],
  ])("MLF-VM-DEFAULT-SA: %s", (_name, edit, found) => {
    expect(check("MLF-VM-DEFAULT-SA", variant(isVm, edit)).detail).toMatch(found);
  });

  test("MLF-VM-DEFAULT-SA: a named account by literal email passes", () => {
    expect(check("MLF-VM-DEFAULT-SA", variant(isVm, (c) => { c.service_account.email = "mlflow@acme-ml-prod.iam.gserviceaccount.com"; })).compliance).toBe("compliant");
  });

  test("MLF-VM-OS-LOGIN: FALSE fails, lowercase true passes", () => {
    expect(check("MLF-VM-OS-LOGIN", variant(isVm, (c) => { c.metadata["enable-oslogin"] = "FALSE"; })).compliance).toBe("non-compliant");
    expect(check("MLF-VM-OS-LOGIN", variant(isVm, (c) => { c.metadata["enable-oslogin"] = "true"; })).compliance).toBe("compliant");
  });

  test.each([
    ["a Secret Manager value in the startup script", vmScriptEdit((s) => `${s}\nX=\${google_secret_manager_secret_version.V.secret_data}`), /metadata_startup_script holds a Secret Manager secret value/],
    ["a random_password inside a function call", (c: any) => { c.metadata["startup-script"] = "echo ${base64encode(random_password.P.result)}"; }, /generated password/],
    ["a literal password assignment", (c: any) => { c.metadata["startup-script"] = "export MLFLOW_TRACKING_PASSWORD=hunter2hunter2"; }, /literal value assigned to MLFLOW_TRACKING_PASSWORD/],
    ["a literal password in a database URI", vmScriptEdit((s) => `${s}\nURI=postgresql://mlflow:s3cretpass@10.0.0.3/mlflow`), /URL with a literal password/],
  ])("MLF-VM-METADATA-SECRET: %s", (_name, edit, found) => {
    expect(check("MLF-VM-METADATA-SECRET", variant(isVm, edit)).detail).toMatch(found);
  });

  test("MLF-VM-METADATA-SECRET: secret names, shell expansions and escaped ${…} are not secrets", () => {
    const clean = [
      "DB_PASSWORD_SECRET=mlflow-db-password",
      'admin_password=""',
      "admin_password = @ADMIN_PASSWORD@",
      "MLFLOW_TRACKING_PASSWORD=$(gcloud secrets versions access latest --secret=x)",
      "MLFLOW_TRACKING_PASSWORD=$${PASSWORD}",
      "echo $${random_password.not_a_reference.result}",
    ].join("\n");
    expect(check("MLF-VM-METADATA-SECRET", variant(isVm, (c) => { c.metadata_startup_script = clean; })).compliance).toBe("compliant");
  });

  test.each([
    ["google_project_iam_binding with a service account among members", { type: "google_project_iam_binding", role: "roles/storage.admin", members: ["group:ml@example.com", "serviceAccount:sa@p.iam.gserviceaccount.com"] }, "non-compliant"],
    ["project-wide secretAccessor", { type: "google_project_iam_member", role: "roles/secretmanager.secretAccessor", member: "serviceAccount:${google_service_account.Sa.email}" }, "non-compliant"],
    ["project-wide objectAdmin through the account's member attribute", { type: "google_project_iam_member", role: "roles/storage.objectAdmin", member: "${google_service_account.Sa.member}" }, "non-compliant"],
    ["owner for a human group (not a service account)", { type: "google_project_iam_member", role: "roles/owner", member: "group:admins@example.com" }, "compliant"],
    ["a narrow role", { type: "google_project_iam_member", role: "roles/monitoring.metricWriter", member: "serviceAccount:sa@p.iam.gserviceaccount.com" }, "compliant"],
  ])("MLF-IAM-PROJECT-ROLES: %s", (_name, { type, ...config }, expected) => {
    expect(check("MLF-IAM-PROJECT-ROLES", { type, name: "Grant", config }).compliance).toBe(expected);
  });

  test.each([
    ["pip install mlflow", "pip install mlflow psycopg2-binary", [""], false],
    ["pinned with extras", "pip3 install 'mlflow[auth]==3.18.0'", ["==3.18.0"], true],
    ["only major.minor", "pip install mlflow==3.18", ["==3.18"], false],
    ["a range in a requirements heredoc", "cat > req.txt <<EOF\nmlflow>=3,<4\nEOF", [">=3,<4"], false],
    ["a shell variable after ==", 'pip install "mlflow==$${MLFLOW_VERSION}"', ["==$${MLFLOW_VERSION}"], true],
    ["mlflow as a user and a command only", "id -u mlflow || useradd mlflow\nexec mlflow server", [], true],
    ["mlflow as the user running pip", 'sudo -u mlflow /opt/venv/bin/pip install "mlflow==3.1.0"', ["==3.1.0"], true],
    ["mlflow as the user of runuser", "runuser -u mlflow -- pip install mlflow[auth]==3.18.0 psycopg2", ["==3.18.0"], true],
    // Lines without an install verb: each way a requirement can be spelled outside one.
    ["capitals and ~= in a list", 'deps = ["MLflow~=3.18.0", "boto3"]', ["~=3.18.0"], false],
    ["mlflow-skinny with != and <", "mlflow-skinny!=3.0.0\nmlflow-skinny<4", ["!=3.0.0", "<4"], false],
    ["extras alone in a heredoc", "cat > req.txt <<EOF\nmlflow[auth]\nEOF", [""], false],
    ["PEP 508 with a local file", 'echo "mlflow @ ./dist/mlflow.whl" > req.txt', ["@ ./dist/mlflow.whl"], false],
    ["a git URL in a list", "git+https://github.com/mlflow/mlflow.git@v3.18.0", ["@ git+https://github.com/mlflow/mlflow.git@v3.18.0"], false],
    ["the user, the unit and the service on other lines", "chown mlflow: /opt/mlflow\nsystemctl enable mlflow.service\nmlflow server --port 5000", [], true],
  ])("requirements in a script: %s", (_name, script, specifiers, pinned) => {
    const found = mlflowRequirements(script);
    expect(found.map((r) => r.specifier)).toEqual(specifiers);
    expect(found.every((r) => isExactPin(r.specifier))).toBe(pinned);
  });

  test("MLF-MLFLOW-VERSION-PIN: a VM that installs no MLflow is not applicable", () => {
    expect(check("MLF-MLFLOW-VERSION-PIN", variant(isVm, (c) => { c.metadata_startup_script = "echo hi"; })).compliance).toBe("not-applicable");
  });

  test.each([
    ["0.0.0.0/0", "world"], ["::/0", "world"], ["203.0.113.0/24", "public"], ["10.20.0.0/24", "internal"],
    ["35.235.240.0/20", "internal"], ["2600:2d00:1:7::/64", "internal"], ["fd00:1::/64", "internal"],
    ["${data.google_compute_subnetwork.Existing.ip_cidr_range}", "internal"], ["${var.cidr}", "unknown"], ["not-a-cidr", "unknown"],
  ])("source range %s is %s", (range, expected) => {
    expect(classifySource(range)).toBe(expected);
  });
});

// ---- the pack in real synths ----------------------------------------------------------

describe("the default stack passes in every mode, with no suppression", () => {
  test.each(MODES)("%s: app.synth() succeeds with no error and no suppression", (name, props) => {
    const { tf, annotations } = appSynth(props);
    // The pack's warnings only (the stack itself warns about an empty access.iapMembers).
    const warnings = annotations.filter((a) => a.level === "@cdktf/warn" && a.message.startsWith("MLF-")).map((a) => a.message.split(" ")[0]);
    // Public plain HTTP with basic auth sends passwords in clear to the allowed ranges: the
    // one finding of a default stack, a warning the user acknowledged with allowPlaintextHttp.
    expect(warnings).toEqual(name === "public plain HTTP" ? ["MLF-PLAINTEXT-BASIC-AUTH"] : []);
    expect(annotations.filter((a) => a.level === "@cdktf/error")).toEqual([]);
    // Nothing was left unchecked because of a reference.
    expect(annotations.filter((a) => /not checkable/.test(a.message))).toEqual([]);
    expect(JSON.stringify(tf)).not.toContain("mlflow_checks");
  });

  test("synth writes the JSON the checks read once, and a later toTerraform() resolves afresh", () => {
    // The stack hands the synthesizer the JSON its checks just resolved (one resolve per synth
    // instead of two); what is written must be exactly a fresh resolve, and nothing is kept.
    const { stack, tf } = appSynth();
    const fresh = stack.toTerraform();
    const strip = (json: any) => JSON.parse(JSON.stringify(json, (k, v) => (k === "stacktrace" ? undefined : v)));
    expect(strip(tf)).toEqual(strip(fresh));
    expect(stack.toTerraform()).not.toBe(fresh);
    stack.addOverride("resource.google_storage_bucket.ArtifactStore_8A81FDFB.labels.after", "synth");
    expect(stack.toTerraform().resource.google_storage_bucket.ArtifactStore_8A81FDFB.labels.after).toBe("synth");
  });

  test.each(MODES)("%s: Testing.synth(stack, true) and Testing.fullSynth succeed", (_name, props) => {
    expect(() => Testing.synth(newStack(props).stack, true)).not.toThrow();
    expect(() => Testing.fullSynth(newStack(props).stack)).not.toThrow();
  });

  test("the rules really judge the default stack: each applicable rule finds something compliant", () => {
    for (const input of [DEFAULT, PUBLIC, CLOUD_RUN]) {
      for (const r of MLFLOW_RULES) {
        const results = input.resources.filter((res) => r.resourceTypes.includes(res.type)).map((res) => r.check(res, input.facts).compliance);
        // A rule about the other server kind has nothing to judge in this stack.
        if (results.length === 0 && (r.id.startsWith("MLF-RUN-") || input === CLOUD_RUN)) continue;
        expect({ id: r.id, nonCompliant: results.filter((c) => c === "non-compliant").length })
          .toEqual({ id: r.id, nonCompliant: r.id === "MLF-PLAINTEXT-BASIC-AUTH" && input === PUBLIC ? 1 : 0 });
        // In private mode no server takes basic auth over plain HTTP: that rule has nothing to judge.
        if (!(r.id === "MLF-PLAINTEXT-BASIC-AUTH" && input === DEFAULT)) {
          expect({ id: r.id, compliant: results.includes("compliant") }).toEqual({ id: r.id, compliant: true });
        }
      }
    }
  });
});

describe("errors fail synth", () => {
  const publicIp = (stack: MlflowTrackingStack) =>
    resourceOf(stack.database, isSqlInstance).addOverride("settings.ip_configuration.ipv4_enabled", true);

  test("escape hatch: ipv4_enabled turned on with addOverride fails app.synth() with MLF-SQL-PUBLIC-IP", () => {
    const message = synthError({}, publicIp);
    expect(message).toMatch(/MLF-SQL-PUBLIC-IP \(error\) on google_sql_database_instance\.Database_B269D8BB \[mlflow\/Database\/Resource, created by MlflowDatabase\]/);
    expect(message).toMatch(/ipv4_enabled is true/);
    expect(message).toMatch(/why: A public IP puts/);
    expect(message).toMatch(/how to fix: Set settings\.ip_configuration\.ipv4_enabled = false/);
  });

  test("an escape hatch on the stack (stack.addOverride on the resource's path) is seen too", () => {
    const message = synthError({}, (stack) =>
      stack.addOverride("resource.google_sql_database_instance.Database_B269D8BB.settings.ip_configuration.ipv4_enabled", true));
    expect(message).toMatch(/MLF-SQL-PUBLIC-IP \(error\) on google_sql_database_instance\.Database_B269D8BB/);
  });

  test("a change made by an aspect added after MlflowChecks is seen (checks run after every aspect)", () => {
    const message = synthError({}, (stack) => Aspects.of(stack).add({
      visit: (node) => {
        if (TerraformResource.isTerraformResource(node) && node.terraformResourceType === isBucket) node.addOverride("uniform_bucket_level_access", false);
      },
    }));
    expect(message).toContain("MLF-GCS-UNIFORM-ACCESS (error) on google_storage_bucket.ArtifactStore_8A81FDFB");
  });

  test("the same fails Testing.synth(stack, true) and Testing.fullSynth, the paths tests use", () => {
    const a = newStack();
    publicIp(a.stack);
    expect(() => Testing.synth(a.stack, true)).toThrow(/MLF-SQL-PUBLIC-IP/);
    const b = newStack();
    publicIp(b.stack);
    expect(() => Testing.fullSynth(b.stack)).toThrow(/MLF-SQL-PUBLIC-IP/);
  });

  test("Testing.synth(stack) without runValidations skips the pack, as it skips every cdktf validation", () => {
    const { stack } = newStack();
    publicIp(stack);
    expect(() => Testing.synth(stack)).not.toThrow();
  });

  test("one message lists every finding: rule, address, what was found, why, how to fix", () => {
    const message = synthError({}, (stack) => {
      publicIp(stack);
      resourceOf(stack.database, isSqlInstance).addOverride("settings.ip_configuration.ssl_mode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED");
      resourceOf(stack.artifactStore, isBucket).addOverride("uniform_bucket_level_access", false);
      resourceOf(stack.server, isVm).addOverride("service_account", undefined);
    });
    expect(message).toMatch(/MlflowChecks found 4 errors/);
    for (const [id, address] of [
      ["MLF-SQL-PUBLIC-IP", "google_sql_database_instance.Database_B269D8BB"],
      ["MLF-SQL-SSL", "google_sql_database_instance.Database_B269D8BB"],
      ["MLF-GCS-UNIFORM-ACCESS", "google_storage_bucket.ArtifactStore_8A81FDFB"],
      ["MLF-VM-DEFAULT-SA", "google_compute_instance.Server_7E7D21FA"],
    ]) {
      expect(message).toContain(`${id} (error) on ${address}`);
    }
    expect(message.match(/why: /g)).toHaveLength(4);
    expect(message.match(/how to fix: /g)).toHaveLength(4);
  });

  test("a firewall rule added by hand to the stack is checked too", () => {
    const message = synthError({}, (stack) => {
      new ComputeFirewall(stack, "Debug", {
        name: "debug", network: "default", sourceRanges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["22", "5000"] }],
      });
    });
    expect(message).toContain("MLF-FW-SSH-WORLD (error) on google_compute_firewall.Debug");
    expect(message).toContain("MLF-FW-MLFLOW-WORLD (error) on google_compute_firewall.Debug");
  });

  test("an unpinned MLflow in a changed startup script fails", () => {
    const message = synthError({}, (stack) => {
      const vm = resourceOf(stack.server, isVm) as any;
      vm.addOverride("metadata_startup_script", "#!/bin/bash\npip install mlflow\nmlflow server --host 0.0.0.0");
    });
    expect(message).toMatch(/MLF-MLFLOW-VERSION-PIN \(error\) on google_compute_instance\.Server_7E7D21FA.*"mlflow"/);
  });
});

describe("warnings are reported through Annotations; synth goes on", () => {
  test("deletion protection off, versioning off, force destroy: three warnings, no error", () => {
    const { annotations } = appSynth({ database: { deletionProtection: false }, artifactStore: { versioning: false, forceDestroy: true } });
    const warnings = annotations.filter((a) => a.level === "@cdktf/warn" && a.message.startsWith("MLF-"));
    expect(warnings.map((w) => [w.constructPath, w.message.split(" ")[0]])).toEqual([
      ["mlflow/Database/Resource", "MLF-SQL-DELETION-PROTECTION"],
      ["mlflow/ArtifactStore/Resource", "MLF-GCS-VERSIONING"],
      ["mlflow/ArtifactStore/Resource", "MLF-GCS-FORCE-DESTROY"],
    ]);
    expect(warnings[0].message).toMatch(/google_sql_database_instance\.Database_B269D8BB.*deletion_protection is false.*why: .*how to fix: /);
  });

  test("public plain HTTP with basic auth: the plaintext warning names the firewall rule and the server", () => {
    const { annotations } = appSynth(PUBLIC_PLAIN);
    const warning = annotations.find((a) => a.message.startsWith("MLF-PLAINTEXT-BASIC-AUTH"));
    expect(warning).toMatchObject({ level: "@cdktf/warn", constructPath: "mlflow/Server/PublicIngress" });
    expect(warning!.message).toMatch(/203\.0\.113\.0\/24 reach google_compute_instance\.Server_7E7D21FA on plain HTTP port 5000/);
  });

  test("a second synth does not repeat annotations", () => {
    const { stack } = newStack(PUBLIC_PLAIN);
    Testing.synth(stack, true);
    Testing.synth(stack, true);
    const firewall = stack.server.node.findChild("PublicIngress");
    expect(firewall.node.metadata.filter((m) => m.type === "@cdktf/warn")).toHaveLength(1);
  });
});

describe("suppressions", () => {
  test.each([
    ["no reason", "MLF-SQL-PUBLIC-IP", ""],
    ["a reason shorter than 10 characters", "MLF-SQL-PUBLIC-IP", "because  "],
    ["an unknown rule id", "MLF-NO-SUCH-RULE", "a perfectly good reason"],
  ])("%s is an error", (_name, ruleId, reason) => {
    const { stack } = newStack();
    expect(() => MlflowChecks.suppress(stack.database, ruleId, reason)).toThrow(MlflowValidationError);
    expect(() => MlflowChecks.suppress(stack.database, ruleId, reason)).toThrow(ruleId.startsWith("MLF-NO") ? /ruleId/ : /reason/);
  });

  test("a suppression on the resource lets synth pass and is recorded in cdk.tf.json", () => {
    const reason = "Temporary public IP for a one-off migration from the old server";
    const { tf, annotations } = appSynth({}, (stack) => {
      const sql = resourceOf(stack.database, isSqlInstance);
      sql.addOverride("settings.ip_configuration.ipv4_enabled", true);
      MlflowChecks.suppress(sql, "MLF-SQL-PUBLIC-IP", reason);
    });
    const sql = tf.resource.google_sql_database_instance.Database_B269D8BB;
    expect(sql["//"].mlflow_checks).toEqual({
      suppressed: [{ rule_id: "MLF-SQL-PUBLIC-IP", reason, suppressed_on: "mlflow/Database/Resource" }],
    });
    expect(sql["//"].metadata.path).toBe("mlflow/Database/Resource");
    expect(annotations).toContainEqual(expect.objectContaining({ level: "@cdktf/info", message: expect.stringMatching(/MLF-SQL-PUBLIC-IP on google_sql_database_instance\.Database_B269D8BB is suppressed/) }));
    // Other resources' JSON is untouched.
    expect(tf.resource.google_storage_bucket.ArtifactStore_8A81FDFB["//"].mlflow_checks).toBeUndefined();
  });

  test("a suppression on a parent construct applies to the resources below it", () => {
    const reason = "Dev project: the database is rebuilt from scratch every night";
    const { tf } = appSynth({ database: { deletionProtection: false } }, (stack) => {
      const sql = resourceOf(stack.database, isSqlInstance);
      sql.addOverride("settings.backup_configuration.enabled", false);
      MlflowChecks.suppress(stack.database, "MLF-SQL-BACKUPS", reason);
      MlflowChecks.suppress(stack, "MLF-SQL-DELETION-PROTECTION", reason);
    });
    expect(tf.resource.google_sql_database_instance.Database_B269D8BB["//"].mlflow_checks.suppressed).toEqual([
      { rule_id: "MLF-SQL-DELETION-PROTECTION", reason, suppressed_on: "mlflow" },
      { rule_id: "MLF-SQL-BACKUPS", reason, suppressed_on: "mlflow/Database" },
    ]);
  });

  test("a suppression covers its rule only", () => {
    const message = synthError({}, (stack) => {
      publicIpAndSsl(stack);
      MlflowChecks.suppress(stack.database, "MLF-SQL-PUBLIC-IP", "Temporary public IP for a one-off migration");
    });
    expect(message).toContain("MLF-SQL-SSL (error)");
    expect(message).not.toContain("MLF-SQL-PUBLIC-IP (error)");
  });

  function publicIpAndSsl(stack: MlflowTrackingStack): void {
    const sql = resourceOf(stack.database, isSqlInstance);
    sql.addOverride("settings.ip_configuration.ipv4_enabled", true);
    sql.addOverride("settings.ip_configuration.ssl_mode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED");
  }
});

describe("a stack built from the sub-constructs", () => {
  function customStack(withChecks: boolean, extra?: (stack: TerraformStack) => void) {
    const app = Testing.app();
    const stack = new TerraformStack(app, "custom");
    new GoogleProvider(stack, "google", { project: "acme-ml-prod", region: "europe-west1" });
    new RandomProvider(stack, "random");
    const common = { projectId: "acme-ml-prod", region: "europe-west1" };
    const network = new MlflowNetwork(stack, "Network", common);
    const database = new MlflowDatabase(stack, "Database", { ...common, network });
    const artifactStore = new MlflowArtifactStore(stack, "ArtifactStore", common);
    new MlflowTrackingServer(stack, "Server", { ...common, zone: "europe-west1-b", network, database, artifactStore });
    extra?.(stack);
    if (withChecks) Aspects.of(stack).add(new MlflowChecks());
    return { app, stack };
  }
  const worldSsh = (stack: TerraformStack) =>
    new ComputeFirewall(stack, "Ssh", { name: "ssh", network: "default", sourceRanges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["22"] }] });

  test("passes with Aspects.of(stack).add(new MlflowChecks())", () => {
    expect(() => customStack(true).app.synth()).not.toThrow();
  });

  test("fails on a finding, listing it once even with the aspect added twice", () => {
    const { app, stack } = customStack(true, worldSsh);
    Aspects.of(stack).add(new MlflowChecks());
    expect(() => app.synth()).toThrow(/MLF-FW-SSH-WORLD \(error\) on google_compute_firewall\.Ssh/);
    expect(() => Testing.synth(stack, true)).toThrow(/MlflowChecks found 1 error\./);
  });

  test("the aspect checks only below the scope it is added to", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "scoped");
    new GoogleProvider(stack, "google", { project: "acme-ml-prod", region: "europe-west1" });
    worldSsh(stack);
    const common = { projectId: "acme-ml-prod", region: "europe-west1" };
    const store = new MlflowArtifactStore(stack, "ArtifactStore", { ...common, versioning: false });
    Aspects.of(store).add(new MlflowChecks());
    app.synth();
    const warnings = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data).split(" ")[0]));
    expect(warnings).toEqual(["MLF-GCS-VERSIONING"]);
  });

  test("without the aspect nothing is checked", () => {
    expect(() => customStack(false, worldSsh).app.synth()).not.toThrow();
  });
});

// ---- round 2: world coverage, new rules, the whole JSON, wording for the user's own resources ----

describe("firewall rules: the whole internet is any set of ranges that covers it", () => {
  const check = (id: string, resource: MlflowSynthesizedResource, facts = DEFAULT.facts) => rule(id).check(resource, facts);
  const WORLD: Array<[string, string[]]> = [
    ["0.0.0.0/0", ["0.0.0.0/0"]],
    ["two halves", ["0.0.0.0/1", "128.0.0.0/1"]],
    ["halves listed with an office", ["203.0.113.0/24", "128.0.0.0/1", "0.0.0.0/1"]],
    ["everything below multicast", ["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3"]],
    ["::/0", ["::/0"]],
    ["2000::/3", ["2000::/3"]],
    ["2000::/4 + 3000::/4", ["2000::/4", "3000::/4"]],
    ["a bare address list that still covers it", ["0.0.0.0/1", "128.0.0.0/1", "198.51.100.7"]],
  ];
  const NOT_WORLD: Array<[string, string[]]> = [
    ["one half", ["0.0.0.0/1"]],
    ["offices", ["203.0.113.0/24", "198.51.100.0/24"]],
    ["private ranges", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]],
    ["unique local IPv6", ["fc00::/7"]],
    ["IAP", ["35.235.240.0/20", "2600:2d00:1:7::/64"]],
    ["half of 2000::/3", ["2000::/4"]],
  ];
  test.each(WORLD)("SSH from %s is reported", (_case, ranges) => {
    const result = check("MLF-FW-SSH-WORLD", fw({ source_ranges: ranges, allow: [{ protocol: "tcp", ports: ["22"] }] }));
    expect(result.compliance).toBe("non-compliant");
    expect(result.detail).toMatch(/tcp\/22 \(SSH\) from .*(::\/0|0\.0\.0\.0\/0|2000::\/3|together every IPv(4|6) address on the internet)/);
  });
  test.each(WORLD)("HTTPS from %s is reported by MLF-FW-WORLD", (_case, ranges) => {
    expect(check("MLF-FW-WORLD", fw({ source_ranges: ranges, allow: [{ protocol: "tcp", ports: ["443"] }] })).detail).toMatch(/tcp\/443 from /);
  });
  test.each(NOT_WORLD)("from %s is not the world", (_case, ranges) => {
    for (const id of ["MLF-FW-SSH-WORLD", "MLF-FW-WORLD", "MLF-FW-ALL-PORTS-WORLD"]) {
      expect(check(id, fw({ source_ranges: ranges, allow: [{ protocol: "tcp", ports: ["22", "443"] }] })).compliance).toBe("compliant");
    }
  });
  test("a world range next to a variable is still the world; a variable alone is not checkable", () => {
    expect(check("MLF-FW-WORLD", fw({ source_ranges: ["0.0.0.0/1", "128.0.0.0/1", "${var.extra}"], allow: [{ protocol: "tcp", ports: ["443"] }] })).compliance).toBe("non-compliant");
    expect(check("MLF-FW-WORLD", fw({ source_ranges: ["0.0.0.0/1", "${var.extra}"], allow: [{ protocol: "tcp", ports: ["443"] }] }))).toMatchObject({ notCheckable: true });
  });
  test.each([
    ["0.0.0.0/1", "public"], ["2000::/3", "world"], ["2000::/4", "public"], ["::ffff:0:0/96", "public"], ["fc00::/7", "internal"], ["010.0.0.0/8", "unknown"],
  ])("source range %s is %s", (range, expected) => {
    expect(classifySource(range)).toBe(expected);
  });
});

describe("MLF-FW-WORLD: every port, none reported twice", () => {
  const check = (config: Record<string, unknown>, facts = PUBLIC.facts) => rule("MLF-FW-WORLD").check(fw(config), facts);
  const world = { source_ranges: ["0.0.0.0/0"] };
  test.each([
    ["HTTPS", [{ protocol: "tcp", ports: ["443"] }], /tcp\/443/],
    ["HTTP", [{ protocol: "tcp", ports: ["80"] }], /tcp\/80/],
    ["a UDP port", [{ protocol: "udp", ports: ["53"] }], /udp\/53/],
    ["a range beside SSH", [{ protocol: "tcp", ports: ["22", "8000-8100"] }], /tcp\/8000-8100/],
    ["a protocol without ports", [{ protocol: "esp" }], /protocol esp/],
  ])("%s from the world is reported", (_case, allow, found) => {
    const result = check({ ...world, allow });
    expect(result.compliance).toBe("non-compliant");
    expect(result.detail).toMatch(found);
    expect(result.detail).not.toMatch(/tcp\/22\b/);
  });
  test.each([
    ["SSH alone (MLF-FW-SSH-WORLD reports it)", [{ protocol: "tcp", ports: ["22"] }]],
    ["the MLflow port alone (MLF-FW-MLFLOW-WORLD reports it)", [{ protocol: "tcp", ports: ["5000"] }]],
    ["every port (MLF-FW-ALL-PORTS-WORLD reports it)", [{ protocol: "all" }]],
    ["TCP without ports (every port)", [{ protocol: "tcp" }]],
    ["ICMP (no service; path MTU discovery needs it)", [{ protocol: "icmp" }]],
  ])("%s is not reported here", (_case, allow) => {
    expect(check({ ...world, allow }).compliance).toBe("compliant");
  });
  test("a port from a variable is not checkable", () => {
    expect(check({ ...world, allow: [{ protocol: "tcp", ports: ["${var.port}"] }] })).toMatchObject({ notCheckable: true });
  });
});

describe("HTTPS in domain mode, and the library's own ACME rule", () => {
  const DOMAIN = { access: { mode: "public" as const, domain: "mlflow.example.com", allowedSourceRanges: ["203.0.113.0/24"] } };

  test("port 80 for Let's Encrypt carries a built-in suppression with its reason, in cdk.tf.json and as an annotation", () => {
    const { tf, annotations } = appSynth(DOMAIN);
    const acme = Object.values(tf.resource.google_compute_firewall).find((f: any) => f.name === "mlflow-allow-acme") as any;
    expect(acme["//"].mlflow_checks.suppressed).toEqual([{
      rule_id: "MLF-FW-WORLD",
      reason: expect.stringMatching(/^cdktf-mlflow-gcp \(built in\): Let's Encrypt validates the HTTP-01 challenge from addresses it does not publish/),
      suppressed_on: "mlflow/Server/AcmeIngress",
    }]);
    expect(annotations).toContainEqual(expect.objectContaining({
      level: "@cdktf/info", constructPath: "mlflow/Server/AcmeIngress", message: expect.stringMatching(/^MLF-FW-WORLD on google_compute_firewall\.\S+ is suppressed/),
    }));
    expect(annotations.filter((a) => a.level !== "@cdktf/info")).toEqual([]);
  });

  test("HTTPS opened to the world by an override fails synth; the ACME suppression does not cover it", () => {
    const message = synthError(DOMAIN, (stack) => {
      (stack.server.node.findChild("PublicIngress") as TerraformResource).addOverride("source_ranges", ["0.0.0.0/1", "128.0.0.0/1"]);
    });
    expect(message).toMatch(/MLF-FW-WORLD \(error\) on google_compute_firewall\.Server_PublicIngress_\w+ \[mlflow\/Server\/PublicIngress, created by MlflowTrackingServer\]: .*tcp\/443 from .*0\.0\.0\.0\/1, 128\.0\.0\.0\/1 \(together every IPv4 address on the internet\)/);
  });
});

describe("MLF-GCS-PUBLIC-IAM: no bucket for allUsers or allAuthenticatedUsers", () => {
  const check = (type: string, config: Record<string, unknown>, facts: MlflowStackFacts = DEFAULT.facts) =>
    rule("MLF-GCS-PUBLIC-IAM").check({ type, name: "Grant", config: { bucket: "b", ...config } }, facts);
  const policyFacts: MlflowStackFacts = { ...DEFAULT.facts, iamPolicies: {
    public: [{ role: "roles/storage.objectViewer", members: ["allUsers"] }],
    team: [{ role: "roles/storage.objectViewer", members: ["group:ml@example.com"] }],
  } };
  test.each([
    ["an IAM member", "google_storage_bucket_iam_member", { role: "roles/storage.objectViewer", member: "allUsers" }, /objectViewer for allUsers/],
    ["an IAM binding", "google_storage_bucket_iam_binding", { role: "roles/storage.objectAdmin", members: ["group:ml@example.com", "allAuthenticatedUsers"] }, /objectAdmin for allAuthenticatedUsers/],
    ["an IAM policy from data.google_iam_policy", "google_storage_bucket_iam_policy", { policy_data: "${data.google_iam_policy.public.policy_data}" }, /objectViewer for allUsers/],
    ["an IAM policy written out", "google_storage_bucket_iam_policy", { policy_data: JSON.stringify({ bindings: [{ role: "roles/storage.legacyObjectReader", members: ["allUsers"] }] }) }, /legacyObjectReader for allUsers/],
    ["a bucket ACL entry", "google_storage_bucket_acl", { role_entity: ["OWNER:project-owners-123", "READER:allUsers"] }, /role_entity READER:allUsers/],
    ["a predefined public ACL", "google_storage_bucket_acl", { predefined_acl: "publicRead" }, /predefined_acl publicRead/],
    ["a default object ACL entry", "google_storage_default_object_acl", { role_entity: ["READER:allAuthenticatedUsers"] }, /allAuthenticatedUsers/],
    ["an access control", "google_storage_bucket_access_control", { entity: "allUsers", role: "READER" }, /ACL entity allUsers with role READER/],
  ])("%s is reported", (_case, type, config, found) => {
    const result = check(type, config, policyFacts);
    expect(result.compliance).toBe("non-compliant");
    expect(result.detail).toMatch(found);
  });
  test.each([
    ["a group member", "google_storage_bucket_iam_member", { role: "roles/storage.objectViewer", member: "group:ml@example.com" }],
    ["the server's account", "google_storage_bucket_iam_member", { role: "roles/storage.objectUser", member: "serviceAccount:${google_service_account.Sa.email}" }],
    ["a policy for a team", "google_storage_bucket_iam_policy", { policy_data: "${data.google_iam_policy.team.policy_data}" }],
    ["a private ACL", "google_storage_bucket_acl", { predefined_acl: "projectPrivate", role_entity: ["READER:user-ada@example.com"] }],
    ["an access control for a user", "google_storage_object_access_control", { entity: "user-ada@example.com", role: "READER" }],
  ])("%s is compliant", (_case, type, config) => {
    expect(check(type, config, policyFacts).compliance).toBe("compliant");
  });
  test("a member from a variable, or a policy of another stack, is not checkable", () => {
    expect(check("google_storage_bucket_iam_member", { role: "roles/storage.objectViewer", member: "${var.member}" })).toMatchObject({ notCheckable: true });
    expect(check("google_storage_bucket_iam_policy", { policy_data: "${data.google_iam_policy.elsewhere.policy_data}" }, policyFacts)).toMatchObject({ notCheckable: true });
  });
});

describe("MLF-IAM-PRIVILEGE-ESCALATION: no service account can grant itself more", () => {
  const sa = "serviceAccount:${google_service_account.Sa.email}";
  const check = (type: string, config: Record<string, unknown>, facts: MlflowStackFacts = DEFAULT.facts) =>
    rule("MLF-IAM-PRIVILEGE-ESCALATION").check({ type, name: "Grant", config }, facts);
  test.each([
    ["Token Creator on the project", "google_project_iam_member", { project: "p", role: "roles/iam.serviceAccountTokenCreator", member: sa }, /serviceAccountTokenCreator .* on the project/],
    ["Service Account User through a binding", "google_project_iam_binding", { project: "p", role: "roles/iam.serviceAccountUser", members: ["group:ml@example.com", "serviceAccount:ci@p.iam.gserviceaccount.com"] }, /serviceAccountUser \(act as every service account in scope/],
    ["Project IAM Admin through a policy", "google_project_iam_policy", { project: "p", policy_data: "${data.google_iam_policy.p.policy_data}" }, /projectIamAdmin \(set the project's IAM policy/],
    ["Security Admin on a folder", "google_folder_iam_member", { folder: "folders/1", role: "roles/iam.securityAdmin", member: sa }, /securityAdmin .* on the folder/],
    ["Organization Admin", "google_organization_iam_member", { org_id: "1", role: "roles/resourcemanager.organizationAdmin", member: sa }, /on the organization/],
    ["Workload Identity User", "google_project_iam_member", { project: "p", role: "roles/iam.workloadIdentityUser", member: "${google_service_account.Sa.member}" }, /workloadIdentityUser/],
  ])("%s is reported", (_case, type, config, found) => {
    const facts = { ...DEFAULT.facts, iamPolicies: { p: [{ role: "roles/resourcemanager.projectIamAdmin", members: [sa] }] } };
    const result = check(type, config, facts);
    expect(result.compliance).toBe("non-compliant");
    expect(result.detail).toMatch(found);
  });
  test.each([
    ["for a person", "google_project_iam_member", { project: "p", role: "roles/iam.serviceAccountTokenCreator", member: "user:ada@example.com" }],
    ["a narrow role", "google_project_iam_member", { project: "p", role: "roles/logging.logWriter", member: sa }],
    ["viewer roles", "google_project_iam_binding", { project: "p", role: "roles/iam.serviceAccountViewer", members: [sa] }],
  ])("%s is compliant", (_case, type, config) => {
    expect(check(type, config).compliance).toBe("compliant");
  });
  test("a grant on one service account (not a project) is not this rule's business", () => {
    expect(rule("MLF-IAM-PRIVILEGE-ESCALATION").resourceTypes).not.toContain("google_service_account_iam_member");
  });
  test("MLF-IAM-PROJECT-ROLES reads project IAM policies too", () => {
    const facts = { ...DEFAULT.facts, iamPolicies: { p: [{ role: "roles/editor", members: [sa] }] } };
    expect(rule("MLF-IAM-PROJECT-ROLES").check({ type: "google_project_iam_policy", name: "P", config: { project: "p", policy_data: "${data.google_iam_policy.p.policy_data}" } }, facts).detail)
      .toMatch(/roles\/editor .* for serviceAccount:/);
  });
});

describe("MLF-VM-METADATA-SECRET: by key name as well as by value", () => {
  const check = (metadata: Record<string, string>) => rule("MLF-VM-METADATA-SECRET").check(variant(isVm, (c) => { Object.assign(c.metadata, metadata); }), DEFAULT.facts);
  test.each([
    ["db-password", "hunter2", /metadata\["db-password"\] is named like a secret and holds a literal value/],
    ["api_key", "${random_id.Key.hex}", /metadata\["api_key"\] is named like a secret and holds a value from another resource/],
    ["flask-secret-key", "k3y", /flask-secret-key/],
    ["client_secret", "abc", /client_secret/],
    ["MLFLOW_TRACKING_TOKEN", "t", /MLFLOW_TRACKING_TOKEN/],
    ["credentials", "{\"type\":\"service_account\"}", /credentials/],
  ])("metadata[%s] is reported", (key, value, found) => {
    const result = check({ [key]: value });
    expect(result.compliance).toBe("non-compliant");
    expect(result.detail).toMatch(found);
  });
  test.each([
    ["db-password-secret", "mlflow-db-password"],
    ["password-file", "/etc/mlflow/db-password"],
    ["api-key-secret-name", "mlflow-api-key"],
    ["admin-password", "${google_secret_manager_secret.Admin.secret_id}"],
    ["disable-password-auth", "TRUE"],
    ["ssh-keys", "ada:ssh-ed25519 AAAA ada"],
    ["token", ""],
    ["enable-oslogin", "TRUE"],
  ])("metadata[%s] is not a secret", (key, value) => {
    expect(check({ [key]: value }).compliance).toBe("compliant");
  });
});

describe("MLF-MLFLOW-VERSION-PIN: unpinned sources, where the script runs mlflow server", () => {
  const check = (install: string, serve = "exec mlflow server --host 0.0.0.0") =>
    rule("MLF-MLFLOW-VERSION-PIN").check({ type: isVm, name: "Vm", config: { metadata_startup_script: `#!/bin/bash\n${install}\n${serve}\n` } }, DEFAULT.facts);
  test.each([
    ["a git branch", "pip install git+https://github.com/mlflow/mlflow.git@master", /git\+https:\/\/github\.com\/mlflow\/mlflow\.git@master/],
    ["a git repository without a ref", "pip install 'git+https://github.com/mlflow/mlflow'", /mlflow\/mlflow/],
    ["a tag by direct reference", 'pip install "mlflow @ git+https://github.com/mlflow/mlflow.git@v3.18.0"', /@v3\.18\.0/],
    ["an editable checkout", "pip install -e git+https://github.com/mlflow/mlflow.git@main#egg=mlflow", /#egg=mlflow/],
    ["an archive of a branch", "pip install https://github.com/mlflow/mlflow/archive/refs/heads/master.zip", /archive\/refs\/heads\/master\.zip/],
    ["a lower bound", "pip install 'mlflow>=3.5'", /"mlflow>=3\.5"/],
    ["a compatible release", "uv pip install 'mlflow~=3.18.0'", /~=3\.18\.0/],
    ["mlflow-skinny with a range", "pip install 'mlflow-skinny>=3,<4' gunicorn", /"mlflow-skinny>=3,<4"/],
    ["mlflow-skinny unpinned", "pip install mlflow-skinny", /"mlflow-skinny"/],
    ["mlflow_skinny with a range (PEP 503: the same package)", "pip install 'mlflow_skinny>=3'", /"mlflow_skinny>=3"/],
    ["MLflow.Skinny in a list", 'deps = ["MLflow.Skinny~=3.18"]', /"MLflow\.Skinny~=3\.18"/],
  ])("%s is reported", (_case, install, found) => {
    const result = check(install);
    expect(result.compliance).toBe("non-compliant");
    expect(result.detail).toMatch(found);
  });
  test.each([
    ["an exact version", "pip install 'mlflow[auth]==3.18.0'"],
    ["mlflow-skinny at an exact version", "pip install mlflow-skinny==3.18.0"],
    ["mlflow__skinny at an exact version", "pip install mlflow__skinny==3.18.0"],
    ["a full commit", `pip install "mlflow @ git+https://github.com/mlflow/mlflow.git@${"a".repeat(40)}"`],
    ["a release file", "pip install https://files.pythonhosted.org/packages/ab/cd/mlflow-3.18.0-py3-none-any.whl"],
    ["an archive with its hash", `pip install "https://github.com/mlflow/mlflow/archive/refs/heads/master.zip#sha256=${"0".repeat(64)}"`],
  ])("%s is pinned", (_case, install) => {
    expect(check(install).compliance).toBe("compliant");
  });
  test("a VM that installs MLflow but runs no mlflow server (a training VM) is not judged", () => {
    expect(check("pip install mlflow", "python train.py").compliance).toBe("not-applicable");
  });
});

describe("Cloud SQL cost warnings", () => {
  const sql = (edit: (c: any) => void) => variant(isSqlInstance, edit);
  const onDay = (today: string): MlflowStackFacts => ({ ...DEFAULT.facts, today });
  test.each([
    ["POSTGRES_13", TODAY, /POSTGRES_13 has been in paid extended support since February 1, 2026, until its deprecation on February 1, 2029/],
    ["POSTGRES_14", TODAY, /POSTGRES_14 enters paid extended support on February 1, 2027 \(in 65 days\)/],
    ["POSTGRES_12", "2028-03-01", /POSTGRES_12 has been deprecated on Cloud SQL since February 1, 2028/],
    ["MYSQL_8_0_31", TODAY, /MYSQL_8_0_31 has been in paid extended support since July 1, 2026/],
    ["POSTGRES_16", "2029-02-01", /since February 1, 2029/],
  ])("MLF-SQL-EXTENDED-SUPPORT: %s on %s", (version, today, found) => {
    const result = rule("MLF-SQL-EXTENDED-SUPPORT").check(sql((c) => { c.database_version = version; }), onDay(today));
    expect(result.compliance).toBe("non-compliant");
    expect(result.detail).toMatch(found);
  });
  test.each([
    ["POSTGRES_16", TODAY], ["POSTGRES_17", TODAY], ["POSTGRES_15", TODAY], ["POSTGRES_14", "2026-08-01"], ["SQLSERVER_2022_STANDARD", TODAY],
  ])("MLF-SQL-EXTENDED-SUPPORT: %s on %s is fine", (version, today) => {
    expect(rule("MLF-SQL-EXTENDED-SUPPORT").check(sql((c) => { c.database_version = version; }), onDay(today)).compliance).toBe("compliant");
  });
  test("MLF-SQL-EXTENDED-SUPPORT: without a date it says nothing (the pack passes today's)", () => {
    expect(rule("MLF-SQL-EXTENDED-SUPPORT").check(sql((c) => { c.database_version = "POSTGRES_13"; }), { servers: [] }).compliance).toBe("not-applicable");
  });
  test.each([
    ["db-f1-micro", "REGIONAL", "non-compliant"], ["db-g1-small", "REGIONAL", "non-compliant"],
    ["db-custom-1-3840", "REGIONAL", "compliant"], ["db-g1-small", "ZONAL", "compliant"], ["db-f1-micro", undefined, "compliant"],
  ])("MLF-SQL-HA-SHARED-CORE: %s %s", (tier, availability, expected) => {
    const result = rule("MLF-SQL-HA-SHARED-CORE").check(sql((c) => { c.settings.tier = tier; c.settings.availability_type = availability; }), DEFAULT.facts);
    expect(result.compliance).toBe(expected);
  });
  test("both warn through the stack's props, and synth goes on", () => {
    const { annotations } = appSynth({ database: { databaseVersion: "POSTGRES_13", availabilityType: "REGIONAL" } });
    const warnings = annotations.filter((a) => a.level === "@cdktf/warn" && a.message.startsWith("MLF-")).map((a) => a.message.split(" ")[0]);
    expect(warnings).toEqual(["MLF-SQL-EXTENDED-SUPPORT", "MLF-SQL-HA-SHARED-CORE"]);
  });
});

describe("the whole synthesized JSON is checked, resources without a construct included", () => {
  const worldSshResource = { name: "debug-ssh", network: "default", source_ranges: ["0.0.0.0/1", "128.0.0.0/1"], allow: [{ protocol: "tcp", ports: ["22"] }] };

  test("a firewall rule added with stack.addOverride fails synth, reported by address", () => {
    const message = synthError({}, (stack) => stack.addOverride("resource.google_compute_firewall.debug_ssh", worldSshResource));
    expect(message).toContain("MLF-FW-SSH-WORLD (error) on google_compute_firewall.debug_ssh [added with stack.addOverride, no construct]");
  });

  test("so does a public bucket grant added that way", () => {
    const message = synthError({}, (stack) => stack.addOverride("resource.google_storage_bucket_iam_member.public", {
      bucket: "${google_storage_bucket.ArtifactStore_8A81FDFB.name}", role: "roles/storage.objectViewer", member: "allUsers",
    }));
    expect(message).toMatch(/MLF-GCS-PUBLIC-IAM \(error\) on google_storage_bucket_iam_member\.public \[added with stack\.addOverride, no construct\]: .*objectViewer for allUsers/);
  });

  test("a suppression on the stack covers it, with the audit block in cdk.tf.json and an annotation on the stack", () => {
    const reason = "Break-glass SSH for the migration weekend, removed on Monday";
    const { tf, annotations } = appSynth({}, (stack) => {
      stack.addOverride("resource.google_compute_firewall.debug_ssh", worldSshResource);
      MlflowChecks.suppress(stack, "MLF-FW-SSH-WORLD", reason);
    });
    expect(tf.resource.google_compute_firewall.debug_ssh["//"].mlflow_checks.suppressed).toEqual([
      { rule_id: "MLF-FW-SSH-WORLD", reason, suppressed_on: "mlflow" },
    ]);
    expect(annotations).toContainEqual(expect.objectContaining({ constructPath: "mlflow", level: "@cdktf/info", message: expect.stringMatching(/MLF-FW-SSH-WORLD on google_compute_firewall\.debug_ssh is suppressed/) }));
  });

  test("a VM added that way counts as an MLflow server for the firewall rules", () => {
    const message = synthError({}, (stack) => {
      stack.addOverride("resource.google_compute_instance.extra", {
        name: "extra", machine_type: "e2-small", zone: "europe-west1-b", tags: ["extra"],
        boot_disk: { initialize_params: { image: "debian-cloud/debian-12" } }, network_interface: [{ network: "default" }],
        service_account: { email: "extra@acme-ml-prod.iam.gserviceaccount.com", scopes: ["cloud-platform"] },
        metadata: { "enable-oslogin": "TRUE" }, shielded_instance_config: { enable_secure_boot: true },
        metadata_startup_script: "pip install mlflow==3.18.0\nmlflow server --host 0.0.0.0 --port 7000",
      });
      stack.addOverride("resource.google_compute_firewall.extra", { name: "extra", network: "default", source_ranges: ["0.0.0.0/0"], target_tags: ["extra"], allow: [{ protocol: "tcp", ports: ["7000"] }] });
    });
    expect(message).toContain("MLF-FW-MLFLOW-WORLD (error) on google_compute_firewall.extra");
    expect(message).toMatch(/tcp\/7000 \(the MLflow port\)/);
  });

  test("resources without a construct are out of scope when the aspect covers only a sub-construct", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "scoped");
    new GoogleProvider(stack, "google", { project: "acme-ml-prod", region: "europe-west1" });
    stack.addOverride("resource.google_compute_firewall.debug_ssh", worldSshResource);
    const store = new MlflowArtifactStore(stack, "ArtifactStore", { projectId: "acme-ml-prod", region: "europe-west1" });
    Aspects.of(store).add(new MlflowChecks());
    expect(() => app.synth()).not.toThrow();
  });

  test("the stack is synthesized once per check run (the performance budget)", () => {
    const { stack } = newStack();
    const spy = jest.spyOn(stack, "toTerraform");
    Testing.synth(stack, true);
    // One call by the checks, one by Testing.synth for its output.
    expect(spy).toHaveBeenCalledTimes(2);
  });

  test("app.synth() resolves the stack once: the file is written from the JSON the checks read", () => {
    const { app, stack } = newStack();
    const resolve = jest.spyOn(TerraformStack.prototype, "toTerraform");
    try {
      app.synth();
      // MlflowTrackingStack.toTerraform is called twice (checks, then the synthesizer); the
      // resolving TerraformStack.toTerraform underneath only once.
      expect(resolve.mock.contexts.filter((c) => c === stack)).toHaveLength(1);
    } finally {
      resolve.mockRestore();
    }
  });
});

describe("findings on the user's own resources are worded for those resources", () => {
  test("a firewall rule the user added names itself as the user's, not the tracking server", () => {
    const message = synthError({}, (stack) => {
      new ComputeFirewall(stack, "Debug", { name: "debug", network: "default", sourceRanges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["8443"] }] });
    });
    expect(message).toContain("MLF-FW-WORLD (error) on google_compute_firewall.Debug [mlflow/Debug, a resource you added to the stack]: No firewall rule opens any port to the whole internet — found: allows tcp/8443 from 0.0.0.0/0");
    expect(message).not.toMatch(/tracking server/);
  });

  test("no rule's title or why presents a resource as MLflow's own", () => {
    for (const r of MLFLOW_RULES) {
      expect({ id: r.id, text: `${r.title} ${r.why}` }).toEqual({ id: r.id, text: expect.not.stringMatching(/\bthe (tracking server|artifact bucket|backend store|MLflow VM)\b/) });
    }
  });
});
