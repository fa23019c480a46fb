// MLF-IAM-PROJECT-ROLES: a service account of this deployment gets roles on the one bucket
// and the few secrets it uses, never on the whole project.
import { MlflowRule } from "./rule";
import { iamTypes, serviceAccountGrantsResult } from "./private/iam";

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

export const iamProjectRoles: MlflowRule = {
  id: "MLF-IAM-PROJECT-ROLES",
  level: "error",
  title: "No service account gets owner, editor, or secret or storage admin roles on the whole project",
  why: "A project-wide grant of these roles lets the service account (and whoever runs code as it, such as anyone who gets code onto a VM that uses it) read every secret or bucket of the project, or change anything in it, instead of the few it needs.",
  howToFix: "Grant on the resource instead: roles/storage.objectUser on the artifact bucket (MlflowArtifactStore.grantReadWrite) and roles/secretmanager.secretAccessor on each secret (IMlflowSecret.grantAccess); keep project-wide grants to roles such as roles/logging.logWriter.",
  resourceTypes: iamTypes("project"),
  // Narrow project-wide roles (log and metric writer) are what a server should get there.
  check: (resource, facts) => serviceAccountGrantsResult(resource, facts, BROAD_PROJECT_ROLES, "the project"),
};
