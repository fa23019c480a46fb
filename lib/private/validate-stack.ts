// The rules of MlflowTrackingStack's props as a whole: their runtime types (every option
// object, unknown keys included) and names that must be unique across the stacks of one app.
import type { IConstruct } from "constructs";
import type { MlflowTrackingStackProps } from "../mlflow-tracking-stack";
import { COMMON_PROPS_FIELDS, Validator, isToken } from "../validation";
import { ShapeFields, object, string } from "./shape";
import { NETWORK_OPTIONS } from "./validate-network";
import { DATABASE_OPTIONS } from "./validate-database";
import { ARTIFACT_STORE_OPTIONS } from "./validate-artifact-store";
import { ACCESS_OPTIONS, AUTH_OPTIONS, OPERATIONS_OPTIONS, SERVER_OPTIONS } from "./validate-server";

export const STACK_PROPS_FIELDS: ShapeFields<MlflowTrackingStackProps> = {
  ...COMMON_PROPS_FIELDS,
  mlflowVersion: string(),
  dependencyCutoff: string(),
  network: NETWORK_OPTIONS,
  database: DATABASE_OPTIONS,
  artifactStore: ARTIFACT_STORE_OPTIONS,
  server: SERVER_OPTIONS,
  access: ACCESS_OPTIONS,
  auth: AUTH_OPTIONS,
  operations: OPERATIONS_OPTIONS,
};
export const STACK_PROPS = object("the props of MlflowTrackingStack", STACK_PROPS_FIELDS);

/**
 * The runtime types of every prop, unknown keys (typos such as `acess`) included; returns the
 * props without their ill-typed parts, for the value rules.
 */
export function checkStackPropTypes(v: Validator, props: MlflowTrackingStackProps): MlflowTrackingStackProps {
  if (props === undefined || props === null) {
    v.fail("(props)", props, "the props of MlflowTrackingStack: an object with at least projectId and region");
    return {} as MlflowTrackingStackProps;
  }
  return v.typed("", props, STACK_PROPS) ?? ({} as MlflowTrackingStackProps);
}

/** Names each stack of an app has claimed: per app (construct tree root), name key → stack path. */
const CLAIMED = new WeakMap<IConstruct, Map<string, string>>();

/** The names a stack derives from projectId and namePrefix, for the message. */
function derivedNames(prefix: string): string {
  return `the VPC ${prefix}-vpc, the database ${prefix}-db, the service account ${prefix}-server, the secrets ${prefix}-db-password and ${prefix}-admin-password, the firewall rules ${prefix}-allow-*`;
}

/**
 * Two MlflowTrackingStacks in one app with the same projectId and namePrefix derive the same
 * resource names (and the same default bucket): the second apply fails on names that exist,
 * or both stacks fight over the same resources. Refused at synth, naming namePrefix; bucket
 * names are global, so an explicit bucket name used twice is refused too. Values that are
 * Terraform tokens cannot be compared and are skipped. Returns the function that records the
 * names once the stack's props are valid.
 */
export function checkUniqueNames(
  v: Validator, stack: IConstruct, names: { projectId: unknown; namePrefix: string; bucketName: unknown; bucketNameGiven: boolean },
): () => void {
  const root = stack.node.root;
  const claimed = CLAIMED.get(root) ?? new Map<string, string>();
  const keys: string[] = [];
  const { projectId, namePrefix, bucketName } = names;
  if (typeof projectId === "string" && !isToken(projectId) && !isToken(namePrefix)) {
    const key = `prefix:${projectId}/${namePrefix}`;
    const other = claimed.get(key);
    if (other !== undefined && other !== stack.node.path) {
      v.fail("namePrefix", namePrefix,
        `a prefix that no other MlflowTrackingStack of this app uses in project ${projectId}: stack "${other}" already uses "${namePrefix}" there, ` +
        `and both would create ${derivedNames(namePrefix)}; give one of them another namePrefix`);
    } else {
      keys.push(key);
    }
  }
  if (typeof bucketName === "string" && !isToken(bucketName)) {
    const key = `bucket:${bucketName}`;
    const other = claimed.get(key);
    if (other !== undefined && other !== stack.node.path) {
      // The derived name collides only with the same prefix, reported above.
      if (names.bucketNameGiven) {
        v.fail("artifactStore.bucketName", bucketName,
          `a bucket name that no other stack of this app uses: stack "${other}" already has a bucket "${bucketName}", and bucket names are global`);
      }
    } else {
      keys.push(key);
    }
  }
  return () => {
    for (const key of keys) claimed.set(key, stack.node.path);
    CLAIMED.set(root, claimed);
  };
}
