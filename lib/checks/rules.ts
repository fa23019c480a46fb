// The rule list of MlflowChecks, in report order: database, bucket, network, VM, Cloud Run, IAM, MLflow.
import { MlflowRule } from "./rule";
import { sqlPublicIp } from "./sql-public-ip";
import { sqlSsl } from "./sql-ssl";
import { sqlDeletionProtection } from "./sql-deletion-protection";
import { sqlBackups } from "./sql-backups";
import { sqlExtendedSupport } from "./sql-extended-support";
import { sqlHaSharedCore } from "./sql-ha-shared-core";
import { gcsUniformAccess } from "./gcs-uniform-access";
import { gcsPublicAccessPrevention } from "./gcs-public-access-prevention";
import { gcsPublicIam } from "./gcs-public-iam";
import { gcsVersioning } from "./gcs-versioning";
import { gcsForceDestroy } from "./gcs-force-destroy";
import { fwSshWorld } from "./fw-ssh-world";
import { fwAllPortsWorld } from "./fw-all-ports-world";
import { fwMlflowWorld } from "./fw-mlflow-world";
import { fwWorld } from "./fw-world";
import { plaintextBasicAuth } from "./plaintext-basic-auth";
import { vmDefaultServiceAccount } from "./vm-default-service-account";
import { vmSecureBoot } from "./vm-secure-boot";
import { vmOsLogin } from "./vm-os-login";
import { vmMetadataSecret } from "./vm-metadata-secret";
import { iamProjectRoles } from "./iam-project-roles";
import { iamPrivilegeEscalation } from "./iam-privilege-escalation";
import { mlflowVersionPinned } from "./mlflow-version-pinned";
import { runPublicInvoker } from "./run-public-invoker";
import { runIngress } from "./run-ingress";
import { runEnvSecret } from "./run-env-secret";
import { runImagePinned } from "./run-image-pinned";
import { runDefaultServiceAccount } from "./run-default-service-account";

/** Every rule MlflowChecks applies. */
export const MLFLOW_RULES: readonly MlflowRule[] = [
  sqlPublicIp,
  sqlSsl,
  sqlDeletionProtection,
  sqlBackups,
  sqlExtendedSupport,
  sqlHaSharedCore,
  gcsUniformAccess,
  gcsPublicAccessPrevention,
  gcsPublicIam,
  gcsVersioning,
  gcsForceDestroy,
  fwSshWorld,
  fwAllPortsWorld,
  fwMlflowWorld,
  fwWorld,
  plaintextBasicAuth,
  vmDefaultServiceAccount,
  vmSecureBoot,
  vmOsLogin,
  vmMetadataSecret,
  runPublicInvoker,
  runIngress,
  runEnvSecret,
  runImagePinned,
  runDefaultServiceAccount,
  iamProjectRoles,
  iamPrivilegeEscalation,
  mlflowVersionPinned,
];
