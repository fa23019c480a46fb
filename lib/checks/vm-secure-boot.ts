// MLF-VM-SECURE-BOOT: a shielded VM with Secure Boot only runs signed boot loaders and
// kernels, so malware cannot persist below the OS of the tracking server.
//
// A warning: Secure Boot needs an image that supports it (Debian, Ubuntu and other public
// images do); a custom image without signed components cannot have it.
import { MlflowRule, VM_TYPES, compliant, nonCompliant, notCheckable } from "./rule";
import { at, bool } from "./private/json";

export const vmSecureBoot: MlflowRule = {
  id: "MLF-VM-SECURE-BOOT",
  level: "warning",
  title: "The VM is a shielded VM with Secure Boot",
  why: "Without Secure Boot a root compromise of the VM (on an MLflow server, which holds the database and admin passwords at run time) can install a boot kit that survives reboots and re-installs.",
  howToFix: "Set shielded_instance_config { enable_secure_boot = true, enable_vtpm = true, enable_integrity_monitoring = true } with a shielded-VM image such as debian-cloud/debian-12 (MlflowTrackingServer does).",
  resourceTypes: VM_TYPES,
  check(resource) {
    const secureBoot = bool(at(resource.config, "shielded_instance_config.enable_secure_boot"));
    if (secureBoot === "reference") return notCheckable("shielded_instance_config.enable_secure_boot");
    return secureBoot === true
      ? compliant()
      : nonCompliant(`shielded_instance_config.enable_secure_boot is ${secureBoot === false ? "false" : "not set (default false)"}`);
  },
};
