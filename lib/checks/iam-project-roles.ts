// MLF-IAM-PROJECT-ROLES: a service account of this deployment gets roles on the one bucket
// and the few secrets it uses, never on the whole project.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { isReference, stringList } from "./private/json";

/** Roles that, granted on the project, reach far beyond what an MLflow server needs. */
export const BROAD_PROJECT_ROLES: Readonly<Record<string, string>> = {
  "roles/owner": "full control of the project",
  "roles/editor": "write access to almost every resource of the project",
  "roles/secretmanager.admin": "every secret of the project, and their IAM",
  "roles/secretmanager.secretAccessor": "the value of every secret of the project",
  "roles/storage.admin": "every bucket of the project, and their IAM",
  "roles/storage.objectAdmin": "every object of every bucket of the project",
  "roles/storage.objectUser": "read, write and delete on every object of every bucket of the project",
};

/** A member that is a service account, as written or as a reference to one. */
function isServiceAccountMember(member: string): boolean | "reference" {
  if (/^(deleted:)?serviceAccount:/.test(member)) return true;
  if (/^\$\{(data\.)?google_service_account\.[\w-]+\.member\}$/.test(member)) return true;
  if (isReference(member) && !/^(user|group|domain|principal\w*):/.test(member)) return "reference";
  return false;
}

export const iamProjectRoles: MlflowRule = {
  id: "MLF-IAM-PROJECT-ROLES",
  level: "error",
  title: "No service account gets owner, editor, or secret or storage admin roles on the whole project",
  why: "A project-wide grant of these roles lets the tracking server (or whoever runs code on it) read every secret or bucket of the project, or change anything in it, instead of its own bucket and secrets.",
  howToFix: "Grant on the resource instead: roles/storage.objectUser on the artifact bucket (MlflowArtifactStore.grantReadWrite) and roles/secretmanager.secretAccessor on each secret (IMlflowSecret.grantAccess); keep project-wide grants to roles such as roles/logging.logWriter.",
  resourceTypes: ["google_project_iam_member", "google_project_iam_binding"],
  check(resource) {
    const role = resource.config.role;
    if (isReference(role)) return notCheckable("role");
    // Narrow project-wide roles (log and metric writer) are what a server should get there.
    if (typeof role !== "string" || !(role in BROAD_PROJECT_ROLES)) return compliant();
    const members = resource.type === "google_project_iam_member"
      ? stringList(resource.config.member)
      : stringList(resource.config.members);
    const kinds = members.map((m) => [m, isServiceAccountMember(m)] as const);
    const accounts = kinds.filter(([, kind]) => kind === true).map(([m]) => m);
    if (accounts.length > 0) return nonCompliant(`${role} (${BROAD_PROJECT_ROLES[role]}) on the project for ${accounts.join(", ")}`);
    return kinds.some(([, kind]) => kind === "reference") ? notCheckable("member") : compliant();
  },
};
