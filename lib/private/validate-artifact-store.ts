// The rules of the `artifactStore` options (MlflowArtifactStoreOptions), run by
// MlflowTrackingStack and by MlflowArtifactStore on its own (constructs/artifact-store.ts
// delegates here).
import type { MlflowArtifactStoreOptions } from "../../constructs/artifact-store";
import { BUCKET_NAME, Validator, intRange } from "../validation";
import { ShapeFields, boolean, number, object, openObject, string } from "./shape";
import { gcsLocationProblem } from "./storage-values";

export const ARTIFACT_STORE_OPTIONS_FIELDS: ShapeFields<MlflowArtifactStoreOptions> = {
  bucketName: string(),
  location: string(),
  versioning: boolean(),
  forceDestroy: boolean(),
  noncurrentVersionRetentionDays: number(),
  softDeleteRetentionDays: number(),
};
/** The `artifactStore` prop of MlflowTrackingStack. */
export const ARTIFACT_STORE_OPTIONS = object("the artifact store options", ARTIFACT_STORE_OPTIONS_FIELDS);

/** Checks the `artifactStore` options and the bucket name they lead to; adds every problem to `v`. */
export function checkArtifactStoreOptions(v: Validator, rawProps: MlflowArtifactStoreOptions, bucketName: unknown): void {
  const props = v.typed("artifactStore", rawProps, openObject(ARTIFACT_STORE_OPTIONS)) ?? {};
  const namePath = props.bucketName !== undefined ? "artifactStore.bucketName" : "artifactStore.bucketName (derived from projectId and namePrefix)";
  // A bucket name of the wrong type was reported above; the derived one is a string.
  if (typeof bucketName === "string") v.check(namePath, bucketName, BUCKET_NAME.test, BUCKET_NAME.expected);
  v.checkProblem("artifactStore.location", props.location, gcsLocationProblem);
  v.check("artifactStore.noncurrentVersionRetentionDays", props.noncurrentVersionRetentionDays, intRange(1, 3650).test, intRange(1, 3650).expected);
  // GCS accepts 0 or 7 to 90 days (604800-7776000 s; terraform-provider-google v6.50.0
  // storage_bucket soft_delete_policy docs).
  v.check("artifactStore.softDeleteRetentionDays", props.softDeleteRetentionDays,
    (d: number) => d === 0 || intRange(7, 90).test(d), "0 (off) or a whole number of days from 7 to 90");
}
