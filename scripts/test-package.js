#!/usr/bin/env node
// Consumer test: what users get from installing cdktf-mlflow-gcp the ways the README shows.
// Two sources: the tarball of `npm pack`, and a `git+file://` URL of a snapshot of this
// working tree (committed and tagged in a temporary repository), which makes npm clone it and
// run `prepare` (the build, with the devDependencies from the registry) as it would for a
// git host. Each source is installed once, with its pinned peers, TypeScript and
// @types/node, into a fresh app; there the app runs:
//   main.js         plain JavaScript (require), one MlflowTrackingStack
//   main.ts         the same in TypeScript, compiled with the pinned compiler (types resolve)
//   two-stacks.ts   a training stack whose service account gets the MLflow bucket and a
//                   secret through grants scoped to the training stack
//   database.ts     MlflowDatabase alone on an existing network, no subnetwork
//   cloud-run.ts    the README's Cloud Run example (tarball app only): first without the
//                   optional peer @cdktf/provider-google-beta (a validation error with the
//                   install command), then after installing it
// and each synthesized result is checked. The git install (the slow one: npm installs the
// devDependencies in its clone) runs in the background while the tarball is packed,
// installed and checked. Prints "N passed, N failed", exits 1 on failure.
"use strict";
const { execFileSync, spawn, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "..");
const pkg = require(path.join(root, "package.json"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-consumer-"));
const results = [];
const started = Date.now();

function run(cmd, args, cwd, env) {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
}

/** Runs one check; `seconds` overrides the time shown (for work that ran in the background). */
function check(name, fn, seconds) {
  const t0 = Date.now();
  try {
    fn();
    results.push([name, true]);
    console.log(`ok   ${name} (${(seconds ?? (Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}\n     ${String(e.stderr || e.message).split("\n").slice(0, 15).join("\n     ")}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const readJson = (file) => JSON.parse(fs.readFileSync(file, "utf8"));

// ---- the two sources ----------------------------------------------------------------------

/** Packs the library as `npm pack` does for a release (prepare builds dist/) and checks the file list. */
function packTarball() {
  let tarball;
  check("npm pack builds a tarball with the build, templates, README, API.md and LICENSE only", () => {
    const out = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], root));
    tarball = path.join(work, out[0].filename);
    const files = out[0].files.map((f) => f.path);
    for (const required of ["dist/lib/index.js", "dist/lib/index.d.ts", "dist/constructs/tracking-server.js",
      "templates/startup-script.sh", "templates/mlflow.service", "templates/basic_auth.ini", "templates/mlflow-db-upgrade.py",
      "README.md", "API.md", "LICENSE", "package.json"]) {
      assert(files.includes(required), `missing ${required}`);
    }
    const unwanted = files.filter((f) => /(__tests__|\.test\.|^lib\/.*\.ts$|^constructs\/.*\.ts$|cdktf\.out|main\.(js|ts)$|^scripts\/)/.test(f) && !f.endsWith(".d.ts"));
    assert(unwanted.length === 0, `unexpected files in the tarball: ${unwanted.join(", ")}`);
  });
  return tarball;
}

let gitUrl;
check("a git repository of this working tree, tagged like a release", () => {
  // Tracked and new files as they are now (uncommitted changes included), without what
  // .gitignore excludes: dist/ is not there, so the install has to build it.
  const repo = path.join(work, "repo");
  const files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root)
    .split("\0").filter((f) => f !== "" && fs.existsSync(path.join(root, f)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(repo, file));
  }
  assert(!fs.existsSync(path.join(repo, "dist")), "dist/ must not be in the repository");
  const git = (...args) => run("git", ["-c", "user.name=test-package", "-c", "user.email=test-package@localhost", ...args], repo);
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", "snapshot");
  git("tag", `v${pkg.version}`);
  gitUrl = `git+file://${repo}#v${pkg.version}`;
});

// ---- consumer apps ------------------------------------------------------------------------

const peers = Object.entries(pkg.peerDependencies)
  .filter(([name]) => !pkg.peerDependenciesMeta?.[name]?.optional)
  .map(([name, range]) => `${name}@${range}`);
const tsVersion = require(path.join(root, "node_modules/typescript/package.json")).version;

const PROJECT = "consumer-project";

const MAIN = (importLines) => `${importLines}
const app = new App();
new MlflowTrackingStack(app, "mlflow", {
  projectId: "${PROJECT}",
  region: "europe-west1",
  namePrefix: "team",
  access: { iapMembers: ["group:ml@example.com"] },
});
app.synth();
`;

const PROGRAMS = {
  "main.js": MAIN('const { App } = require("cdktf");\nconst { MlflowTrackingStack } = require("cdktf-mlflow-gcp");'),
  "main.ts": MAIN([
    'import { App } from "cdktf";',
    'import { MlflowTrackingStack, MlflowTrackingStackProps, MlflowValidationError } from "cdktf-mlflow-gcp";',
    'const _typed: MlflowTrackingStackProps = { projectId: "p-123456", region: "europe-west1" };',
    "void _typed; void MlflowValidationError;",
  ].join("\n")),
  "two-stacks.ts": `import { App, TerraformOutput, TerraformStack } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { IMlflowSecret, MlflowTrackingStack } from "cdktf-mlflow-gcp";

const app = new App();
const mlflow = new MlflowTrackingStack(app, "mlflow", {
  projectId: "${PROJECT}",
  region: "europe-west1",
  access: { iapMembers: ["group:ml@example.com"] },
});
const training = new TerraformStack(app, "training");
new GoogleProvider(training, "google", { project: "${PROJECT}", region: "europe-west1" });
const trainer = new ServiceAccount(training, "Trainer", { accountId: "trainer" });
const member = \`serviceAccount:\${trainer.email}\`;
mlflow.artifactStore.grantReadWrite(member, training);
const secret: IMlflowSecret = mlflow.database.passwordSecret;
secret.grantAccess(member, training);
new TerraformOutput(training, "artifact_bucket", { value: mlflow.artifactBucket });
app.synth();
`,
  // The README's Cloud Run example. Compiled with the others (skipLibCheck, as `cdktf init`
  // sets it), run first without the optional peer, then with it.
  "cloud-run.ts": `import { App } from "cdktf";
import { MlflowTrackingStack } from "cdktf-mlflow-gcp";

const app = new App();
new MlflowTrackingStack(app, "mlflow", {
  projectId: "${PROJECT}",
  region: "europe-west1",
  server: { kind: "cloud-run", minInstances: 1, maxInstances: 2 },
  database: { tier: "db-custom-1-3840" },
  access: { mode: "iap", iapMembers: ["group:ml-team@example.com"] },
});
app.synth();
`,
  "database.ts": `import { App, TerraformStack } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { IMlflowPrivateServicesNetwork, MlflowDatabase } from "cdktf-mlflow-gcp";

const app = new App();
const stack = new TerraformStack(app, "db");
new GoogleProvider(stack, "google", { project: "${PROJECT}", region: "europe-west1" });
new RandomProvider(stack, "random");
const network: IMlflowPrivateServicesNetwork = { networkId: "projects/${PROJECT}/global/networks/default" };
new MlflowDatabase(stack, "Database", { projectId: "${PROJECT}", region: "europe-west1", network });
app.synth();
`,
};

/**
 * A fresh app that installs the library from `source`, its peers, TypeScript and @types/node
 * (one npm install), with the programs written next to it. The install runs in the
 * background; the promise settles when npm exits. Its output goes to a file, so a long log
 * never blocks npm while this process is busy with the other app.
 */
function installApp(name, source) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", private: true }));
  for (const [file, text] of Object.entries(PROGRAMS)) fs.writeFileSync(path.join(dir, file), text);
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2020", module: "commonjs", strict: true, skipLibCheck: true, esModuleInterop: true, types: ["node"] },
    files: Object.keys(PROGRAMS).filter((f) => f.endsWith(".ts")),
  }));
  const log = path.join(work, `${name}-npm.log`);
  const fd = fs.openSync(log, "w");
  const started = Date.now();
  // As environment variables, the settings also reach the npm that a git dependency's
  // `prepare` runs in its clone (it installs the devDependencies there).
  const child = spawn("npm", ["install", source, ...peers, `typescript@${tsVersion}`, "@types/node@20"], {
    cwd: dir,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, npm_config_prefer_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
  });
  return new Promise((resolve) => {
    child.on("close", (code) => {
      fs.closeSync(fd);
      resolve({ dir, code, log: fs.readFileSync(log, "utf8"), seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Runs a program (a .ts one after the app's tsc compiled it) and returns its cdktf.out. */
function synth(dir, program) {
  const outdir = path.join(dir, `out-${program.replace(/\.\w+$/, "")}`);
  run("node", [program.replace(/\.ts$/, ".js")], dir, { CDKTF_OUTDIR: outdir });
  return outdir;
}

const stackJson = (outdir, id) => readJson(path.join(outdir, "stacks", id, "cdk.tf.json"));

function checkMain(outdir) {
  const json = stackJson(outdir, "mlflow");
  const vm = Object.values(json.resource.google_compute_instance)[0];
  assert(vm.name === "team-server", `VM name ${vm.name}`);
  assert(vm.metadata_startup_script.includes("'mlflow[auth]==3.18.0'"), "startup script without the pinned MLflow");
  assert(json.output.tracking_uri && json.output.iap_tunnel_command, "outputs missing");
  const sql = Object.values(json.resource.google_sql_database_instance)[0];
  assert(sql.settings.ip_configuration.ipv4_enabled === false, "Cloud SQL has a public IP");
}

/** The optional peer the Cloud Run kind needs, as package.json pins it. */
const betaPeer = Object.entries(pkg.peerDependencies).filter(([name]) => name === "@cdktf/provider-google-beta").map(([n, r]) => `${n}@${r}`)[0];

function checkCloudRunWithoutBeta(dir) {
  const child = spawnSync("node", ["cloud-run.js"], { cwd: dir, encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: path.join(dir, "out-no-beta") } });
  assert(child.status !== 0, "the Cloud Run kind synthesized without @cdktf/provider-google-beta installed");
  assert(child.stderr.includes("MlflowValidationError") && child.stderr.includes(`server.kind: "cloud-run" is not valid`) && child.stderr.includes(`npm install ${betaPeer}`),
    `no validation error with the install command:\n${child.stderr.split("\n").slice(0, 8).join("\n")}`);
}

function checkCloudRun(outdir) {
  const json = stackJson(outdir, "mlflow");
  assert(json.resource.google_compute_instance === undefined, "the Cloud Run kind built a VM");
  const service = Object.values(json.resource.google_cloud_run_v2_service ?? {})[0];
  assert(service !== undefined, "no google_cloud_run_v2_service");
  assert(service.provider === "google-beta" && json.provider["google-beta"] !== undefined, `service provider ${service.provider}`);
  assert(service.name === "mlflow-server" && service.iap_enabled === true && service.ingress === "INGRESS_TRAFFIC_ALL", "service name, IAP or ingress");
  const images = service.template.containers.map((c) => c.image);
  assert(images.some((i) => i === `europe-west1-docker.pkg.dev/${PROJECT}/mlflow-ghcr/mlflow/mlflow:v3.18.0-full`), `images ${images.join(", ")}`);
  const jobs = Object.values(json.resource.google_cloud_run_v2_job ?? {}).map((j) => j.name).sort();
  assert(JSON.stringify(jobs) === '["mlflow-gc","mlflow-migrate"]', `jobs ${jobs.join(", ")}`);
  assert(Object.values(json.resource.google_cloud_scheduler_job ?? {}).length === 1, "no gc schedule");
  assert(json.output.tracking_uri && json.output.migration_job, "outputs missing");
}

function checkTwoStacks(outdir) {
  const manifest = readJson(path.join(outdir, "manifest.json"));
  assert(JSON.stringify(manifest.stacks.training.dependencies) === '["mlflow"]', `training depends on ${JSON.stringify(manifest.stacks.training.dependencies)}`);
  assert(JSON.stringify(manifest.stacks.mlflow.dependencies) === "[]", `mlflow depends on ${JSON.stringify(manifest.stacks.mlflow.dependencies)}`);
  const mlflow = stackJson(outdir, "mlflow");
  const training = stackJson(outdir, "training");
  const remote = "${data.terraform_remote_state.cross-stack-reference-input-mlflow.outputs.cross-stack-output-";
  const bucketGrants = Object.values(training.resource.google_storage_bucket_iam_member ?? {});
  assert(bucketGrants.length === 1, `${bucketGrants.length} bucket grants in the training stack`);
  assert(bucketGrants[0].role === "roles/storage.objectUser" && bucketGrants[0].bucket.startsWith(remote),
    `bucket grant ${JSON.stringify(bucketGrants[0])}`);
  assert(bucketGrants[0].member === "serviceAccount:${google_service_account.Trainer.email}", `member ${bucketGrants[0].member}`);
  assert(bucketGrants[0]["//"].metadata.path === "training/mlflow-ArtifactStore/ObjectUser0", `path ${bucketGrants[0]["//"].metadata.path}`);
  const secretGrants = Object.values(training.resource.google_secret_manager_secret_iam_member ?? {});
  assert(secretGrants.length === 1 && secretGrants[0].secret_id.startsWith(remote) && secretGrants[0].role === "roles/secretmanager.secretAccessor",
    `secret grants ${JSON.stringify(secretGrants)}`);
  assert(training.data.terraform_remote_state["cross-stack-reference-input-mlflow"], "training does not read mlflow's state");
  assert(!JSON.stringify(mlflow).includes("Trainer") && mlflow.data?.terraform_remote_state === undefined, "mlflow refers to the training stack");
  assert(Object.keys(mlflow.output).some((o) => o.startsWith("cross-stack-output-google_storage_bucket")), "mlflow exports no bucket name");
}

function checkDatabaseOnly(outdir) {
  const json = stackJson(outdir, "db");
  const types = Object.keys(json.resource).sort().join(",");
  assert(types === "google_secret_manager_secret,google_secret_manager_secret_version,google_sql_database,google_sql_database_instance,google_sql_user,random_password",
    `resource types ${types}`);
  const sql = Object.values(json.resource.google_sql_database_instance)[0];
  assert(sql.settings.ip_configuration.private_network === `projects/${PROJECT}/global/networks/default`, "private_network");
}

function consumerChecks(label, source, install, withBeta) {
  const { dir, code, log, seconds } = install;
  let installed = false;
  check(`${label}: npm install into a fresh app`, () => {
    assert(code === 0, `npm install exited with ${code}:\n${log.split("\n").slice(-15).join("\n")}`);
    const pkgDir = path.join(dir, "node_modules/cdktf-mlflow-gcp");
    for (const file of ["dist/lib/index.js", "dist/lib/index.d.ts", "templates/startup-script.sh", "API.md"]) {
      assert(fs.existsSync(path.join(pkgDir, file)), `installed package lacks ${file}`);
    }
    assert(!fs.existsSync(path.join(pkgDir, "lib/index.ts")), "installed package holds the TypeScript sources");
    const resolved = readJson(path.join(dir, "package-lock.json")).packages["node_modules/cdktf-mlflow-gcp"].resolved;
    assert(resolved.startsWith(source.startsWith("git+") ? "git+file://" : "file:"), `resolved from ${resolved}`);
    installed = true;
  }, seconds);
  if (!installed) return;
  check(`${label}: TypeScript programs compile with the pinned compiler (types resolve)`, () => {
    run(path.join(dir, "node_modules/.bin/tsc"), ["-p", "."], dir);
  });
  check(`${label}: plain JavaScript app: require() and synth`, () => checkMain(synth(dir, "main.js")));
  check(`${label}: TypeScript app: synth`, () => checkMain(synth(dir, "main.ts")));
  check(`${label}: two stacks, grants scoped to the training stack: synth, bindings and references where they belong`,
    () => checkTwoStacks(synth(dir, "two-stacks.ts")));
  check(`${label}: MlflowDatabase alone with a network id: synth, no network resources`,
    () => checkDatabaseOnly(synth(dir, "database.ts")));
  if (!withBeta) return;
  check(`${label}: Cloud Run kind without the optional peer: a validation error with the install command`,
    () => checkCloudRunWithoutBeta(dir));
  check(`${label}: Cloud Run kind after npm install ${betaPeer}: synth, google-beta service with IAP, pinned image, migration and gc jobs`, () => {
    run("npm", ["install", betaPeer], dir, { npm_config_prefer_offline: "true", npm_config_audit: "false", npm_config_fund: "false" });
    checkCloudRun(synth(dir, "cloud-run.ts"));
  });
}

async function main() {
  // The git install is the slow one (npm installs the devDependencies in its clone and
  // builds): it runs while the tarball is packed, installed and checked.
  const gitInstall = gitUrl ? installApp("git-app", gitUrl) : undefined;
  const tarball = packTarball();
  if (tarball) consumerChecks("tarball", tarball, await installApp("tarball-app", tarball), true);
  if (gitInstall) consumerChecks("git URL (prepare builds it)", gitUrl, await gitInstall);

  fs.rmSync(work, { recursive: true, force: true });
  const passed = results.filter(([, ok]) => ok).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(failed === 0 && results.length > 2 ? 0 : 1);
}

main();
