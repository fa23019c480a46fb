// MLF-MLFLOW-VERSION-PIN: the startup script runs on every boot; an unpinned `pip install
// mlflow` upgrades MLflow on some reboot, and the new server refuses the old schema (or the
// upgrade migrates it with no backup taken on purpose). Unpinned means any source that can
// change under the same script: a range (`>=`, `~=`), no version, a VCS URL at a branch or a
// tag, an archive of a branch. Judged on VMs whose script runs `mlflow server`: a training VM
// that installs the MLflow client is not a tracking server.
import { MlflowRule, VM_TYPES, compliant, nonCompliant, notApplicable } from "./rule";
import { isExactPin, mlflowRequirements, serverFacts, startupScripts } from "./private/server";

export const mlflowVersionPinned: MlflowRule = {
  id: "MLF-MLFLOW-VERSION-PIN",
  level: "error",
  title: "A startup script that runs mlflow server installs an exact MLflow version (==X.Y.Z)",
  why: "MLflow refuses to start on an out-of-date schema and some migrations cannot be reversed; an unpinned install makes a routine reboot or VM replacement an unplanned upgrade, and two servers may run different versions against one database.",
  howToFix: 'Install "mlflow==X.Y.Z" (set mlflowVersion, e.g. "3.18.0"; the default is pinned), not a branch, a range or a repository URL, and bump it deliberately after a database backup.',
  resourceTypes: VM_TYPES,
  check(resource) {
    if (serverFacts(resource) === undefined) return notApplicable("the startup script does not run mlflow server");
    const requirements = startupScripts(resource.config).flatMap(mlflowRequirements);
    if (requirements.length === 0) return notApplicable("the startup script installs no MLflow package");
    const loose = requirements.filter((r) => !isExactPin(r.specifier));
    return loose.length === 0
      ? compliant()
      : nonCompliant(`the startup script installs ${loose.map((r) => JSON.stringify(r.text)).join(", ")} without an exact ==X.Y.Z version (or a VCS URL at a full commit)`);
  },
};
