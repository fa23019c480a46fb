// Shared test helpers: synthesize a stack to parsed Terraform JSON and pick resources.
import { App, Testing } from "cdktf";
import { MlflowTrackingStack, MlflowTrackingStackProps, StartupScriptOptions } from "../lib";

export type TfJson = {
  resource: Record<string, Record<string, any>>;
  data?: Record<string, Record<string, any>>;
  output: Record<string, { value: any; description?: string }>;
  provider: Record<string, any[]>;
};

export const BASE_PROPS: MlflowTrackingStackProps = { projectId: "acme-ml-prod", region: "europe-west1" };

/** The stack and its synthesized JSON, for given props (BASE_PROPS merged in). */
export function synthStack(props: Partial<MlflowTrackingStackProps> = {}): { stack: MlflowTrackingStack; json: TfJson; text: string } {
  const app = Testing.app();
  const stack = new MlflowTrackingStack(app, "mlflow", { ...BASE_PROPS, ...props });
  const text = Testing.synth(stack);
  return { stack, json: JSON.parse(text) as TfJson, text };
}

export function newApp(): App {
  return Testing.app();
}

/** All resources of a type, as [address name, config]. */
export function resourcesOf(json: TfJson, type: string): Array<[string, any]> {
  return Object.entries(json.resource[type] ?? {});
}

/** The one resource of a type (fails if there are none or several). */
export function onlyResource(json: TfJson, type: string): any {
  const all = resourcesOf(json, type);
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0][1];
}

/** The VM's startup script as the VM receives it (Terraform's escapes undone). */
export function vmScript(json: TfJson): string {
  return unescapeTerraform(onlyResource(json, "google_compute_instance").metadata_startup_script);
}

/** What Terraform does to literal text: `$${` → `${`, `%%{` → `%{`. */
export function unescapeTerraform(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}

/** Startup-script options with concrete values (what the VM sees after apply). */
export const SCRIPT_OPTIONS: StartupScriptOptions = {
  projectId: "acme-ml-prod",
  mlflowVersion: "3.18.0",
  port: 5000,
  bindAddress: "0.0.0.0",
  workers: 2,
  databaseHost: "10.91.0.3",
  databasePort: 5432,
  databaseName: "mlflow",
  databaseUser: "mlflow",
  databasePasswordSecret: "mlflow-db-password",
  artifactsDestination: "gs://acme-ml-prod-mlflow-artifacts/mlartifacts",
  basicAuth: true,
  adminPasswordSecret: "mlflow-admin-password",
  flaskSecretKeySecret: "mlflow-flask-secret-key",
  defaultPermission: "READ",
};
