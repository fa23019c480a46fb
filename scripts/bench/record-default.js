// Synthesizes the default stack once and records, for synth-floor.js, the provider modules it
// loaded (BENCH_MODULES) and the Terraform JSON it wrote (BENCH_JSON).
"use strict";
const fs = require("fs");
const path = require("path");
const { App } = require("cdktf");
const { MlflowTrackingStack } = require("../../dist/lib");

const app = new App();
new MlflowTrackingStack(app, "mlflow", { projectId: "bench-project", region: "europe-west1" });
app.synth();
const modules = Object.keys(require.cache).filter((f) => /node_modules[\\/]@cdktf[\\/]provider-[^\\/]+[\\/]lib[\\/]/.test(f));
fs.writeFileSync(process.env.BENCH_MODULES, JSON.stringify(modules));
const stackJson = JSON.parse(fs.readFileSync(path.join(app.outdir, "stacks", "mlflow", "cdk.tf.json"), "utf8"));
delete stackJson["//"];
for (const block of ["resource", "data"]) {
  for (const byName of Object.values(stackJson[block] ?? {})) for (const config of Object.values(byName)) delete config["//"];
}
fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify(stackJson));
