// MLF-GCS-VERSIONING: an overwritten or deleted artifact (a logged model) should be
// recoverable for a while.
//
// A warning: `artifactStore.versioning: false` is an option this library offers (for
// scratch or cost-sensitive setups), so choosing it is reported, not refused.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { at, bool } from "./private/json";

export const gcsVersioning: MlflowRule = {
  id: "MLF-GCS-VERSIONING",
  level: "warning",
  title: "A bucket keeps object versions",
  why: "Without versioning an overwrite or a delete (by a client, or by a lifecycle rule) cannot be undone; for MLflow's artifact bucket that loses the files runs and the model registry point at.",
  howToFix: "Keep artifactStore.versioning at its default (true), i.e. versioning { enabled = true }; noncurrent versions expire after artifactStore.noncurrentVersionRetentionDays.",
  resourceTypes: ["google_storage_bucket"],
  check(resource) {
    const enabled = bool(at(resource.config, "versioning.enabled"));
    if (enabled === "reference") return notCheckable("versioning.enabled");
    return enabled === true ? compliant() : nonCompliant(`versioning.enabled is ${enabled === false ? "false" : "not set (default off)"}`);
  },
};
