// MLF-VM-OS-LOGIN: who may SSH into the tracking server (and read its secrets as root) is
// decided by IAM, not by SSH keys pasted into metadata.
import { MlflowRule, VM_TYPES, compliant, nonCompliant, notCheckable } from "./rule";
import { isObject, isReference } from "./private/json";

export const vmOsLogin: MlflowRule = {
  id: "MLF-VM-OS-LOGIN",
  level: "error",
  title: "The VM turns on OS Login (metadata enable-oslogin = TRUE)",
  why: "Without OS Login, SSH access comes from keys in project or instance metadata: they never expire, are not tied to a person and are not removed when someone leaves; OS Login ties SSH to IAM roles and audit logs.",
  howToFix: 'Set metadata "enable-oslogin" = "TRUE" (and "block-project-ssh-keys" = "TRUE"), as MlflowTrackingServer does; grant roles/compute.osAdminLogin to the few who need a shell.',
  resourceTypes: VM_TYPES,
  check(resource) {
    const metadata = resource.config.metadata;
    if (isReference(metadata)) return notCheckable("metadata");
    const value = isObject(metadata) ? metadata["enable-oslogin"] : undefined;
    if (isReference(value)) return notCheckable('metadata["enable-oslogin"]');
    if (typeof value === "string" && value.toUpperCase() === "TRUE") return compliant();
    return nonCompliant(value === undefined
      ? 'metadata["enable-oslogin"] is not set on the VM'
      : `metadata["enable-oslogin"] is ${JSON.stringify(value)}`);
  },
};
