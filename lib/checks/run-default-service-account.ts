// MLF-RUN-DEFAULT-SA: a Cloud Run service or job runs as a dedicated service account, not the
// default Compute Engine one.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { blocks, isReference } from "./private/json";

export const runDefaultServiceAccount: MlflowRule = {
  id: "MLF-RUN-DEFAULT-SA",
  level: "error",
  title: "Cloud Run services and jobs run as a dedicated service account",
  why: "Without template.service_account a revision runs as the default Compute Engine service account (cloud.google.com/run/docs/securing/service-identity), which holds Editor on the project in most projects: code in the container (a malicious artifact or package) could change almost anything in the project.",
  howToFix: "Set template.service_account to a google_service_account created for it, with narrow grants (MlflowCloudRunServer does).",
  resourceTypes: ["google_cloud_run_v2_service", "google_cloud_run_v2_job"],
  check(resource) {
    const template = blocks(resource.config.template)[0];
    const task = resource.type === "google_cloud_run_v2_job" ? blocks(template?.template)[0] : template;
    const email = task?.service_account;
    if (email === undefined || email === "") return nonCompliant("template.service_account is not set: the default Compute Engine service account runs it");
    if (typeof email !== "string") return notCheckable("template.service_account");
    if (isReference(email)) {
      if (/^\$\{google_service_account\.[\w-]+\.email\}$/.test(email)) return compliant();
      return /\bgoogle_compute_default_service_account\./.test(email) ? nonCompliant(`the default Compute Engine service account (${email})`) : notCheckable("template.service_account");
    }
    return /-compute@developer\.gserviceaccount\.com$/i.test(email) ? nonCompliant(`the default Compute Engine service account ${email}`) : compliant();
  },
};
