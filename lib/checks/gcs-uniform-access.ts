// MLF-GCS-UNIFORM-ACCESS: access to the artifacts must be decided by IAM on the bucket
// alone, so one grant review covers every object.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { bool } from "./private/json";

export const gcsUniformAccess: MlflowRule = {
  id: "MLF-GCS-UNIFORM-ACCESS",
  level: "error",
  title: "A bucket uses uniform bucket-level access",
  why: "Without uniform access, per-object ACLs can make single artifacts (models, datasets) readable by anyone they name, including allUsers, unseen by a review of the bucket's IAM.",
  howToFix: "Set uniform_bucket_level_access = true (MlflowArtifactStore does).",
  resourceTypes: ["google_storage_bucket"],
  check(resource) {
    const uniform = bool(resource.config.uniform_bucket_level_access);
    if (uniform === "reference") return notCheckable("uniform_bucket_level_access");
    return uniform === true ? compliant() : nonCompliant(`uniform_bucket_level_access is ${uniform === false ? "false" : "not set (default false)"}`);
  },
};
