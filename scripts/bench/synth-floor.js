// The floor of the default stack's synth: what no library can avoid. It loads exactly the
// provider modules the library's default stack loads (the list comes from a run of it, passed
// in BENCH_MODULES) and synthesizes exactly its JSON (BENCH_JSON, from the same run), added to
// a stack of bare providers with addOverride: module loading and synthesis of the same
// resources, without constructs, validation or the policy pack.
"use strict";
const fs = require("fs");
const { App, TerraformStack } = require("cdktf");

for (const file of JSON.parse(fs.readFileSync(process.env.BENCH_MODULES, "utf8"))) require(file);
const json = JSON.parse(fs.readFileSync(process.env.BENCH_JSON, "utf8"));
const { GoogleProvider } = require("@cdktf/provider-google/lib/provider");
const { RandomProvider } = require("@cdktf/provider-random/lib/provider");
const { TimeProvider } = require("@cdktf/provider-time/lib/provider");

const app = new App();
const stack = new TerraformStack(app, "mlflow");
new GoogleProvider(stack, "google", json.provider.google[0]);
new RandomProvider(stack, "random");
new TimeProvider(stack, "time");
for (const block of ["resource", "data", "output"]) {
  if (json[block]) stack.addOverride(block, json[block]);
}
app.synth();
process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));
