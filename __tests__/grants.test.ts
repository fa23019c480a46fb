// Grant helpers across stacks: a training stack's service account gets access to the MLflow
// stack's bucket and a secret. Without a scope the bindings live in the MLflow stack and two
// stacks that refer to each other fail synth (cdktf's circular-dependency check); with the
// principal's stack as scope the bindings live there and only that stack depends on MLflow.
import * as fs from "fs";
import * as path from "path";
import { App, TerraformOutput, TerraformStack, Testing } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { MlflowArtifactStore, MlflowGeneratedSecret, MlflowTrackingStack, MlflowValidationError } from "../lib";
import { BASE_PROPS, TfJson } from "./helpers";

interface TwoStacks {
  app: App;
  mlflow: MlflowTrackingStack;
  training: TerraformStack;
  member: string;
}

/**
 * The MLflow stack and a training stack whose service account is the member. The training
 * stack also reads the bucket name from the MLflow stack (it would pass it to its jobs), so
 * it depends on the MLflow stack whatever the grants do.
 */
function twoStacks(): TwoStacks {
  const app = Testing.app();
  const mlflow = new MlflowTrackingStack(app, "mlflow", { ...BASE_PROPS, access: { iapMembers: ["group:ml@example.com"] } });
  const training = new TerraformStack(app, "training");
  new GoogleProvider(training, "google", { project: BASE_PROPS.projectId, region: BASE_PROPS.region });
  const trainer = new ServiceAccount(training, "Trainer", { project: BASE_PROPS.projectId, accountId: "trainer" });
  new TerraformOutput(training, "artifact_bucket", { value: mlflow.artifactStore.bucketName });
  return { app, mlflow, training, member: `serviceAccount:${trainer.email}` };
}

function synthAll(app: App): { manifest: any; stacks: Record<string, TfJson & { data?: any; terraform?: any }> } {
  app.synth();
  const manifest = JSON.parse(fs.readFileSync(path.join(app.outdir, "manifest.json"), "utf8"));
  const stacks: Record<string, any> = {};
  for (const [id, stack] of Object.entries<any>(manifest.stacks)) {
    stacks[id] = JSON.parse(fs.readFileSync(path.join(app.outdir, stack.synthesizedStackPath), "utf8"));
  }
  return { manifest, stacks };
}

const REMOTE_STATE = "data.terraform_remote_state.cross-stack-reference-input-mlflow.outputs.cross-stack-output-";

describe("grants to a principal in another stack", () => {
  test("without a scope, the bindings land in the MLflow stack and synth fails with a circular dependency", () => {
    const { app, mlflow, member } = twoStacks();
    mlflow.artifactStore.grantReadWrite(member);
    expect(() => app.synth()).toThrow(/circular dependency/);
  });

  test("with the training stack as scope: synth succeeds, the bindings live in the training stack", () => {
    const { app, mlflow, training, member } = twoStacks();
    const bucketGrant = mlflow.artifactStore.grantReadWrite(member, training);
    const secretGrant = mlflow.server.adminPasswordSecret!.grantAccess(member, training);
    const { manifest, stacks } = synthAll(app);

    // Only the training stack depends on the MLflow stack.
    expect(manifest.stacks.training.dependencies).toEqual(["mlflow"]);
    expect(manifest.stacks.mlflow.dependencies).toEqual([]);

    const bucketBinding = Object.entries<any>(stacks.training.resource.google_storage_bucket_iam_member);
    expect(bucketBinding).toHaveLength(1);
    expect(bucketBinding[0][1]).toMatchObject({
      role: "roles/storage.objectUser",
      member: "serviceAccount:${google_service_account.Trainer.email}",
      bucket: `\${${REMOTE_STATE}google_storage_bucketArtifactStore_8A81FDFBname}`,
    });
    expect(bucketBinding[0][1]["//"].metadata.path).toBe("training/mlflow-ArtifactStore/ObjectUser0");
    expect((bucketGrant as any).node.path).toBe("training/mlflow-ArtifactStore/ObjectUser0");

    const secretBinding = Object.values<any>(stacks.training.resource.google_secret_manager_secret_iam_member);
    expect(secretBinding).toHaveLength(1);
    expect(secretBinding[0]).toMatchObject({
      role: "roles/secretmanager.secretAccessor",
      member: "serviceAccount:${google_service_account.Trainer.email}",
      secret_id: `\${${REMOTE_STATE}google_secret_manager_secretServer_AdminPassword_A3A20D62secret_id}`,
    });
    expect((secretGrant as any).node.path).toBe("training/mlflow-Server-AdminPassword/Accessor0");

    // The training stack reads the MLflow stack's state; the MLflow stack exports what it needs.
    expect(Object.keys(stacks.training.data.terraform_remote_state)).toEqual(["cross-stack-reference-input-mlflow"]);
    expect(Object.keys(stacks.mlflow.output)).toEqual(expect.arrayContaining([
      "cross-stack-output-google_storage_bucketArtifactStore_8A81FDFBname",
      "cross-stack-output-google_secret_manager_secretServer_AdminPassword_A3A20D62secret_id",
    ]));

    // The MLflow stack holds no binding for the trainer and never refers to the training stack.
    const mlflowText = JSON.stringify(stacks.mlflow);
    expect(mlflowText).not.toContain("Trainer");
    expect(stacks.mlflow.data?.terraform_remote_state).toBeUndefined();
    expect(Object.keys(stacks.mlflow.resource.google_storage_bucket_iam_member)).toEqual(["ArtifactStore_ObjectUser0_C40CCC77"]);
  });

  test("the MLflow stack's own grants keep their construct ids and addresses", () => {
    const { app, mlflow, training, member } = twoStacks();
    mlflow.artifactStore.grantReadWrite(member, training);
    mlflow.database.passwordSecret.grantAccess(member, training);
    const { stacks } = synthAll(app);
    expect(Object.keys(stacks.mlflow.resource.google_secret_manager_secret_iam_member).sort()).toEqual([
      "Database_Password_Accessor0_64029EA8", "Server_AdminPassword_Accessor0_59A60172", "Server_FlaskSecretKey_Accessor0_D79C518B",
    ]);
  });
});

describe("grant bindings: one per member and scope", () => {
  function store() {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const other = new TerraformStack(app, "other");
    const artifacts = new MlflowArtifactStore(stack, "Artifacts", { projectId: "acme-ml-prod", region: "europe-west1" });
    return { app, stack, other, artifacts };
  }

  test("the same member twice in one scope returns the first binding; another member or scope gets its own", () => {
    const { other, artifacts } = store();
    const a = artifacts.grantReadWrite("user:ada@example.com");
    expect(artifacts.grantReadWrite("user:ada@example.com")).toBe(a);
    expect(artifacts.grantReadWrite("user:ada@example.com", artifacts)).toBe(a);
    const b = artifacts.grantReadWrite("user:bob@example.com");
    const c = artifacts.grantReadWrite("user:ada@example.com", other);
    expect(artifacts.grantReadWrite("user:ada@example.com", other)).toBe(c);
    const d = artifacts.grantReadWrite("user:bob@example.com", other);
    // Named after the member (sha256 of "user:ada@example.com" begins ad20d63c4f).
    expect([a, b, c, d].map((g: any) => g.node.path)).toEqual([
      "s/Artifacts/ObjectUser-ad20d63c4f", "s/Artifacts/ObjectUser-8add47ec07", "other/s-Artifacts/ObjectUser-ad20d63c4f", "other/s-Artifacts/ObjectUser-8add47ec07",
    ]);
  });

  test("removing a grant leaves the other members' bindings where they are; 0.1.0's place numbers move along", () => {
    const addressesWith = (members: string[]) => {
      const { stack, artifacts } = store();
      new GoogleProvider(stack, "google", { project: "acme-ml-prod" });
      for (const m of members) artifacts.grantReadWrite(m);
      const json = JSON.parse(Testing.synth(stack));
      return { bindings: Object.entries<any>(json.resource.google_storage_bucket_iam_member).map(([name, r]) => [name, r.member]), moved: json.moved };
    };
    const before = addressesWith(["group:ml@example.com", "user:ada@example.com"]);
    const after = addressesWith(["user:ada@example.com"]);
    expect(after.bindings).toHaveLength(1);
    expect(before.bindings).toContainEqual(after.bindings[0]);
    // 0.1.0 numbered them in the order of the calls; the same calls synthesized at 4997603
    // gave Artifacts_ObjectUser0_419C8756 (the group) and Artifacts_ObjectUser1_83219C47
    // (ada), and with ada alone Artifacts_ObjectUser0_419C8756. Each moves to the member's
    // address (the move follows the calls as they are now).
    const [ml, ada] = before.bindings.map(([name]) => `google_storage_bucket_iam_member.${name}`);
    expect(before.bindings.map(([, member]) => member)).toEqual(["group:ml@example.com", "user:ada@example.com"]);
    expect(before.moved).toEqual([
      { from: "google_storage_bucket_iam_member.Artifacts_ObjectUser0_419C8756", to: ml },
      { from: "google_storage_bucket_iam_member.Artifacts_ObjectUser1_83219C47", to: ada },
    ]);
    expect(after.moved).toEqual([{ from: "google_storage_bucket_iam_member.Artifacts_ObjectUser0_419C8756", to: ada }]);
  });

  test("grants with a scope (new in 0.2.0) get no moved block", () => {
    const { other, artifacts } = store();
    new GoogleProvider(other, "google", { project: "acme-ml-prod" });
    artifacts.grantReadWrite("user:ada@example.com", other);
    expect(JSON.parse(Testing.synth(other)).moved).toBeUndefined();
  });

  test("a scope below a stack (a construct of the principal's stack) works too", () => {
    const { other, artifacts } = store();
    const team = new TerraformStack(other.node.root as App, "team");
    const g = artifacts.grantReadWrite("group:ml@example.com", team);
    expect((g as any).node.path).toBe("team/s-Artifacts/ObjectUser-63e7f7c613");
  });

  test("secrets: grantAccess takes a scope the same way", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const other = new TerraformStack(app, "other");
    for (const s of [stack, other]) new GoogleProvider(s, "google", { project: "acme-ml-prod" });
    new RandomProvider(stack, "random");
    const secret = new MlflowGeneratedSecret(stack, "Token", { projectId: "acme-ml-prod", secretId: "ml-token" });
    const here = secret.grantAccess("user:ada@example.com");
    const there = secret.grantAccess("user:ada@example.com", other);
    expect([here, there].map((g: any) => g.node.path)).toEqual(["s/Token/Accessor-ad20d63c4f", "other/s-Token/Accessor-ad20d63c4f"]);
    const { stacks } = synthAll(app);
    const binding = Object.values<any>(stacks.other.resource.google_secret_manager_secret_iam_member)[0];
    expect(binding.secret_id).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-s\.outputs\.cross-stack-output-google_secret_manager_secretToken_[0-9A-F]+secret_id\}$/);
    // Recreated with the secret in its own stack: a replaced secret keeps its secret_id, so
    // nothing else would recreate the binding the replacement dropped. Terraform resolves
    // replace_triggered_by in the same configuration only: none in the other stack.
    const secretName = Object.keys(stacks.s.resource.google_secret_manager_secret)[0];
    const own = Object.values<any>(stacks.s.resource.google_secret_manager_secret_iam_member)[0];
    expect(own.lifecycle).toEqual({ replace_triggered_by: [`google_secret_manager_secret.${secretName}.id`] });
    expect(binding.lifecycle).toBeUndefined();
    // Secret grants did not outlive the 0.1.0 upgrade (the secrets were replaced), nor did
    // scoped grants exist then: no moved blocks.
    expect([stacks.s.moved, stacks.other.moved]).toEqual([undefined, undefined]);
  });
});

describe("grant arguments are validated", () => {
  function setup() {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const artifacts = new MlflowArtifactStore(stack, "Artifacts", { projectId: "acme-ml-prod", region: "europe-west1" });
    const secret = new MlflowGeneratedSecret(stack, "Token", { projectId: "acme-ml-prod", secretId: "ml-token" });
    return { app, stack, artifacts, secret };
  }

  test.each([
    ["a bare email", "ada@example.com"],
    ["an unknown member type", "robot:ada@example.com"],
    ["allUsers", "allUsers"],
    ["an empty string", ""],
  ])("refuses %s as member", (_name, member) => {
    const { artifacts, secret } = setup();
    expect(() => artifacts.grantReadWrite(member)).toThrow(MlflowValidationError);
    expect(() => artifacts.grantReadWrite(member)).toThrow(/grantReadWrite\(member\).*expected an IAM member/);
    expect(() => secret.grantAccess(member)).toThrow(/grantAccess\(member\)/);
  });

  test.each([
    ["a user", "user:ada@example.com"],
    ["a group", "group:ml-team@example.com"],
    ["a service account", "serviceAccount:ci@acme-ml-prod.iam.gserviceaccount.com"],
    ["a workload identity principal set", "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*"],
  ])("accepts %s as member", (_name, member) => {
    const { artifacts, secret } = setup();
    expect(() => artifacts.grantReadWrite(member)).not.toThrow();
    expect(() => secret.grantAccess(member)).not.toThrow();
  });

  test("a member that is a Terraform reference is not checked at synth", () => {
    const { stack, artifacts } = setup();
    const sa = new ServiceAccount(stack, "Sa", { accountId: "trainer" });
    expect(() => artifacts.grantReadWrite(`serviceAccount:${sa.email}`)).not.toThrow();
  });

  test("a scope in another app, or not inside a stack, is refused with the scope's path", () => {
    const { app, artifacts, secret } = setup();
    const elsewhere = new TerraformStack(Testing.app(), "elsewhere");
    expect(() => artifacts.grantReadWrite("user:ada@example.com", elsewhere))
      .toThrow(/grantReadWrite\(scope\): "elsewhere" is not valid; expected a construct in the same app/);
    expect(() => secret.grantAccess("user:ada@example.com", app))
      .toThrow(/grantAccess\(scope\): "" is not valid; expected a construct inside a TerraformStack/);
  });
});
