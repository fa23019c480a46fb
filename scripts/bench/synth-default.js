// Synthesizes the default MlflowTrackingStack from the build (dist/), as a user's app would.
"use strict";
const { App } = require("cdktf");
const { MlflowTrackingStack } = require("../../dist/lib");

const app = new App();
new MlflowTrackingStack(app, "mlflow", { projectId: "bench-project", region: "europe-west1" });
app.synth();
process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));
