// MLF-VM-DEFAULT-SA: the tracking server runs as its own service account with exactly the
// grants it needs (its bucket, its secrets, logs and metrics).
import { MlflowRule, VM_TYPES, compliant, nonCompliant, notCheckable } from "./rule";
import { block } from "./private/json";
import { emailInText, workloadIdentity } from "./private/iam";

export const vmDefaultServiceAccount: MlflowRule = {
  id: "MLF-VM-DEFAULT-SA",
  level: "error",
  title: "The VM runs as a dedicated service account, not the default Compute Engine one",
  why: "The default Compute Engine service account (<project-number>-compute@developer.gserviceaccount.com) holds Editor on the project in most projects, so anyone who gets code running on the VM (on an MLflow server: a malicious artifact or pip package) could change or delete almost anything in the project.",
  howToFix: "Give the VM a service_account block whose email is a google_service_account created for it, with scopes [\"cloud-platform\"] and narrow IAM grants (MlflowTrackingServer does).",
  resourceTypes: VM_TYPES,
  check(resource) {
    const sa = block(resource.config.service_account);
    if (sa === undefined) {
      // Scanners (tfsec, KICS) treat a missing block like a missing email: the VM gets no
      // identity of its own that narrow grants could be given to.
      return nonCompliant("no service_account block: the VM has no dedicated service account");
    }
    // "default" is the provider's own word for the default account.
    const email = sa.email === "default" ? undefined : sa.email;
    switch (workloadIdentity(email)) {
      case "unset": return nonCompliant("service_account.email is not set, so the provider uses the default Compute Engine service account");
      case "dedicated": return compliant();
      case "unknown": return notCheckable("service_account.email");
      case "default": return nonCompliant(`service_account.email is the default Compute Engine service account ${emailInText(email as string)}`);
    }
  },
};
