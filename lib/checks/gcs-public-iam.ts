// MLF-GCS-PUBLIC-IAM: no bucket is granted to allUsers or allAuthenticatedUsers, by IAM (the
// three Terraform styles: member, binding, policy) or by ACL. Public access prevention
// ("enforced") makes such a grant fail at apply; this rule says so at synth, names the grant,
// and covers buckets without enforcement.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { PUBLIC_MEMBERS, grantsOf, iamTypes, publicGrants } from "./private/iam";
import { isReference, stringList } from "./private/json";

const IAM_TYPES = iamTypes("storage_bucket");
/** ACL resources with one `entity`. */
const ENTITY_TYPES = ["google_storage_bucket_access_control", "google_storage_default_object_access_control", "google_storage_object_access_control"];
/** ACL resources with `role_entity` ("READER:allUsers") and, for two of them, `predefined_acl`. */
const ROLE_ENTITY_TYPES = ["google_storage_bucket_acl", "google_storage_default_object_acl", "google_storage_object_acl"];
/** Predefined ACLs that open a bucket or its objects to everyone (Cloud Storage "Predefined ACLs"). */
const PUBLIC_PREDEFINED_ACLS = ["publicRead", "publicReadWrite", "authenticatedRead"];

/**
 * A member known only at apply that could still be allUsers: not one with a literal kind
 * ("serviceAccount:${…email}") and not a service account's own member attribute.
 */
function couldBePublic(member: string): boolean {
  return isReference(member) && !/^[a-zA-Z]+:/.test(member) && !/^\$\{(data\.)?google_service_account\.[\w-]+\.member\}$/.test(member);
}

export const gcsPublicIam: MlflowRule = {
  id: "MLF-GCS-PUBLIC-IAM",
  level: "error",
  title: "No bucket is granted to allUsers or allAuthenticatedUsers",
  why: "allUsers is anyone on the internet and allAuthenticatedUsers anyone with any Google account: a grant to either publishes what the bucket holds (for MLflow's artifact bucket: every model, dataset and artifact of every run), and a write role lets anyone replace models the team will load.",
  howToFix: "Remove the grant; give roles/storage.objectViewer (or objectUser) to the groups or service accounts that need it, on this bucket only. MLflow clients read artifacts through the tracking server (--serve-artifacts) and need no bucket access at all.",
  resourceTypes: [...IAM_TYPES, ...ENTITY_TYPES, ...ROLE_ENTITY_TYPES],
  check(resource, facts) {
    const config = resource.config;
    if (IAM_TYPES.includes(resource.type)) {
      const grants = grantsOf(resource, facts);
      if (grants === "reference") return notCheckable("role, members or policy_data");
      const found = publicGrants(grants);
      if (found.length > 0) return nonCompliant(found.join(", "));
      return grants.some((g) => g.members.some(couldBePublic)) ? notCheckable("members") : compliant();
    }
    if (ENTITY_TYPES.includes(resource.type)) {
      const entity = config.entity;
      if (isReference(entity)) return notCheckable("entity");
      return typeof entity === "string" && PUBLIC_MEMBERS.includes(entity)
        ? nonCompliant(`ACL entity ${entity}${typeof config.role === "string" ? ` with role ${config.role}` : ""}`)
        : compliant();
    }
    const found: string[] = [];
    for (const roleEntity of stringList(config.role_entity)) {
      const entity = roleEntity.split(":").slice(1).join(":");
      if (PUBLIC_MEMBERS.includes(entity)) found.push(`role_entity ${roleEntity}`);
    }
    const predefined = config.predefined_acl;
    if (typeof predefined === "string" && PUBLIC_PREDEFINED_ACLS.includes(predefined)) found.push(`predefined_acl ${predefined}`);
    if (found.length > 0) return nonCompliant(found.join(", "));
    return stringList(config.role_entity).some(isReference) || isReference(predefined) ? notCheckable("role_entity or predefined_acl") : compliant();
  },
};
