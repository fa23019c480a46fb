// Who and what can reach the tracking-server VM: its firewall rules per access mode, and
// the instance-level IAM grants of IAP tunnel users and administrators. Kept apart from
// tracking-server.ts, which builds the VM itself. Every resource is created in the
// server's scope with the construct ids of the first release, so addresses do not change,
// except the per-member IAM bindings: named after their member since 0.2.0.
import { Construct } from "constructs";
import { ComputeFirewall } from "@cdktf/provider-google/lib/compute-firewall";
import type { ComputeInstance } from "@cdktf/provider-google/lib/compute-instance";
import {
  loadComputeInstanceIamMember, loadIapTunnelInstanceIamMember, loadServiceAccountIamMember,
} from "../../lib/private/optional-providers";
import { MlflowChecks } from "../../lib/checks/mlflow-checks";
import { memberBindingId } from "../../lib/private/member-binding";
import { ACME_CHALLENGE_REASON } from "../../lib/checks/fw-world";

/** Source range of IAP TCP forwarding (cloud.google.com/iap/docs/using-tcp-forwarding). */
export const IAP_TCP_FORWARDING_RANGE = "35.235.240.0/20";

export interface VmFirewallOptions {
  readonly projectId: string;
  readonly namePrefix: string;
  readonly networkName: string;
  readonly networkTag: string;
  readonly mode: "private" | "public";
  /** MLflow's port. */
  readonly port: number;
  /** HTTPS domain served by Caddy (public mode). */
  readonly domain?: string;
  /** Internal clients' ranges (the subnetwork's range when none were given). */
  readonly internalSourceRanges: readonly string[];
  /** Whether the internal ranges are the user's list (for the rule's description). */
  readonly internalRangesGiven: boolean;
  readonly allowedSourceRanges: readonly string[];
}

/** The VM's firewall rules: SSH (and the MLflow port in private mode) only through IAP, the rest per mode. */
export function createFirewallRules(scope: Construct, o: VmFirewallOptions): void {
  const common = { project: o.projectId, network: o.networkName, direction: "INGRESS", targetTags: [o.networkTag] };
  // SSH only through IAP, in both modes; in private mode the MLflow port too. Priority 900,
  // so it wins over the SSH deny below.
  new ComputeFirewall(scope, "IapIngress", {
    ...common,
    name: `${o.namePrefix}-allow-iap`,
    priority: 900,
    description: "IAP TCP forwarding to the MLflow server (SSH and, in private mode, the MLflow port)",
    sourceRanges: [IAP_TCP_FORWARDING_RANGE],
    allow: [{ protocol: "tcp", ports: o.mode === "private" ? ["22", String(o.port)] : ["22"] }],
  });
  // An existing network may allow SSH from anywhere (the `default` network's
  // default-allow-ssh, priority 65534): deny it for this VM, below the IAP rule.
  new ComputeFirewall(scope, "SshDeny", {
    ...common,
    name: `${o.namePrefix}-deny-ssh`,
    description: "SSH to the MLflow server only through IAP (overrides broader allow rules of the network)",
    priority: 1000,
    sourceRanges: ["0.0.0.0/0"],
    deny: [{ protocol: "tcp", ports: ["22"] }],
  });
  // Clients inside the VPC (training VMs, notebooks) reach the server directly: MLflow's
  // port, or Caddy's HTTPS port when MLflow listens on 127.0.0.1 behind it.
  const servingPort = o.domain ? "443" : String(o.port);
  new ComputeFirewall(scope, "InternalIngress", {
    ...common,
    name: `${o.namePrefix}-allow-internal`,
    description: o.internalRangesGiven
      ? "The server's serving port from the listed internal ranges"
      : "The server's serving port from its own subnetwork",
    sourceRanges: [...o.internalSourceRanges],
    allow: [{ protocol: "tcp", ports: [servingPort] }],
  });
  if (o.mode === "public") {
    new ComputeFirewall(scope, "PublicIngress", {
      ...common,
      name: o.domain ? `${o.namePrefix}-allow-https` : `${o.namePrefix}-allow-mlflow`,
      description: o.domain
        ? "HTTPS (Caddy in front of MLflow) from the allowed source ranges"
        : "MLflow port from the allowed source ranges (public mode, plain HTTP)",
      sourceRanges: [...o.allowedSourceRanges],
      allow: [{ protocol: "tcp", ports: [servingPort] }],
      logConfig: { metadata: "INCLUDE_ALL_METADATA" },
    });
  }
  if (o.domain) {
    // Let's Encrypt validates from addresses it does not publish, so the HTTP-01 challenge
    // port must be open to the internet. Caddy serves only the challenge and a redirect
    // to HTTPS there; MLflow is never reachable on it.
    const acme = new ComputeFirewall(scope, "AcmeIngress", {
      ...common,
      name: `${o.namePrefix}-allow-acme`,
      description: "HTTP for the Let's Encrypt HTTP-01 challenge and the redirect to HTTPS (Caddy)",
      sourceRanges: ["0.0.0.0/0"],
      allow: [{ protocol: "tcp", ports: ["80"] }],
    });
    // A built-in suppression, reported and recorded like any other (lib/checks/fw-world.ts).
    MlflowChecks.suppress(acme, "MLF-FW-WORLD", ACME_CHALLENGE_REASON);
  }
}

export interface VmGrantOptions {
  readonly projectId: string;
  readonly zone: string;
  readonly instance: ComputeInstance;
  /** Who may open an IAP tunnel to the MLflow port (private mode). */
  readonly tunnelMembers: readonly string[];
  /** Who may log in with OS Login as an administrator (sudo). */
  readonly adminMembers: readonly string[];
  /** The VM's service account id (`projects/…/serviceAccounts/…`). */
  readonly serviceAccountId: string;
}

/**
 * Instance-level grants: IAP tunnel users get the tunnel role and read access to this VM
 * only; administrators additionally get OS Login with sudo on this VM and
 * `iam.serviceAccountUser` on its service account, which OS Login requires for a VM that
 * runs as a service account (cloud.google.com/compute/docs/oslogin/set-up-oslogin,
 * "Grant OS Login IAM roles").
 */
export function grantInstanceAccess(scope: Construct, o: VmGrantOptions): void {
  const { IapTunnelInstanceIamMember } = loadIapTunnelInstanceIamMember();
  const { ComputeInstanceIamMember } = loadComputeInstanceIamMember();
  // Instance-level grants live in the VM's own IAM policy, which a replaced VM (new startup
  // script) starts without; the name stays the same, so Terraform would not notice.
  // replace_triggered_by recreates the grants with the VM. A plain address, not the
  // resource: cdktf 0.21 renders a resource there as "${…}", which Terraform rejects
  // (terraform-cdk#3196, #3532).
  const withTheVm = { replaceTriggeredBy: [`${o.instance.terraformResourceType}.${o.instance.friendlyUniqueId}`] };
  const onInstance = { project: o.projectId, zone: o.zone };
  // Each binding is named after its member (see memberBindingId). No `moved` block from
  // 0.1.0's place-numbered tunnel bindings: they are replaced with the VM on that upgrade
  // (the old ones deleted before the old VM, the new ones created after the new VM).
  const tunnel = (prefix: string, member: string, i: number) => new IapTunnelInstanceIamMember(scope, memberBindingId(prefix, member, i), {
    ...onInstance, instance: o.instance.name, role: "roles/iap.tunnelResourceAccessor", member, lifecycle: withTheVm,
  });
  // `gcloud compute start-iap-tunnel` and `gcloud compute ssh` read the instance before they
  // connect (compute.instances.get); granted on this one VM only.
  const viewer = (prefix: string, member: string, i: number) => new ComputeInstanceIamMember(scope, memberBindingId(prefix, member, i), {
    ...onInstance, instanceName: o.instance.name, role: "roles/compute.viewer", member, lifecycle: withTheVm,
  });
  o.tunnelMembers.forEach((member, i) => {
    tunnel("IapTunnelUser", member, i);
    viewer("InstanceViewer", member, i);
  });
  o.adminMembers.forEach((member, i) => {
    // Two bindings of the same member and role would remove each other on destroy: an
    // administrator who is also a tunnel user keeps the tunnel user's grants.
    if (!o.tunnelMembers.some((t) => t.toLowerCase() === member.toLowerCase())) {
      tunnel("AdminTunnel", member, i);
      viewer("AdminViewer", member, i);
    }
    new ComputeInstanceIamMember(scope, memberBindingId("AdminLogin", member, i), {
      ...onInstance, instanceName: o.instance.name, role: "roles/compute.osAdminLogin", member, lifecycle: withTheVm,
    });
    const { ServiceAccountIamMember } = loadServiceAccountIamMember();
    new ServiceAccountIamMember(scope, memberBindingId("AdminServiceAccountUser", member, i), {
      serviceAccountId: o.serviceAccountId, role: "roles/iam.serviceAccountUser", member,
    });
  });
}
