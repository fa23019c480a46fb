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

/** The synthesized resources and stack facts of a stack, as the rules see them. */
function rulesInput(props: Partial<MlflowTrackingStackProps> = {}): { resources: MlflowSynthesizedResource[]; facts: MlflowStackFacts } {
  const json = JSON.parse(Testing.synth(newStack(props).stack)) as TfJson;
  const resources = Object.entries(json.resource).flatMap(([type, byName]) =>
    Object.entries(byName).map(([name, config]) => ({ type, name, config })));
  return { resources, facts: { servers: resources.map(serverFacts).filter((f) => f !== undefined) as any } };
}

const DEFAULT = rulesInput();
const PUBLIC = rulesInput(PUBLIC_PLAIN);

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
    expect(MLFLOW_RULES.filter((r) => r.level === "warning").map((r) => r.id).sort()).toEqual([
      "MLF-GCS-FORCE-DESTROY", "MLF-GCS-VERSIONING", "MLF-PLAINTEXT-BASIC-AUTH", "MLF-SQL-DELETION-PROTECTION", "MLF-VM-SECURE-BOOT",
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

  test.each(MODES)("%s: Testing.synth(stack, true) and Testing.fullSynth succeed", (_name, props) => {
    expect(() => Testing.synth(newStack(props).stack, true)).not.toThrow();
    expect(() => Testing.fullSynth(newStack(props).stack)).not.toThrow();
  });

  test("the rules really judge the default stack: each applicable rule finds something compliant", () => {
    for (const input of [DEFAULT, PUBLIC]) {
      for (const r of MLFLOW_RULES) {
        const results = input.resources.filter((res) => r.resourceTypes.includes(res.type)).map((res) => r.check(res, input.facts).compliance);
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
    expect(message).toMatch(/MLF-SQL-PUBLIC-IP \(error\) on google_sql_database_instance\.Database_B269D8BB \[mlflow\/Database\/Resource\]/);
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
