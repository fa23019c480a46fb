// MLF-FW-SSH-WORLD: SSH to the server goes through IAP (35.235.240.0/20), never straight
// from the internet.
import { MlflowRule } from "./rule";
import { allowsTcpPort, checkWorldIngress } from "./private/network";

export const fwSshWorld: MlflowRule = {
  id: "MLF-FW-SSH-WORLD",
  level: "error",
  title: "No firewall rule opens SSH (tcp/22) to the whole internet",
  why: "SSH open to the whole internet (0.0.0.0/0, ::/0, or ranges that cover it together) exposes the VM to password and key guessing and to every sshd vulnerability; IAP TCP forwarding gives the same access with Google identity and IAM in front.",
  howToFix: "Allow tcp/22 from 35.235.240.0/20 only (IAP TCP forwarding, as MlflowTrackingServer does) and connect with `gcloud compute ssh --tunnel-through-iap`; or list your own ranges.",
  resourceTypes: ["google_compute_firewall"],
  check(resource) {
    return checkWorldIngress(resource.config, (rule) => allowsTcpPort(rule, 22), "tcp/22 (SSH)");
  },
};
