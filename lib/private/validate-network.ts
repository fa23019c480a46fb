// The rules of the `network` options (MlflowNetworkOptions), run by MlflowTrackingStack and by
// MlflowNetwork on its own (constructs/network.ts delegates here).
import type { MlflowNetworkOptions } from "../../constructs/network";
import { Validator, isToken } from "../validation";
import { ShapeFields, boolean, object, openObject, string } from "./shape";
import { NetworkRef, parseNetworkRef, subnetRangeProblem } from "./network-values";

/** Why a prop cannot be a Terraform token: it decides which resources exist. */
export const DECIDES_RESOURCES = "it decides which resources are created, so it must be known at synth";

export const NETWORK_OPTIONS_FIELDS: ShapeFields<MlflowNetworkOptions> = {
  existingNetwork: string(),
  existingSubnetwork: string(),
  subnetCidr: string(),
  createPrivateServicesAccess: boolean(DECIDES_RESOURCES),
  enableNat: boolean(DECIDES_RESOURCES),
  requirePrivateGoogleAccess: boolean(DECIDES_RESOURCES),
};
/** The `network` prop of MlflowTrackingStack. */
export const NETWORK_OPTIONS = object("the network options", NETWORK_OPTIONS_FIELDS);

/** The stack's project and region, which an existing network or subnetwork must match. */
export interface NetworkContext {
  readonly projectId?: unknown;
  readonly region?: unknown;
}

const literal = (x: unknown): x is string => typeof x === "string" && !isToken(x);

/** Checks the `network` options; adds every problem to `v`. */
export function checkNetworkOptions(v: Validator, rawProps: MlflowNetworkOptions, context: NetworkContext = {}): void {
  const props = v.typed("network", rawProps, openObject(NETWORK_OPTIONS)) ?? {};
  const { projectId, region } = context;

  const refOf = (path: string, value: string | undefined, kind: "network" | "subnetwork"): NetworkRef | undefined => {
    if (value === undefined || isToken(value)) return undefined;
    const ref = parseNetworkRef(value, kind);
    if ("problem" in ref) {
      v.fail(path, value, ref.problem);
      return undefined;
    }
    return ref;
  };
  const network = refOf("network.existingNetwork", props.existingNetwork, "network");
  const subnetwork = refOf("network.existingSubnetwork", props.existingSubnetwork, "subnetwork");

  // Shared VPC (a network of a host project) is not supported: the firewall rules, the private
  // services range, the peering and the router are all created in projectId against the
  // network, which only works for a network of projectId itself.
  for (const [path, ref, value] of [["network.existingNetwork", network, props.existingNetwork], ["network.existingSubnetwork", subnetwork, props.existingSubnetwork]] as const) {
    if (ref?.project !== undefined && literal(projectId) && ref.project !== projectId) {
      v.fail(path, value, `a ${path.endsWith("Network") ? "network" : "subnetwork"} of project ${projectId} (the stack's projectId): ` +
        `Shared VPC is not supported, since the firewall rules, the private services range and the router are created in ${projectId} ` +
        `against this network, and apply fails for a network of project ${ref.project}; deploy into the host project or use a network of ${projectId}`);
    }
  }
  if (subnetwork?.region !== undefined && literal(region) && subnetwork.region !== region) {
    v.fail("network.existingSubnetwork", props.existingSubnetwork,
      `a subnetwork in region ${region} (the stack's region, where the VM, Cloud NAT and the firewall's clients are); this one is in ${subnetwork.region}`);
  }

  v.checkProblem("network.subnetCidr", props.subnetCidr, subnetRangeProblem);
  if (props.existingSubnetwork !== undefined && props.existingNetwork === undefined) {
    v.fail("network.existingNetwork", undefined, "the network of network.existingSubnetwork (both are needed to use an existing subnetwork)");
  }
  if (props.existingSubnetwork !== undefined && props.subnetCidr !== undefined) {
    v.fail("network.subnetCidr", props.subnetCidr, "no value when network.existingSubnetwork is set (the existing subnetwork keeps its own range)");
  }
}
