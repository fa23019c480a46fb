#!/usr/bin/env node
// Consumer test: what users get from `npm install cdktf-mlflow-gcp`. Packs the library, checks
// the tarball's contents, installs it with its pinned peers into fresh temporary CDKTF apps
// (plain JavaScript, and TypeScript compiled with the pinned compiler), synthesizes a stack
// in each and checks the result. Prints "N passed, N failed" and exits non-zero on failure.
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "..");
const pkg = require(path.join(root, "package.json"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-consumer-"));
const results = [];

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function check(name, fn) {
  try {
    fn();
    results.push([name, true]);
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}\n     ${String(e.stderr || e.message).split("\n").slice(0, 15).join("\n     ")}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

let tarball;
check("npm pack builds a tarball with the build, templates, README and LICENSE only", () => {
  const out = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], root));
  tarball = path.join(work, out[0].filename);
  const files = out[0].files.map((f) => f.path);
  for (const required of ["dist/lib/index.js", "dist/lib/index.d.ts", "dist/constructs/tracking-server.js",
    "templates/startup-script.sh", "templates/mlflow.service", "templates/basic_auth.ini", "templates/mlflow-db-upgrade.py",
    "README.md", "LICENSE", "package.json"]) {
    assert(files.includes(required), `missing ${required}`);
  }
  const unwanted = files.filter((f) => /(__tests__|\.test\.|^lib\/.*\.ts$|^constructs\/.*\.ts$|cdktf\.out|main\.(js|ts)$|^scripts\/)/.test(f) && !f.endsWith(".d.ts"));
  assert(unwanted.length === 0, `unexpected files in the tarball: ${unwanted.join(", ")}`);
});

const peers = Object.entries(pkg.peerDependencies).map(([name, range]) => `${name}@${pkg.devDependencies[name] ?? range}`);

function makeApp(name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", private: true }));
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball, ...peers], dir);
  return dir;
}

function checkSynth(dir) {
  const json = JSON.parse(fs.readFileSync(path.join(dir, "cdktf.out/stacks/mlflow/cdk.tf.json"), "utf8"));
  const vm = Object.values(json.resource.google_compute_instance)[0];
  assert(vm.name === "team-server", `VM name ${vm.name}`);
  assert(vm.metadata_startup_script.includes("'mlflow[auth]==3.18.0'"), "startup script without the pinned MLflow");
  assert(json.output.tracking_uri && json.output.iap_tunnel_command, "outputs missing");
  const sql = Object.values(json.resource.google_sql_database_instance)[0];
  assert(sql.settings.ip_configuration.ipv4_enabled === false, "Cloud SQL has a public IP");
}

const APP_SOURCE = (importLine) => `${importLine}
const app = new App();
new MlflowTrackingStack(app, "mlflow", {
  projectId: "consumer-project",
  region: "europe-west1",
  namePrefix: "team",
  access: { iapMembers: ["group:ml@example.com"] },
});
app.synth();
`;

if (tarball) {
  check("plain JavaScript app: require() and synth", () => {
    const dir = makeApp("js-app");
    fs.writeFileSync(path.join(dir, "main.js"), APP_SOURCE('const { App } = require("cdktf");\nconst { MlflowTrackingStack } = require("cdktf-mlflow-gcp");'));
    run("node", ["main.js"], dir);
    checkSynth(dir);
  });

  check("TypeScript app compiled with the pinned TypeScript: types resolve, synth", () => {
    const dir = makeApp("ts-app");
    const tsVersion = require(path.join(root, "node_modules/typescript/package.json")).version;
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `typescript@${tsVersion}`, "@types/node@20"], dir);
    fs.writeFileSync(path.join(dir, "main.ts"), APP_SOURCE('import { App } from "cdktf";\nimport { MlflowTrackingStack, MlflowTrackingStackProps, MlflowValidationError } from "cdktf-mlflow-gcp";\nconst _typed: MlflowTrackingStackProps = { projectId: "p-123456", region: "europe-west1" };\nvoid _typed; void MlflowValidationError;'));
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2020", module: "commonjs", strict: true, skipLibCheck: true, esModuleInterop: true, types: ["node"] },
      files: ["main.ts"],
    }));
    run(path.join(dir, "node_modules/.bin/tsc"), ["-p", "."], dir);
    run("node", ["main.js"], dir);
    checkSynth(dir);
  });
}

fs.rmSync(work, { recursive: true, force: true });
const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
