// The artifact store: a private GCS bucket the tracking server writes to with its own
// service account. Clients never get bucket access: artifacts are proxied by the server.
import { Construct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { StorageBucket } from "@cdktf/provider-google/lib/storage-bucket";
import { StorageBucketIamMember } from "@cdktf/provider-google/lib/storage-bucket-iam-member";
import { Validator, DEFAULT_NAME_PREFIX, checkCommonProps } from "../lib/validation";
import { GrantBindings } from "../lib/private/grant-scope";
import { checkArtifactStoreOptions } from "../lib/private/validate-artifact-store";

/** What a tracking server needs from an artifact store. */
export interface IMlflowArtifactStore {
  /** Bucket name. */
  readonly bucketName: string;
  /** Where MLflow writes artifacts: `gs://<bucket>/mlartifacts`. */
  readonly artifactsUri: string;
  /**
   * Grants object read/write/delete (`roles/storage.objectUser`) on this bucket only; done
   * once the grant exists. Granting the same member twice in one scope returns the first
   * grant.
   *
   * @param member an IAM member, e.g. `serviceAccount:trainer@my-project.iam.gserviceaccount.com`
   * @param scope where the IAM binding is created. Pass the principal's own stack when the
   * member comes from another stack: the binding then refers to this bucket, so only the
   * principal's stack depends on this one and the two never depend on each other in a
   * circle. Default: this artifact store.
   */
  grantReadWrite(member: string, scope?: Construct): ITerraformDependable;
}

/** Artifact store options of `MlflowTrackingStack` (`artifactStore` prop). */
export interface MlflowArtifactStoreOptions {
  /** @default "${projectId}-${namePrefix}-artifacts" */
  readonly bucketName?: string;
  /** Bucket location: a region, dual-region or multi-region. @default - the stack's region */
  readonly location?: string;
  /**
   * Keep overwritten and deleted artifacts as noncurrent versions (recoverable).
   * @default true
   */
  readonly versioning?: boolean;
  /**
   * Let `cdktf destroy` delete a bucket that still holds artifacts.
   * @default false
   */
  readonly forceDestroy?: boolean;
  /**
   * Days a noncurrent (overwritten or deleted) artifact version is kept before deletion.
   * @default 30
   */
  readonly noncurrentVersionRetentionDays?: number;
  /**
   * Days GCS keeps deleted objects recoverable (soft delete), 0 (off) or 7-90. GCS turns it
   * on for 7 days by default and bills the soft-deleted bytes; with versioning, a deleted
   * artifact already stays recoverable as a noncurrent version for
   * `noncurrentVersionRetentionDays`, so paying twice is off by default.
   * @default - 0 with versioning, 7 without
   */
  readonly softDeleteRetentionDays?: number;
}

export interface MlflowArtifactStoreProps extends MlflowArtifactStoreOptions {
  readonly projectId: string;
  /** Used as the default location. */
  readonly region: string;
  /** Prefix of the default bucket name. @default "mlflow" */
  readonly namePrefix?: string;
  /** @default {} */
  readonly labels?: Record<string, string>;
}

/** A private, versioned GCS bucket for MLflow artifacts. */
export class MlflowArtifactStore extends Construct implements IMlflowArtifactStore {
  public readonly bucketName: string;
  public readonly artifactsUri: string;
  public readonly location: string;
  public readonly versioning: boolean;
  public readonly forceDestroy: boolean;
  public readonly noncurrentVersionRetentionDays: number;
  public readonly softDeleteRetentionDays: number;
  /**
   * The bucket (`google_storage_bucket`, construct id `Resource`, also `node.defaultChild`):
   * an escape hatch for settings this construct does not offer (`bucket.addOverride(…)`).
   */
  public readonly bucket: StorageBucket;
  // The bucket outlives an upgrade from 0.1.0, and so do its bindings: moved to their new ids.
  private readonly grants = new GrantBindings<StorageBucketIamMember>(this, "ObjectUser", "grantReadWrite", true);

  constructor(scope: Construct, id: string, props: MlflowArtifactStoreProps) {
    super(scope, id);
    const name = props.bucketName ?? defaultBucketName(props.projectId, props.namePrefix ?? DEFAULT_NAME_PREFIX);
    // Validated first: a location that is not a string would fail toUpperCase() below.
    const v = new Validator();
    checkCommonProps(v, props);
    validateArtifactStoreOptions(v, props, name);
    v.throwIfInvalid(this.node.path);
    this.location = (props.location ?? props.region).toUpperCase();
    this.versioning = props.versioning ?? true;
    this.forceDestroy = props.forceDestroy ?? false;
    this.noncurrentVersionRetentionDays = props.noncurrentVersionRetentionDays ?? 30;
    this.softDeleteRetentionDays = props.softDeleteRetentionDays ?? (this.versioning ? 0 : 7);

    this.bucket = new StorageBucket(this, "Resource", {
      project: props.projectId,
      name,
      location: this.location,
      labels: props.labels,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      forceDestroy: this.forceDestroy,
      versioning: { enabled: this.versioning },
      // Set deliberately (the provider leaves GCS's 7-day default in place when the block is
      // absent); 0 turns soft delete off (storage/docs/soft-delete).
      softDeletePolicy: { retentionDurationSeconds: this.softDeleteRetentionDays * 86400 },
      lifecycleRule: [
        {
          action: { type: "Delete" },
          condition: { daysSinceNoncurrentTime: this.noncurrentVersionRetentionDays, withState: "ARCHIVED" },
        },
        {
          action: { type: "AbortIncompleteMultipartUpload" },
          condition: { age: 7 },
        },
      ],
    });
    this.bucketName = this.bucket.name;
    this.artifactsUri = `gs://${this.bucket.name}/mlartifacts`;
  }

  public grantReadWrite(member: string, scope?: Construct): ITerraformDependable {
    return this.grants.bindingFor(member, scope, (parent, id) =>
      new StorageBucketIamMember(parent, id, {
        bucket: this.bucket.name,
        role: "roles/storage.objectUser",
        member,
      }));
  }
}

/** The bucket name used when `bucketName` is not given. */
export function defaultBucketName(projectId: string, namePrefix: string): string {
  return `${projectId}-${namePrefix}-artifacts`;
}

/** Checks the `artifactStore` options and the bucket name they lead to (rules in lib/private/validate-artifact-store.ts); adds every problem to `v`. */
export function validateArtifactStoreOptions(v: Validator, props: MlflowArtifactStoreOptions, bucketName: string): void {
  checkArtifactStoreOptions(v, props, bucketName);
}
