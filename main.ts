// Example app: the default MlflowTrackingStack. `npm run synth` writes its Terraform JSON to
// cdktf.out/ without cloud credentials. Override the embedded defaults with environment
// variables: GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_REGION, MLFLOW_IAP_MEMBERS (comma-separated).
import { App } from "cdktf";
import { MlflowTrackingStack } from "./lib";

const app = new App();
const iapMembers = (process.env.MLFLOW_IAP_MEMBERS ?? "").split(",").map((m) => m.trim()).filter((m) => m !== "");
new MlflowTrackingStack(app, "mlflow", {
  projectId: process.env.GOOGLE_CLOUD_PROJECT ?? "my-mlflow-project",
  region: process.env.GOOGLE_CLOUD_REGION ?? "europe-west1",
  access: { mode: "private", iapMembers },
});
app.synth();

// cdktf's default output directory; `cdktf deploy` (cdktf CLI + Terraform) applies it.
console.log(`Synthesized stack "mlflow" to cdktf.out/stacks/mlflow/cdk.tf.json (project ${process.env.GOOGLE_CLOUD_PROJECT ?? "my-mlflow-project"}).
Next: set GOOGLE_CLOUD_PROJECT (and MLFLOW_IAP_MEMBERS) and run \`cdktf deploy\`, or use MlflowTrackingStack from your own app (see README.md).`);
