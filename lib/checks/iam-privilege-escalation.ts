// MLF-IAM-PRIVILEGE-ESCALATION: no service account gets, on a whole project, folder or
// organization, a role that lets it grant itself more, or act as other service accounts.
// Whoever runs code as such an account (on the MLflow VM: any pip package or loaded model) can
// turn it into owner of everything the account's scope holds.
//
// The list and its sources:
// - Acting as other service accounts: Service Account User (iam.serviceAccounts.actAs),
//   Service Account Token Creator (short-lived tokens, ID tokens, signed JWTs), Workload
//   Identity User, and Service Account OpenID Connect Identity Token Creator: "Roles for
//   service account authentication", https://cloud.google.com/iam/docs/service-account-permissions.
//   Granted on the project they cover every service account of it, present and future; CIS
//   Google Cloud Foundations Benchmark 1.6 ("Ensure that IAM users are not assigned the
//   Service Account User or Service Account Token Creator roles at project level").
// - Managing service accounts and their keys (create a key for any account, change any
//   account's IAM policy): Service Account Admin, Service Account Key Admin; CIS 1.5 ("Ensure
//   that Service Account has no Admin privileges"); KICS query 84d36481 flags
//   roles/iam.serviceAccountAdmin on google_project_iam_member.
// - Changing allow policies, i.e. granting any role to anyone, itself included: Project IAM
//   Admin, Folder IAM Admin, Folder Admin, Organization Admin, Security Admin ("get and set
//   any IAM policy"), and the custom-role admins (Role Administrator, Organization Role
//   Administrator), which can add permissions to roles already granted: IAM predefined roles
//   reference, https://cloud.google.com/iam/docs/understanding-roles (Resource Manager and
//   IAM roles).
// Owner and editor are basic roles reported by MLF-IAM-PROJECT-ROLES.
import { MlflowRule } from "./rule";
import { iamTypes, serviceAccountGrantsResult } from "./private/iam";

/** Roles that let a principal raise its own privileges or act as other service accounts, with what they allow. */
export const PRIVILEGE_ESCALATION_ROLES: Readonly<Record<string, string>> = {
  "roles/iam.serviceAccountUser": "act as every service account in scope (iam.serviceAccounts.actAs)",
  "roles/iam.serviceAccountTokenCreator": "mint access and ID tokens for every service account in scope",
  "roles/iam.serviceAccountOpenIdTokenCreator": "mint ID tokens for every service account in scope",
  "roles/iam.workloadIdentityUser": "impersonate every service account in scope from workloads",
  "roles/iam.serviceAccountAdmin": "manage every service account in scope, including who may act as it",
  "roles/iam.serviceAccountKeyAdmin": "create keys for every service account in scope",
  "roles/iam.securityAdmin": "get and set any IAM policy in scope, granting any role to anyone",
  "roles/iam.roleAdmin": "add permissions to custom roles already granted",
  "roles/iam.organizationRoleAdmin": "add permissions to organization custom roles already granted",
  "roles/resourcemanager.projectIamAdmin": "set the project's IAM policy, granting any role to anyone",
  "roles/resourcemanager.folderIamAdmin": "set the folder's IAM policy, granting any role on its projects",
  "roles/resourcemanager.folderAdmin": "administer folders and their IAM policies",
  "roles/resourcemanager.organizationAdmin": "set the organization's IAM policy, granting any role anywhere",
};

export const iamPrivilegeEscalation: MlflowRule = {
  id: "MLF-IAM-PRIVILEGE-ESCALATION",
  level: "error",
  title: "No service account gets a role that grants roles or impersonates service accounts on a whole project, folder or organization",
  why: "These roles let the account raise its own privileges: grant itself any role, create keys for or act as any other service account of the scope (including more privileged ones and ones created later). Whoever runs code as the account, such as anyone who gets code onto a VM that uses it, gets all of that.",
  howToFix: "Grant such roles on the one service account or resource that needs them (google_service_account_iam_member), to a person or group rather than a workload, or not at all; an MLflow server needs none of them.",
  resourceTypes: [...iamTypes("project"), ...iamTypes("folder"), ...iamTypes("organization")],
  check: (resource, facts) =>
    serviceAccountGrantsResult(resource, facts, PRIVILEGE_ESCALATION_ROLES, `the ${resource.type.split("_")[1]}`),
};
