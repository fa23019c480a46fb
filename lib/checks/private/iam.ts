// IAM grants as the checks see them: who gets which role, read the same way from the three
// resource styles Terraform offers for every IAM resource (`*_iam_member`: one member;
// `*_iam_binding`: one role, a list of members; `*_iam_policy`: a whole policy as JSON, often
// `${data.google_iam_policy.x.policy_data}`, resolved through the stack's data sources).
import {
  MlflowIamBinding, MlflowRuleResult, MlflowStackFacts, MlflowSynthesizedResource, compliant, nonCompliant, notCheckable,
} from "../rule";
import { JsonObject, blocks, isObject, isReference, stringList } from "./json";

/** One role granted to members. */
export type IamGrant = MlflowIamBinding;

/** Members that mean "anyone" (cloud.google.com/iam/docs/principals-overview). */
export const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"];

/** The bindings of a policy document ({"bindings": [{"role", "members"}]}), or undefined. */
export function bindingsOf(policy: unknown): IamGrant[] | undefined {
  if (!isObject(policy)) return undefined;
  const raw = policy.bindings ?? policy.binding;
  return blocks(raw).flatMap((b) => (typeof b.role === "string" ? [{ role: b.role, members: stringList(b.members) }] : []));
}

/** The policies of the stack's `data.google_iam_policy` sources, by name. */
export function iamPolicyFacts(data: JsonObject | undefined): Record<string, IamGrant[]> {
  const out: Record<string, IamGrant[]> = {};
  const policies = isObject(data?.google_iam_policy) ? data!.google_iam_policy as JsonObject : {};
  for (const [name, config] of Object.entries(policies)) {
    if (isObject(config)) out[name] = bindingsOf({ binding: config.binding }) ?? [];
  }
  return out;
}

/**
 * The grants a resource makes; "reference" when its role, members or policy are known only at
 * apply. For `*_iam_policy`, the policy JSON written out or a data.google_iam_policy of the stack.
 */
export function grantsOf(resource: MlflowSynthesizedResource, facts: MlflowStackFacts): readonly IamGrant[] | "reference" {
  const config = resource.config;
  if (resource.type.endsWith("_iam_policy")) {
    const policy = config.policy_data;
    if (typeof policy !== "string") return [];
    const ref = /^\$\{data\.google_iam_policy\.([\w-]+)\.policy_data\}$/.exec(policy);
    if (ref) return facts.iamPolicies?.[ref[1]] ?? "reference";
    if (isReference(policy)) return "reference";
    try {
      return bindingsOf(JSON.parse(policy)) ?? [];
    } catch {
      return [];
    }
  }
  const role = config.role;
  if (typeof role !== "string") return [];
  if (isReference(role)) return "reference";
  const members = resource.type.endsWith("_iam_member") ? stringList(config.member) : stringList(config.members);
  return [{ role, members }];
}

/** A member that is a service account, as written or as a reference to one. */
export function isServiceAccountMember(member: string): boolean | "reference" {
  if (/^(deleted:)?serviceAccount:/.test(member)) return true;
  if (/^\$\{(data\.)?google_service_account\.[\w-]+\.member\}$/.test(member)) return true;
  if (isReference(member) && !/^(user|group|domain|principal\w*):/.test(member)) return "reference";
  return false;
}

/**
 * The IAM resource types (member, binding, policy) of a resource kind: "project", "folder",
 * "organization", "storage_bucket", "cloud_run_v2_service", …
 */
export const iamTypes = (kind: string) => [`google_${kind}_iam_member`, `google_${kind}_iam_binding`, `google_${kind}_iam_policy`];

/** The grants to allUsers or allAuthenticatedUsers among `grants`, as "role for member". */
export function publicGrants(grants: readonly IamGrant[]): string[] {
  return grants.flatMap((g) => g.members.filter((m) => PUBLIC_MEMBERS.includes(m)).map((m) => `${g.role} for ${m}`));
}

/** The service accounts among members, and whether some member is a reference that could be one. */
export function serviceAccountsAmong(members: readonly string[]): { accounts: string[]; unknown: boolean } {
  const kinds = members.map((m) => [m, isServiceAccountMember(m)] as const);
  return { accounts: kinds.filter(([, k]) => k === true).map(([m]) => m), unknown: kinds.some(([, k]) => k === "reference") };
}

/**
 * The result of a rule that no service account may hold any of `roles` (role → what it
 * allows) through this IAM resource on `scope` ("the project", "the folder", …).
 */
export function serviceAccountGrantsResult(resource: MlflowSynthesizedResource, facts: MlflowStackFacts,
  roles: Readonly<Record<string, string>>, scope: string): MlflowRuleResult {
  const grants = grantsOf(resource, facts);
  if (grants === "reference") return notCheckable("role, members or policy_data");
  const found: string[] = [];
  let unknown = false;
  for (const grant of grants.filter((g) => g.role in roles)) {
    const { accounts, unknown: someUnknown } = serviceAccountsAmong(grant.members);
    if (accounts.length > 0) found.push(`${grant.role} (${roles[grant.role]}) on ${scope} for ${accounts.join(", ")}`);
    unknown ||= someUnknown;
  }
  if (found.length > 0) return nonCompliant(found.join("; "));
  return unknown ? notCheckable("member") : compliant();
}

/**
 * Which identity a workload's service account email names: none set, the default Compute
 * Engine account (`<project-number>-compute@developer.gserviceaccount.com` or a
 * `google_compute_default_service_account` reference), a `google_service_account` of the
 * configuration, or something only known at apply (another reference, a non-string).
 */
export function workloadIdentity(email: unknown): "unset" | "default" | "dedicated" | "unknown" {
  if (email === undefined || email === "") return "unset";
  if (typeof email !== "string") return "unknown";
  if (isReference(email)) {
    if (/^\$\{google_service_account\.[\w-]+\.email\}$/.test(email)) return "dedicated";
    return /\bgoogle_compute_default_service_account\./.test(email) ? "default" : "unknown";
  }
  return /-compute@developer\.gserviceaccount\.com$/i.test(email) ? "default" : "dedicated";
}

/** An email for a finding's text: a reference in parentheses, an address as it is. */
export function emailInText(email: string): string {
  return isReference(email) ? `(${email})` : email;
}
