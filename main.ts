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
