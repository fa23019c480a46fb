// MLF-RUN-IMAGE-PIN: every container image of a Cloud Run service or job is pinned to a
// release tag or a digest, never to `latest` or no tag: a new revision (any configuration
// change, a scale-from-zero on a rebuilt image) must not pull a different MLflow.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { isReference } from "./private/json";
import { containersOf } from "./private/cloud-run";

/** Why an image reference is not pinned, or undefined. */
export function unpinnedImage(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const last = image.split("/").pop() ?? "";
  if (!last.includes(":")) return "no tag (Docker reads it as latest)";
  const tag = last.slice(last.lastIndexOf(":") + 1);
  return tag === "latest" ? "the tag latest" : undefined;
}

export const runImagePinned: MlflowRule = {
  id: "MLF-RUN-IMAGE-PIN",
  level: "error",
  title: "Cloud Run images are pinned to a release tag or a digest",
  why: "MLflow refuses an out-of-date schema and some migrations cannot be reversed; an image that floats makes a routine new revision an unplanned upgrade, and two revisions may run different versions against one database.",
  howToFix: 'Use a versioned tag (the default image is ghcr.io/mlflow/mlflow:v<mlflowVersion>-full) or an @sha256: digest in server.image.',
  resourceTypes: ["google_cloud_run_v2_service", "google_cloud_run_v2_job"],
  check(resource) {
    const found: string[] = [];
    let unknown = false;
    for (const c of containersOf(resource)) {
      const image = c.image;
      if (typeof image !== "string") continue;
      if (isReference(image) && !/[:@][^/}]*$/.test(image)) {
        unknown = true;
        continue;
      }
      const why = unpinnedImage(image);
      if (why) found.push(`${String(c.name ?? "container")}: ${image} (${why})`);
    }
    if (found.length > 0) return nonCompliant(found.join(", "));
    return unknown ? notCheckable("image") : compliant();
  },
};
