// Baseline: a stack that holds only the Google provider, synthesized the same way.
"use strict";
const { App, TerraformStack } = require("cdktf");
const { GoogleProvider } = require("@cdktf/provider-google/lib/provider");

const app = new App();
const stack = new TerraformStack(app, "bare");
new GoogleProvider(stack, "google", { project: "bench-project", region: "europe-west1" });
app.synth();
process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));
