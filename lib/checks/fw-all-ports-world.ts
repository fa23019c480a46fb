// MLF-FW-ALL-PORTS-WORLD: nothing in this deployment needs every port reachable; a rule that
// opens them all to the internet is a mistake (often a copied "allow all" rule).
import { MlflowRule } from "./rule";
import { allowsAllPorts, checkWorldIngress } from "./private/network";

export const fwAllPortsWorld: MlflowRule = {
  id: "MLF-FW-ALL-PORTS-WORLD",
  level: "error",
  title: "No firewall rule opens every port to the whole internet",
  why: "Protocol \"all\", or TCP/UDP without a port list, from the whole internet (0.0.0.0/0, ::/0, or ranges that cover it together, such as 0.0.0.0/1 + 128.0.0.0/1) exposes every service on the targeted VMs (the MLflow port, SSH, anything started later) to the internet.",
  howToFix: "List the protocol and ports a rule is for, and the source ranges that need them; MlflowTrackingServer opens only the MLflow port (and SSH from IAP).",
  resourceTypes: ["google_compute_firewall"],
  check(resource) {
    return checkWorldIngress(resource.config, allowsAllPorts, "every port");
  },
};
