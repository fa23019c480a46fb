// MLF-RUN-ENV-SECRET: secrets reach Cloud Run containers as Secret Manager references, never as
// plain environment values: a plain value is visible to anyone who can read the service or
// job (run.services.get), in the revision history and in the Terraform plan.
import { MlflowRule, compliant, nonCompliant } from "./rule";
import { blocks, isReference } from "./private/json";
import { containersOf } from "./private/cloud-run";
import { secretKeyName } from "./private/secrets";

/** A database URI with a password in it: scheme://user:password@host. */
const URI_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^@\s]+@/i;

export const runEnvSecret: MlflowRule = {
  id: "MLF-RUN-ENV-SECRET",
  level: "error",
  title: "Cloud Run containers get secrets from Secret Manager references, not plain environment values",
  why: "A plain env value is part of the service's configuration: readable by every principal with run.services.get (roles/run.viewer), copied into every revision, and printed in Terraform plans; a reference keeps the value in Secret Manager, read by the service account at start.",
  howToFix: "Store the value in Secret Manager and use env { value_source { secret_key_ref { secret, version } } } (MlflowCloudRunServer passes every secret that way).",
  resourceTypes: ["google_cloud_run_v2_service", "google_cloud_run_v2_job"],
  check(resource) {
    const found: string[] = [];
    for (const container of containersOf(resource)) {
      for (const env of blocks(container.env)) {
        const name = String(env.name ?? "");
        const value = env.value;
        if (typeof value !== "string" || value === "") continue;
        if (secretKeyName(name) || URI_WITH_PASSWORD.test(value) || /\brandom_password\.[\w-]+\.result\b|secret_data/.test(value)) {
          found.push(`${String(container.name ?? "container")}: ${name}=${isReference(value) ? value : "(a plain value)"}`);
        }
      }
    }
    return found.length > 0 ? nonCompliant(found.join(", ")) : compliant();
  },
};
