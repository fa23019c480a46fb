// Bad props are refused at synth with MlflowValidationError naming the prop path, the value
// and what is accepted; every problem at once; tokens are skipped.
import { TerraformVariable, TerraformStack, Testing } from "cdktf";
import { ComputeNetwork } from "@cdktf/provider-google/lib/compute-network";
import { ComputeSubnetwork } from "@cdktf/provider-google/lib/compute-subnetwork";
import { MlflowTrackingStack, MlflowTrackingStackProps, MlflowValidationError, MlflowArtifactStore, MlflowNetwork } from "../lib";
import { BASE_PROPS, newApp, onlyResource, synthStack } from "./helpers";

const PUBLIC = { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true };

function build(props: Partial<MlflowTrackingStackProps>): void {
  new MlflowTrackingStack(newApp(), "mlflow", { ...BASE_PROPS, ...props } as MlflowTrackingStackProps);
}

function problemsOf(props: Partial<MlflowTrackingStackProps>): MlflowValidationError {
  try {
    build(props);
  } catch (e) {
    if (e instanceof MlflowValidationError) return e;
    throw e;
  }
  throw new Error("no MlflowValidationError thrown");
}

// [case, props, prop path in the message, a phrase of what is accepted]
const BAD: Array<[string, Partial<MlflowTrackingStackProps>, string, RegExp]> = [
  ["project id too short", { projectId: "abc" }, "projectId", /6-30 lowercase/],
  ["project id with capitals", { projectId: "My-Project" }, "projectId", /GCP project id/],
  ["project id starting with a digit", { projectId: "1project" }, "projectId", /starting with a letter/],
  ["project id ending with a hyphen", { projectId: "my-project-" }, "projectId", /not ending with a hyphen/],
  ["empty project id", { projectId: "" }, "projectId", /GCP project id/],
  ["region without number", { region: "europe-west" }, "region", /europe-west1/],
  ["region as zone", { region: "europe-west1-b" }, "region", /GCP region/],
  ["zone of another region", { zone: "us-central1-a" }, "zone", /a zone of region europe-west1/],
  ["zone malformed", { zone: "europe-west1" }, "zone", /europe-west1-b/],
  ["name prefix with capitals", { namePrefix: "MLflow" }, "namePrefix", /lowercase/],
  ["name prefix too long", { namePrefix: "a".repeat(21) }, "namePrefix", /1-20/],
  ["name prefix with underscore", { namePrefix: "ml_flow" }, "namePrefix", /hyphens/],
  ["name prefix ending with hyphen", { namePrefix: "mlflow-" }, "namePrefix", /not ending with a hyphen/],
  ["label key with capitals", { labels: { Team: "a" } }, 'labels (key "Team")', /label key/],
  ["label value with space", { labels: { team: "a b" } }, "labels.team", /label value/],
  ["label value too long", { labels: { team: "a".repeat(64) } }, "labels.team", /at most 63/],
  ["subnet CIDR malformed", { network: { subnetCidr: "10.0.0.0" } }, "network.subnetCidr", /IPv4 CIDR/],
  ["subnet CIDR with host bits", { network: { subnetCidr: "10.0.0.1/24" } }, "network.subnetCidr", /no host bits/],
  ["subnet CIDR too small", { network: { subnetCidr: "10.0.0.0/30" } }, "network.subnetCidr", /\/29/],
  ["subnet CIDR octet > 255", { network: { subnetCidr: "10.0.300.0/24" } }, "network.subnetCidr", /IPv4 CIDR/],
  ["existing subnet without network", { network: { existingSubnetwork: "default" } }, "network.existingNetwork", /both are needed/],
  ["existing subnet with CIDR", { network: { existingNetwork: "default", existingSubnetwork: "default", subnetCidr: "10.0.0.0/24" } }, "network.subnetCidr", /keeps its own range/],
  ["network name with spaces", { network: { existingNetwork: "my net" } }, "network.existingNetwork", /a network name/],
  ["SQL tier of Enterprise Plus", { database: { tier: "db-perf-optimized-N-2" } }, "database.tier", /ENTERPRISE edition/],
  ["SQL tier made up", { database: { tier: "large" } }, "database.tier", /db-g1-small/],
  ["SQL custom tier with 3 vCPUs", { database: { tier: "db-custom-3-7680" } }, "database.tier", /even number of vCPUs/],
  ["SQL custom tier too little memory", { database: { tier: "db-custom-2-3000" } }, "database.tier", /multiple of 256 MiB/],
  ["SQL custom tier too much memory per vCPU", { database: { tier: "db-custom-1-999936" } }, "database.tier", /0\.9-6\.5 GiB per vCPU/],
  ["MySQL version", { database: { databaseVersion: "MYSQL_8_0" } }, "database.databaseVersion", /MLflow needs PostgreSQL/],
  ["unknown Postgres version", { database: { databaseVersion: "POSTGRES_9_6" } }, "database.databaseVersion", /POSTGRES_16/],
  ["availability type", { database: { availabilityType: "MULTI" as never } }, "database.availabilityType", /"ZONAL", "REGIONAL"/],
  ["disk too small", { database: { diskSizeGb: 5 } }, "database.diskSizeGb", /from 10 to 65536/],
  ["disk not whole", { database: { diskSizeGb: 10.5 } }, "database.diskSizeGb", /whole number/],
  ["database name with hyphen", { database: { databaseName: "ml-flow" } }, "database.databaseName", /PostgreSQL identifier/],
  ["reserved user name", { database: { userName: "postgres" } }, "database.userName", /reserved/],
  ["bucket name with capitals", { artifactStore: { bucketName: "My-Bucket" } }, "artifactStore.bucketName", /GCS bucket name/],
  ["bucket name starting goog", { artifactStore: { bucketName: "goog-artifacts" } }, "artifactStore.bucketName", /not starting with "goog"/],
  ["bucket name with google", { artifactStore: { bucketName: "my-google-artifacts" } }, "artifactStore.bucketName", /not containing "google"/],
  ["bucket name too short", { artifactStore: { bucketName: "ab" } }, "artifactStore.bucketName", /3-63/],
  ["derived bucket name with google", { projectId: "google-ml-4711" }, "artifactStore.bucketName (derived from projectId and namePrefix)", /not starting with "goog"/],
  ["retention days zero", { artifactStore: { noncurrentVersionRetentionDays: 0 } }, "artifactStore.noncurrentVersionRetentionDays", /from 1 to 3650/],
  ["machine type with spaces", { server: { machineType: "e2 medium" } }, "server.machineType", /e2-medium/],
  ["boot image as URL", { server: { bootImage: "https://example.com/image" } }, "server.bootImage", /debian-cloud\/debian-12/],
  ["port privileged", { server: { port: 80 } }, "server.port", /unprivileged/],
  ["port too high", { server: { port: 70000 } }, "server.port", /1024 to 65535/],
  ["workers zero", { server: { workers: 0 } }, "server.workers", /from 1 to 32/],
  ["boot disk too small", { server: { bootDiskSizeGb: 5 } }, "server.bootDiskSizeGb", /from 10/],
  ["mlflow latest", { mlflowVersion: "latest" }, "mlflowVersion", /exact MLflow release/],
  ["mlflow 2.x", { mlflowVersion: "2.22.0" }, "mlflowVersion", /3\.5\.0/],
  ["mlflow before host checks", { mlflowVersion: "3.4.0" }, "mlflowVersion", /--allowed-hosts/],
  ["mlflow with shell", { mlflowVersion: "3.18.0; curl evil|sh" }, "mlflowVersion", /exact MLflow release/],
  ["mlflow range", { mlflowVersion: ">=3.5" }, "mlflowVersion", /exact/],
  ["access mode unknown", { access: { mode: "open" as never } }, "access.mode", /"private", "public"/],
  ["public without ranges", { access: { mode: "public", allowPlaintextHttp: true } }, "access.allowedSourceRanges", /at least one CIDR range/],
  ["public without plaintext ack", { access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"] } }, "access.allowPlaintextHttp", /unencrypted/],
  ["source range malformed", { access: { ...PUBLIC, allowedSourceRanges: ["203.0.113.0"] } }, "access.allowedSourceRanges[0]", /CIDR/],
  ["source range hostname", { access: { ...PUBLIC, allowedSourceRanges: ["office.example.com"] } }, "access.allowedSourceRanges[0]", /CIDR/],
  ["internal range that is public", { access: { internalSourceRanges: ["203.0.113.0/24"] } }, "access.internalSourceRanges[0]", /private IPv4 range/],
  ["internal ranges empty", { access: { internalSourceRanges: [] } }, "access.internalSourceRanges", /at least one range/],
  ["ranges in private mode", { access: { allowedSourceRanges: ["203.0.113.0/24"] } }, "access.allowedSourceRanges", /private mode/],
  ["plaintext flag in private mode", { access: { allowPlaintextHttp: true } }, "access.allowPlaintextHttp", /private mode/],
  ["domain in private mode", { access: { domain: "mlflow.example.com" } }, "access.domain", /private mode/],
  ["IAP member without kind", { access: { iapMembers: ["ada@example.com"] } }, "access.iapMembers[0]", /user:ada@example.com/],
  ["IAP member allUsers", { access: { iapMembers: ["allUsers"] } }, "access.iapMembers[0]", /IAM member/],
  ["IAP member bad domain", { access: { iapMembers: ["domain:not a domain"] } }, "access.iapMembers[0]", /IAM member/],
  ["IAP members in public mode", { access: { ...PUBLIC, iapMembers: ["user:ada@example.com"] } }, "access.iapMembers", /private mode only/],
  ["default permission", { auth: { defaultPermission: "ADMIN" as never } }, "auth.defaultPermission", /"READ", "EDIT"/],
];

describe("bad props", () => {
  test(`at least 40 cases (${BAD.length})`, () => expect(BAD.length).toBeGreaterThanOrEqual(40));

  test.each(BAD)("%s", (_case, props, propPath, accepted) => {
    const error = problemsOf(props);
    const problem = error.problems.find((p) => p.path === propPath);
    expect(problem).toBeDefined();
    expect(problem!.expected).toMatch(accepted);
    expect(error.message).toContain(`${propPath}: `);
    expect(error.message).toContain("mlflow");
  });
});

describe("error shape", () => {
  test("every problem is reported at once, with path, value and what is accepted", () => {
    const error = problemsOf({ projectId: "X", server: { port: 22, machineType: "big" }, database: { tier: "huge" } });
    expect(error.problems.map((p) => p.path)).toEqual(expect.arrayContaining(["projectId", "server.port", "server.machineType", "database.tier"]));
    expect(error.message).toMatch(/Invalid props for mlflow \(\d+ problems\)/);
    expect(error.message).toContain('server.port: 22 is not valid; expected a whole number from 1024 to 65535');
    expect(error.name).toBe("MlflowValidationError");
    expect(error).toBeInstanceOf(Error);
  });

  test("values that are Terraform tokens are skipped, not rejected", () => {
    const app = newApp();
    const stack = new TerraformStack(app, "user");
    const project = new TerraformVariable(stack, "project", { type: "string" });
    expect(() => new MlflowArtifactStore(stack, "Artifacts", { projectId: project.stringValue, region: "europe-west1" })).not.toThrow();
  });

  test("a sub-construct used on its own validates its props, naming its path", () => {
    const stack = new TerraformStack(newApp(), "user");
    expect(() => new MlflowArtifactStore(stack, "Artifacts", { projectId: "acme-ml-prod", region: "europe-west1", bucketName: "Bad" }))
      .toThrow(/Invalid props for user\/Artifacts .*\n.*artifactStore\.bucketName: "Bad"/);
  });
});

describe("good props pass", () => {
  const GOOD: Array<[string, Partial<MlflowTrackingStackProps>]> = [
    ["defaults", {}],
    ["realistic private", { projectId: "acme-ml-prod-4711", region: "us-central1", zone: "us-central1-f", namePrefix: "team-a", labels: { team: "ml", "cost-center": "cc_42" }, access: { iapMembers: ["group:ml-team@acme.com", "user:ada@acme.com", "serviceAccount:ci@acme-ml-prod.iam.gserviceaccount.com", "domain:acme.com", "principalSet://iam.googleapis.com/locations/global/workforcePools/acme/group/ml"] } }],
    ["public with ranges", { access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"], allowPlaintextHttp: true } }],
    ["bigger database", { database: { tier: "db-custom-4-15360", availabilityType: "REGIONAL", diskSizeGb: 100, databaseVersion: "POSTGRES_15", databaseName: "mlflow_prod", userName: "mlflow_app" } }],
    ["own bucket", { artifactStore: { bucketName: "acme_ml-artifacts.v2".replace(".", "-"), location: "EU", versioning: false, forceDestroy: true, noncurrentVersionRetentionDays: 7 } }],
    ["server options", { mlflowVersion: "3.5.0", server: { machineType: "n2-standard-4", bootImage: "projects/debian-cloud/global/images/family/debian-12", bootDiskSizeGb: 50, port: 8080, workers: 8 }, database: { tier: "db-custom-2-7680" } }],
    // Paths in the stack's own project (a host project's network, Shared VPC, is refused: see "existing networks").
    ["existing network by path", { network: { existingNetwork: "projects/acme-ml-prod/global/networks/prod", existingSubnetwork: "projects/acme-ml-prod/regions/europe-west1/subnetworks/ml" } }],
    ["no auth", { auth: { basicAuth: false } }],
    ["other permission", { auth: { defaultPermission: "NO_PERMISSIONS" } }],
  ];
  test.each(GOOD)("%s", (_case, props) => {
    expect(() => synthStack(props)).not.toThrow();
  });
});

// ---- round 2: runtime types, ranges, networks, ports, images, locations, acknowledgements ----

/** The problem at `path`, or fails the test with every problem found. */
function problemAt(props: unknown, path: string) {
  let error: MlflowValidationError | undefined;
  try {
    new MlflowTrackingStack(newApp(), "mlflow", props as MlflowTrackingStackProps);
  } catch (e) {
    if (!(e instanceof MlflowValidationError)) throw e; // a TypeError is a failure of this test
    error = e;
  }
  if (!error) throw new Error(`no MlflowValidationError for ${JSON.stringify(props)}`);
  const problem = error.problems.find((p) => p.path === path);
  if (!problem) throw new Error(`no problem at ${path}; found: ${error.message}`);
  return { problem, error };
}

const withBase = (props: object) => ({ ...BASE_PROPS, ...props });

describe("runtime types: plain JavaScript and JSON callers get a clear error, never a TypeError or a silent default", () => {
  // [case, props, prop path, what the message says]
  const BAD_TYPES: Array<[string, object, string, RegExp]> = [
    ['basicAuth: "false" (a truthy string)', { auth: { basicAuth: "false" } }, "auth.basicAuth", /^a boolean \(true or false\), not a string \(write it without quotes\)$/],
    ["basicAuth: 0", { auth: { basicAuth: 0 } }, "auth.basicAuth", /a boolean \(true or false\), not a number/],
    ['access: "public" (a string for an object)', { access: "public" }, "access", /an object with the access options \(mode, iapMembers, /],
    ['iapMembers: "group:x" (a string for a list)', { access: { iapMembers: "group:ml@example.com" } }, "access.iapMembers", /a list of strings.*write \["group:ml@example.com"\] for one/],
    ["an item of the wrong type in a list", { access: { iapMembers: ["user:ada@example.com", 42] } }, "access.iapMembers[1]", /a string, not a number/],
    ["projectId: a number", { projectId: 4711 }, "projectId", /a string, not a number/],
    ["region: a list", { region: ["europe-west1"] }, "region", /a string, not a list/],
    ['database.diskSizeGb: "20"', { database: { diskSizeGb: "20" } }, "database.diskSizeGb", /a number, not a string \(write it without quotes\)/],
    ['server.port: "5000"', { server: { port: "5000" } }, "server.port", /a number, not a string/],
    ['artifactStore.versioning: "true"', { artifactStore: { versioning: "true" } }, "artifactStore.versioning", /a boolean/],
    ["labels: a string", { labels: "team=ml" }, "labels", /an object mapping names to strings/],
    ["a label value that is a number", { labels: { team: 1 } }, "labels.team", /a string, not a number/],
    ["network: null", { network: null }, "network", /an object with the network options \(existingNetwork, .*\), not null/],
    ["allowPlaintextHttp: a string", { access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: "yes" } }, "access.allowPlaintextHttp", /a boolean/],
    ["a misspelled prop (acess)", { acess: { mode: "public" } }, "acess", /no such prop in the props of MlflowTrackingStack \(did you mean "access"\?\)/],
    ["a misspelled option (iapMember)", { access: { iapMember: ["user:ada@example.com"] } }, "access.iapMember", /did you mean "iapMembers"\?/],
    ["a snake_case option (basic_auth)", { auth: { basic_auth: false } }, "auth.basic_auth", /did you mean "basicAuth"\?/],
    ["a misspelled database option (teir)", { database: { teir: "db-custom-2-7680" } }, "database.teir", /did you mean "tier"\?/],
    ["an unknown option without a near name", { server: { gpu: "l4" } }, "server.gpu", /no such prop in the server options.*; the props are kind, machineType, bootImage/],
  ];
  test.each(BAD_TYPES)("%s", (_case, props, path, expected) => {
    const { problem } = problemAt(withBase(props), path);
    expect(problem.expected).toMatch(expected);
  });

  test("the message names path, value and the accepted type, as for every other problem", () => {
    const { error } = problemAt(withBase({ auth: { basicAuth: "false" } }), "auth.basicAuth");
    expect(error.message).toContain('auth.basicAuth: "false" is not valid; expected a boolean (true or false)');
  });

  test("an ill-typed value is reported once, by type, not again by the value rules", () => {
    const { error } = problemAt(withBase({ server: { port: "5000" }, access: { iapMembers: "group:x" } }), "server.port");
    expect(error.problems.filter((p) => p.path.startsWith("server.port"))).toHaveLength(1);
    expect(error.problems.filter((p) => p.path.startsWith("access.iapMembers"))).toHaveLength(1);
  });

  test.each([
    ["no props at all", undefined, "(props)"],
    ["null props", null, "(props)"],
    ["props that are a string", "acme-ml-prod", "(props)"],
  ])("%s: MlflowValidationError, not a TypeError", (_case, props, path) => {
    expect(problemAt(props, path).problem.expected).toMatch(/props of MlflowTrackingStack/);
  });

  test("a sub-construct on its own checks the types of its options too", () => {
    const stack = new TerraformStack(newApp(), "user");
    expect(() => new MlflowArtifactStore(stack, "Artifacts", { projectId: "acme-ml-prod", region: "europe-west1", location: 5 } as never))
      .toThrow(/artifactStore\.location: 5 is not valid; expected a string, not a number/);
  });

  test("a value that decides what is built cannot be a Terraform token", () => {
    const app = newApp();
    const holder = new TerraformStack(app, "vars");
    const flag = new TerraformVariable(holder, "basic_auth", { type: "bool" });
    const mode = new TerraformVariable(holder, "mode", { type: "string" });
    const error = problemsOf({ auth: { basicAuth: flag.booleanValue as never }, access: { mode: mode.stringValue as never } });
    expect(error.problems.find((p) => p.path === "auth.basicAuth")?.expected).toMatch(/written out, not a Terraform token: it decides which resources are created/);
    expect(error.problems.find((p) => p.path === "access.mode")?.expected).toMatch(/not a Terraform token/);
  });

  test("tokens stay allowed where the value only ends up in the JSON", () => {
    const app = newApp();
    const stack = new TerraformStack(app, "user");
    const project = new TerraformVariable(stack, "project", { type: "string" });
    const disk = new TerraformVariable(stack, "disk", { type: "number" });
    const members = new TerraformVariable(stack, "members", { type: "list(string)" });
    const versioning = new TerraformVariable(stack, "versioning", { type: "bool" });
    expect(() => new MlflowArtifactStore(stack, "Artifacts", { projectId: project.stringValue, region: "europe-west1", versioning: versioning.booleanValue as never })).not.toThrow();
    expect(() => new MlflowTrackingStack(app, "mlflow", {
      ...BASE_PROPS, database: { diskSizeGb: disk.numberValue }, access: { internalSourceRanges: members.listValue },
    })).not.toThrow();
  });

  test("a domain from a variable is refused by validation (it goes into the Caddyfile at synth), not by a bare Error later", () => {
    const app = newApp();
    const domain = new TerraformVariable(new TerraformStack(app, "vars"), "domain", { type: "string" });
    const error = problemsOf({ access: { mode: "public", domain: domain.stringValue, allowedSourceRanges: ["203.0.113.0/24"] } });
    expect(error.problems.find((p) => p.path === "access.domain")?.expected).toMatch(/not a Terraform token: it is written into the Caddyfile/);
  });

  test("a list that decides how many resources exist cannot be a token (one IAP grant per member)", () => {
    const app = newApp();
    const members = new TerraformVariable(new TerraformStack(app, "vars"), "members", { type: "list(string)" });
    expect(problemsOf({ access: { iapMembers: members.listValue } }).problems.find((p) => p.path === "access.iapMembers")?.expected)
      .toMatch(/not a Terraform token: one IAP grant is created per member/);
  });
});

describe("public mode never accepts ranges that together are the whole internet", () => {
  const publicWith = (allowedSourceRanges: string[], domain = false) => withBase({
    access: { mode: "public", allowedSourceRanges, ...(domain ? { domain: "mlflow.example.com" } : { allowPlaintextHttp: true }) },
  });
  const WORLD: Array<[string, string[], RegExp]> = [
    ["0.0.0.0/0", ["0.0.0.0/0"], /every IPv4 address on the internet/],
    ["two halves", ["0.0.0.0/1", "128.0.0.0/1"], /together 0\.0\.0\.0\/1, 128\.0\.0\.0\/1 cover every IPv4 address/],
    ["four quarters and an office", ["203.0.113.0/24", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"], /every IPv4 address/],
    ["everything but 10.0.0.0/8", ["0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"], /every IPv4 address/],
    ["everything below multicast (224.0.0.0/4 and 240.0.0.0/4 never send)", ["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3"], /every IPv4 address/],
    ["::/0", ["::/0"], /every IPv6 address on the internet/],
    ["2000::/3, the IPv6 global unicast block", ["2000::/3"], /every IPv6 address/],
    ["2000::/4 + 3000::/4", ["2000::/4", "3000::/4"], /every IPv6 address/],
  ];
  test.each(WORLD)("%s is refused (plain HTTP)", (_case, ranges, found) => {
    const { problem } = problemAt(publicWith(ranges), "access.allowedSourceRanges");
    expect(problem.expected).toMatch(/not the whole internet/);
    expect(problem.expected).toMatch(found);
  });
  test.each(WORLD)("%s is refused with a domain (HTTPS) too", (_case, ranges) => {
    expect(problemAt(publicWith(ranges, true), "access.allowedSourceRanges").problem.expected).toMatch(/not the whole internet/);
  });
  test.each([
    ["one office", ["203.0.113.0/24"]],
    ["half the IPv4 space is still a list, not everyone", ["0.0.0.0/1"]],
    ["IPv4 and IPv6 offices", ["198.51.100.7/32", "2001:db8::/32"]],
    ["unique local IPv6 (not the internet)", ["fc00::/7"]],
    ["three quarters of the IPv4 space", ["0.0.0.0/1", "128.0.0.0/2"]],
  ])("%s is accepted", (_case, ranges) => {
    expect(() => synthStack(publicWith(ranges) as Partial<MlflowTrackingStackProps>)).not.toThrow();
  });
});

describe("CIDR blocks are parsed by their RFCs", () => {
  const inPublic = (range: string) => withBase({ access: { mode: "public", allowedSourceRanges: [range], allowPlaintextHttp: true } });
  test.each([
    ["a leading zero (octal to some tools)", "010.0.0.0/8", /leading zero/],
    ["an octet over 255", "203.0.113.256/32", /256 is more than 255/],
    ["a prefix over 32", "203.0.113.0/33", /longer than the 32 bits/],
    ["host bits set", "203.0.113.7/24", /write 203\.0\.113\.0\/24/],
    ["no prefix", "203.0.113.7", /no prefix length/],
    ["an IPv6 prefix over 128", "2001:db8::/129", /longer than the 128 bits/],
    ["an IPv6 zone id", "fe80::1%eth0/64", /zone id/],
    ['two "::"', "2001:db8::1::/64", /only once/],
    ["a group of 5 hex digits", "2001:0db80::/32", /1-4 hex digits/],
    ["nine groups", "1:2:3:4:5:6:7:8:9/128", /9 groups where 8 are needed/],
    ["a bad embedded IPv4 part", "::ffff:1.2.3.256/128", /embedded IPv4 part/],
    ["brackets", "[2001:db8::]/32", /brackets/],
    ["a hostname", "office.example.com/32", /four dot-separated numbers/],
  ])("%s: %s", (_case, range, reason) => {
    const { problem } = problemAt(inPublic(range), "access.allowedSourceRanges[0]");
    expect(problem.expected).toMatch(/IPv4 or IPv6 CIDR block/);
    expect(problem.expected).toMatch(reason);
  });
  test.each([
    ["IPv4", "203.0.113.0/24"],
    ["one IPv4 host", "198.51.100.7/32"],
    ["IPv6 with ::", "2001:db8::/32"],
    ["IPv6 with leading zeros in a group", "2001:0db8::/32"],
    ["IPv6 upper case", "2001:DB8::/32"],
    ["embedded IPv4", "::ffff:203.0.113.0/120"],
    ["eight full groups", "2001:db8:0:0:0:0:0:0/64"],
  ])("%s is accepted: %s", (_case, range) => {
    expect(() => synthStack(inPublic(range) as Partial<MlflowTrackingStackProps>)).not.toThrow();
  });
});

describe("ranges the server trusts are private (RFC 1918, RFC 6598), never what GCP refuses", () => {
  const BAD: Array<[string, string, RegExp]> = [
    ["link-local", "169.254.0.0/16", /169\.254\.0\.0\/16 is link-local .*which Google Cloud refuses for subnets/],
    ["loopback", "127.0.0.0/8", /loopback/],
    ['"this network"', "0.0.0.0/8", /this network/],
    ["Private Google Access VIPs", "199.36.153.8/29", /overlaps 199\.36\.153\.8\/30, private\.googleapis\.com/],
    ["public (documentation range)", "203.0.113.0/24", /is public/],
    ["public", "8.8.8.0/24", /is public/],
    ["just outside RFC 6598", "100.128.0.0/16", /is public/],
    ["just outside 172.16.0.0/12", "172.32.0.0/16", /is public/],
    ["straddling private and public", "100.0.0.0/8", /reaches beyond the private ranges/],
    ["IPv6", "fd00::/8", /IPv6/],
  ];
  test.each(BAD)("network.subnetCidr: %s (%s)", (_case, range, reason) => {
    const { problem } = problemAt(withBase({ network: { subnetCidr: range } }), "network.subnetCidr");
    expect(problem.expected).toMatch(/private IPv4 CIDR block/);
    expect(problem.expected).toMatch(reason);
  });
  test.each(BAD)("access.internalSourceRanges: %s (%s)", (_case, range, reason) => {
    const { problem } = problemAt(withBase({ access: { internalSourceRanges: [range] } }), "access.internalSourceRanges[0]");
    expect(problem.expected).toMatch(/private IPv4 range inside your network/);
    expect(problem.expected).toMatch(reason);
  });
  test.each([
    ["subnet wider than /8", { network: { subnetCidr: "10.0.0.0/7" } }, "network.subnetCidr", /wider than \/8/],
    ["subnet narrower than /29", { network: { subnetCidr: "10.0.0.0/30" } }, "network.subnetCidr", /narrower than \/29/],
  ])("%s", (_case, props, path, reason) => {
    expect(problemAt(withBase(props), path).problem.expected).toMatch(reason);
  });
  test.each([["10.0.0.0/8"], ["172.16.0.0/12"], ["172.31.128.0/17"], ["192.168.10.0/24"], ["100.64.0.0/10"], ["100.127.255.0/24"]])("%s is accepted for both", (range) => {
    expect(() => synthStack({ network: { subnetCidr: range.endsWith("/8") || range.endsWith("/10") || range.endsWith("/12") ? "10.20.0.0/24" : range }, access: { internalSourceRanges: [range] } })).not.toThrow();
    expect(() => synthStack({ network: { subnetCidr: range } })).not.toThrow();
  });
});

describe("existing networks", () => {
  const net = (network: object) => withBase({ network });
  test.each([
    ["a network of another project (Shared VPC)", { existingNetwork: "projects/shared-host/global/networks/prod" }, "network.existingNetwork", /Shared VPC is not supported.*created in acme-ml-prod/],
    ["its self link", { existingNetwork: "https://www.googleapis.com/compute/v1/projects/shared-host/global/networks/prod" }, "network.existingNetwork", /Shared VPC/],
    ["a subnetwork of another project", { existingNetwork: "default", existingSubnetwork: "projects/shared-host/regions/europe-west1/subnetworks/ml" }, "network.existingSubnetwork", /Shared VPC/],
    ["a subnetwork in another region", { existingNetwork: "default", existingSubnetwork: "projects/acme-ml-prod/regions/us-central1/subnetworks/ml" }, "network.existingSubnetwork", /in region europe-west1 .*this one is in us-central1/],
    ["a subnetwork path as the network", { existingNetwork: "projects/acme-ml-prod/regions/europe-west1/subnetworks/ml" }, "network.existingNetwork", /names a subnetwork \(pass it as network.existingSubnetwork\)/],
    ["a network path as the subnetwork", { existingNetwork: "default", existingSubnetwork: "projects/acme-ml-prod/global/networks/default" }, "network.existingSubnetwork", /names a network/],
    ["a self link of another host", { existingNetwork: "https://example.com/compute/v1/projects/acme-ml-prod/global/networks/prod" }, "network.existingNetwork", /a network name/],
    ["upper case", { existingNetwork: "Default" }, "network.existingNetwork", /a network name/],
  ])("%s is refused", (_case, network, path, expected) => {
    expect(problemAt(net(network), path).problem.expected).toMatch(expected);
  });

  test.each([
    ["names", { existingNetwork: "default", existingSubnetwork: "default" }],
    ["paths of the stack's project", { existingNetwork: "projects/acme-ml-prod/global/networks/default", existingSubnetwork: "projects/acme-ml-prod/regions/europe-west1/subnetworks/default" }],
    ["self links", { existingNetwork: "https://www.googleapis.com/compute/v1/projects/acme-ml-prod/global/networks/default", existingSubnetwork: "https://www.googleapis.com/compute/v1/projects/acme-ml-prod/regions/europe-west1/subnetworks/default" }],
  ])("%s: every resource gets the name or the projects/… id, the subnetwork is looked up by name", (_case, network) => {
    const { json } = synthStack({ network });
    const sub = Object.values(json.data!.google_compute_subnetwork)[0];
    // The data source's self_link takes only a full https:// link; project, region and name always work.
    expect(sub).toMatchObject({ name: "default", region: "europe-west1", project: "acme-ml-prod" });
    expect(sub.self_link).toBeUndefined();
    expect(onlyResource(json, "google_sql_database_instance").settings.ip_configuration.private_network).toBe("projects/acme-ml-prod/global/networks/default");
    expect(onlyResource(json, "google_compute_router").network).toBe("projects/acme-ml-prod/global/networks/default");
    expect(Object.values(json.resource.google_compute_firewall).map((f: any) => f.network)).toEqual(expect.arrayContaining(["default"]));
  });

  test.each([["id"], ["selfLink"], ["name"]])("a Terraform reference to the network's %s is used by its name, the same for all three", (attribute) => {
    const app = newApp();
    const stack = new TerraformStack(app, "user");
    const vpc = new ComputeNetwork(stack, "Vpc", { name: "ml-vpc", autoCreateSubnetworks: false });
    const subnet = new ComputeSubnetwork(stack, "Subnet", { name: "ml", network: vpc.id, ipCidrRange: "10.8.0.0/24", region: "europe-west1" });
    const ref = (r: any) => r[attribute] as string;
    const network = new MlflowNetwork(stack, "Network", { projectId: "acme-ml-prod", region: "europe-west1", existingNetwork: ref(vpc), existingSubnetwork: ref(subnet) });
    const json = JSON.parse(Testing.synth(stack));
    const tfAttr = attribute === "selfLink" ? "self_link" : attribute;
    const name = (type: string, id: string) => `\${element(reverse(split("/", ${type}.${id}.${tfAttr})), 0)}`;
    expect(Object.values(json.data.google_compute_subnetwork)[0]).toMatchObject({
      name: name("google_compute_subnetwork", "Subnet"), project: "acme-ml-prod", region: "europe-west1",
    });
    expect((Object.values(json.resource.google_service_networking_connection)[0] as any).network)
      .toBe(`projects/acme-ml-prod/global/networks/${name("google_compute_network", "Vpc")}`);
    expect(Testing.synth(stack)).not.toContain("projects/acme-ml-prod/global/networks/${google_compute_network.Vpc.id}");
    expect(network.networkName).toBeDefined();
  });

  test("Private Google Access on an existing subnetwork is checked at plan (private mode), with a message that says what to change", () => {
    const { json } = synthStack({ network: { existingNetwork: "default", existingSubnetwork: "ml" } });
    const sub = Object.values(json.data!.google_compute_subnetwork)[0];
    expect(sub.lifecycle.postcondition).toEqual([{
      condition: "${self.private_ip_google_access}",
      error_message: expect.stringMatching(/^Subnetwork ml has Private Google Access off: .*Cloud NAT, billed per GiB\. .*gcloud compute networks subnets update ml --region=europe-west1 --enable-private-ip-google-access.*network\.requirePrivateGoogleAccess to false.*\.$/),
    }]);
  });

  test.each([
    ["public mode (the VM has an external IP)", { access: { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } }],
    ["requirePrivateGoogleAccess: false", { network: { existingNetwork: "default", existingSubnetwork: "ml", requirePrivateGoogleAccess: false } }],
  ])("no postcondition in %s", (_case, props) => {
    const { json } = synthStack({ network: { existingNetwork: "default", existingSubnetwork: "ml" }, ...props });
    expect(Object.values(json.data!.google_compute_subnetwork)[0].lifecycle).toBeUndefined();
  });
});

describe("ports the VM itself uses", () => {
  test.each([
    [22, /sshd/], [80, /ACME HTTP-01/], [443, /HTTPS/], [2019, /admin endpoint listens on localhost:2019/], [20201, /Ops Agent.s metrics collector/], [20202, /Fluent Bit/], [1023, /unprivileged/], [65536, /1024 to 65535/],
  ])("server.port %s is refused", (port, reason) => {
    expect(problemAt(withBase({ server: { port } }), "server.port").problem.expected).toMatch(reason);
  });
  test("2019 is refused with a domain too, where Caddy really runs", () => {
    const domain = { mode: "public", domain: "mlflow.example.com", allowedSourceRanges: ["203.0.113.0/24"] };
    expect(problemAt(withBase({ server: { port: 2019 }, access: domain }), "server.port").problem.expected).toMatch(/Caddy's admin endpoint/);
  });
  test.each([[1024], [5000], [2020], [8080], [65535]])("server.port %s is accepted", (port) => {
    expect(() => synthStack({ server: { port } })).not.toThrow();
  });
});

describe("boot images the startup script can run on", () => {
  test.each([
    ["Ubuntu", { bootImage: "ubuntu-os-cloud/ubuntu-2204-lts" }, /Ubuntu is not Debian/],
    ["Ubuntu by full path", { bootImage: "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64" }, /Ubuntu is not Debian/],
    ["Ubuntu by bare family", { bootImage: "ubuntu-2204-lts" }, /Ubuntu is not Debian/],
    ["CentOS Stream", { bootImage: "centos-cloud/centos-stream-9" }, /CentOS is not Debian/],
    ["Container-Optimized OS", { bootImage: "cos-cloud/cos-stable" }, /Container-Optimized OS/],
    ["Windows", { bootImage: "windows-cloud/windows-2022" }, /Windows Server/],
    ["Debian 11", { bootImage: "debian-cloud/debian-11" }, /Python 3\.9.*mlflow\/mlflow#16346/],
    ["Debian 10", { bootImage: "debian-cloud/debian-10" }, /older than MLflow 3 supports/],
    ["a URL", { bootImage: "https://example.com/image" }, /Debian 12 or 13/],
    ["an arm64 image on an x86 machine type", { bootImage: "debian-cloud/debian-12-arm64" }, /arm64 image, but machine type e2-medium has x86 CPUs/],
    ["an x86 image on an Arm machine type", { bootImage: "debian-cloud/debian-12", machineType: "t2a-standard-2" }, /Arm CPUs and boots only arm64 images/],
  ])("%s is refused", (_case, server, reason) => {
    const props = withBase({ server: { machineType: "e2-medium", ...server } });
    expect(problemAt(props, "server.bootImage").problem.expected).toMatch(reason);
  });
  test.each([
    ["Debian 12 (default)", { bootImage: "debian-cloud/debian-12" }],
    ["Debian 13", { bootImage: "debian-cloud/debian-13" }],
    ["a full family path", { bootImage: "projects/debian-cloud/global/images/family/debian-12" }],
    ["a dated image by self link", { bootImage: "https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/debian-12-bookworm-v20250610" }],
    ["a bare family", { bootImage: "debian-12" }],
    ["your own image", { bootImage: "acme-images/acme-debian-12-hardened" }],
    ["arm64 on an Arm machine type", { bootImage: "debian-cloud/debian-12-arm64", machineType: "t2a-standard-2" }],
  ])("%s is accepted", (_case, server) => {
    expect(() => synthStack({ server })).not.toThrow();
  });
});

describe("artifact bucket location", () => {
  test.each([
    ["a zone", "europe-west1-b", /is a zone .*use "europe-west1"/],
    ["an upper-case zone", "US-CENTRAL1-A", /is a zone/],
    ["a made-up multi-region", "EUROPE", /a GCS location/],
    ["an unknown dual-region", "EUR3", /ASIA1, EUR4, EUR5, EUR7, EUR8, NAM4/],
    ["spaces", "us central1", /a GCS location/],
  ])("%s (%s) is refused", (_case, location, reason) => {
    expect(problemAt(withBase({ artifactStore: { location } }), "artifactStore.location").problem.expected).toMatch(reason);
  });
  test.each([["EU"], ["us"], ["NAM4"], ["eur4"], ["europe-west1"], ["US-CENTRAL1"], ["asia1"]])("%s is accepted", (location) => {
    expect(() => synthStack({ artifactStore: { location } })).not.toThrow();
  });
});

describe("public mode without login needs an explicit acknowledgement", () => {
  const publicPlain = { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true };
  test.each([
    ["no acknowledgement", { access: publicPlain, auth: { basicAuth: false } }, /true in public mode with auth\.basicAuth false.*deleting experiments and models included/],
    ["acknowledgement false", { access: publicPlain, auth: { basicAuth: false, allowUnauthenticatedAccess: false } }, /true in public mode/],
    ["with a domain too", { access: { mode: "public", domain: "mlflow.example.com", allowedSourceRanges: ["203.0.113.0/24"] }, auth: { basicAuth: false } }, /true in public mode/],
    ["acknowledgement with basic auth on", { access: publicPlain, auth: { allowUnauthenticatedAccess: true } }, /no value unless access\.mode is "public" and auth\.basicAuth is false/],
    ["acknowledgement in private mode", { auth: { basicAuth: false, allowUnauthenticatedAccess: true } }, /no value unless/],
  ])("%s is refused", (_case, props, expected) => {
    expect(problemAt(withBase(props), "auth.allowUnauthenticatedAccess").problem.expected).toMatch(expected);
  });
  test.each([
    ["public, no login, acknowledged", { access: publicPlain, auth: { basicAuth: false, allowUnauthenticatedAccess: true } }],
    ["private, no login (IAP decides who gets in)", { auth: { basicAuth: false } }],
    ["public with login", { access: publicPlain }],
  ])("%s is accepted", (_case, props) => {
    expect(() => synthStack(props as Partial<MlflowTrackingStackProps>)).not.toThrow();
  });
});

describe("names must not collide across the stacks of one app", () => {
  const two = (a: Partial<MlflowTrackingStackProps>, b: Partial<MlflowTrackingStackProps>, sameApp = true) => {
    const app = newApp();
    new MlflowTrackingStack(app, "first", { ...BASE_PROPS, ...a });
    new MlflowTrackingStack(sameApp ? app : newApp(), "second", { ...BASE_PROPS, ...b });
  };
  test.each([
    ["the same project and the default prefix", {}, {}, "namePrefix", /stack "first" already uses "mlflow".*mlflow-vpc.*mlflow-db.*another namePrefix/],
    ["the same project and prefix", { namePrefix: "team-a" }, { namePrefix: "team-a" }, "namePrefix", /"team-a"/],
    ["the same explicit bucket", { namePrefix: "a", artifactStore: { bucketName: "acme-shared-artifacts" } }, { namePrefix: "b", artifactStore: { bucketName: "acme-shared-artifacts" } }, "artifactStore.bucketName", /bucket names are global/],
  ])("%s is refused, naming the prop", (_case, a, b, path, expected) => {
    let error: unknown;
    try {
      two(a, b);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MlflowValidationError);
    const problem = (error as MlflowValidationError).problems.find((p) => p.path === path);
    expect(problem?.expected).toMatch(expected);
    expect((error as MlflowValidationError).constructPath).toBe("second");
  });
  test.each([
    ["another prefix", {}, { namePrefix: "team-b" }, true],
    ["another project", {}, { projectId: "acme-ml-staging" }, true],
    ["the same names in two separate apps", {}, {}, false],
  ])("%s is accepted", (_case, a, b, sameApp) => {
    expect(() => two(a, b, sameApp)).not.toThrow();
  });
});
