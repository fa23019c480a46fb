// MLF-GCS-PUBLIC-ACCESS-PREVENTION: artifacts are reached through the tracking server only
// (`--serve-artifacts`); the bucket itself must never become public.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { isReference } from "./private/json";

export const gcsPublicAccessPrevention: MlflowRule = {
  id: "MLF-GCS-PUBLIC-ACCESS-PREVENTION",
  level: "error",
  title: "A bucket enforces public access prevention",
  why: 'With "inherited" (the default outside an organization policy) one IAM grant to allUsers or allAuthenticatedUsers publishes every model and artifact; "enforced" makes such grants fail.',
  howToFix: 'Set public_access_prevention = "enforced" (MlflowArtifactStore does).',
  resourceTypes: ["google_storage_bucket"],
  check(resource) {
    const pap = resource.config.public_access_prevention;
    if (isReference(pap)) return notCheckable("public_access_prevention");
    return pap === "enforced" ? compliant() : nonCompliant(`public_access_prevention is ${pap === undefined ? "not set (inherited)" : JSON.stringify(pap)}`);
  },
};
