// MLF-RUN-PUBLIC-INVOKER: nobody but the callers the deployment names may invoke a Cloud Run
// service or job: never allUsers or allAuthenticatedUsers, and never a service whose invoker
// check is turned off.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { grantsOf, iamTypes, publicGrants } from "./private/iam";
import { bool, isReference } from "./private/json";

/** The IAM resources of Cloud Run services and jobs (all three Terraform styles). */
const IAM_TYPES = [...iamTypes("cloud_run_v2_service"), ...iamTypes("cloud_run_v2_job")];
/** Roles that let a principal call the service or run the job (cloud.google.com/run/docs/reference/iam/roles). */
const INVOKING_ROLES = ["roles/run.invoker", "roles/run.servicesInvoker", "roles/run.jobsExecutor", "roles/run.developer", "roles/run.admin", "roles/editor", "roles/owner"];

export const runPublicInvoker: MlflowRule = {
  id: "MLF-RUN-PUBLIC-INVOKER",
  level: "error",
  title: "No Cloud Run service or job can be invoked by allUsers or allAuthenticatedUsers, and the invoker check stays on",
  why: "A tracking server is the team's model history: invocable by allUsers it is open to the internet (with IAP, a public invoker lets requests bypass IAP's check of the identity when they reach the service another way); invoker_iam_disabled turns the IAM check off for everyone.",
  howToFix: 'Grant roles/run.invoker to the IAP service agent (access.mode "iap") or to the callers listed in access.invokerMembers (access.mode "internal"); remove invoker_iam_disabled.',
  resourceTypes: [...IAM_TYPES, "google_cloud_run_v2_service"],
  check(resource, facts) {
    if (resource.type === "google_cloud_run_v2_service") {
      const disabled = bool(resource.config.invoker_iam_disabled);
      if (disabled === "reference") return notCheckable("invoker_iam_disabled");
      return disabled === true ? nonCompliant("invoker_iam_disabled is true: anyone who reaches the service may call it") : compliant();
    }
    const grants = grantsOf(resource, facts);
    if (grants === "reference") return notCheckable("role, members or policy_data");
    const found = publicGrants(grants.filter((g) => INVOKING_ROLES.includes(g.role)));
    if (found.length > 0) return nonCompliant(found.join(", "));
    return grants.some((g) => g.members.some((m) => isReference(m) && !/^[a-zA-Z]+:/.test(m) && !/\.member\}$/.test(m)))
      ? notCheckable("members") : compliant();
  },
};
