// MLF-RUN-DEFAULT-SA: a Cloud Run service or job runs as a dedicated service account, not the
// default Compute Engine one.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { taskTemplate } from "./private/cloud-run";
import { emailInText, workloadIdentity } from "./private/iam";

export const runDefaultServiceAccount: MlflowRule = {
  id: "MLF-RUN-DEFAULT-SA",
  level: "error",
  title: "Cloud Run services and jobs run as a dedicated service account",
  why: "Without template.service_account a revision runs as the default Compute Engine service account (cloud.google.com/run/docs/securing/service-identity), which holds Editor on the project in most projects: code in the container (a malicious artifact or package) could change almost anything in the project.",
  howToFix: "Set template.service_account to a google_service_account created for it, with narrow grants (MlflowCloudRunServer does).",
  resourceTypes: ["google_cloud_run_v2_service", "google_cloud_run_v2_job"],
  check(resource) {
    const email = taskTemplate(resource)?.service_account;
    switch (workloadIdentity(email)) {
      case "unset": return nonCompliant("template.service_account is not set: the default Compute Engine service account runs it");
      case "dedicated": return compliant();
      case "unknown": return notCheckable("template.service_account");
      case "default": return nonCompliant(`the default Compute Engine service account ${emailInText(email as string)}`);
    }
  },
};
