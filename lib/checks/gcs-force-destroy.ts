// MLF-GCS-FORCE-DESTROY: `cdktf destroy` (or a bucket rename, which replaces the bucket)
// must not silently delete every artifact.
//
// A warning: `artifactStore.forceDestroy: true` is an option this library offers for
// throw-away environments.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { bool } from "./private/json";

export const gcsForceDestroy: MlflowRule = {
  id: "MLF-GCS-FORCE-DESTROY",
  level: "warning",
  title: "A bucket is not force-destroyed",
  why: "With force_destroy, destroying or replacing the bucket deletes every object in it first; without it, Terraform stops at a non-empty bucket and the artifacts survive a mistake.",
  howToFix: "Keep artifactStore.forceDestroy at its default (false); empty the bucket by hand when you really mean to delete it.",
  resourceTypes: ["google_storage_bucket"],
  check(resource) {
    const force = bool(resource.config.force_destroy);
    if (force === "reference") return notCheckable("force_destroy");
    return force === true ? nonCompliant("force_destroy is true") : compliant();
  },
};
