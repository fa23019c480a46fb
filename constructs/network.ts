// The network the tracking server and Cloud SQL live in: a new VPC and subnet (default) or
// a user's existing ones, the private-services-access peering that gives Cloud SQL a
// private IP, and Cloud NAT so a VM without an external IP can still reach package mirrors.
import { Construct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { ComputeNetwork } from "@cdktf/provider-google/lib/compute-network";
import { ComputeSubnetwork } from "@cdktf/provider-google/lib/compute-subnetwork";
import { ComputeGlobalAddress } from "@cdktf/provider-google/lib/compute-global-address";
import { ServiceNetworkingConnection } from "@cdktf/provider-google/lib/service-networking-connection";
import { ComputeRouter } from "@cdktf/provider-google/lib/compute-router";
import { ComputeRouterNat } from "@cdktf/provider-google/lib/compute-router-nat";
import { loadDataGoogleComputeSubnetwork } from "../lib/private/optional-providers";
import { Validator, DEFAULT_NAME_PREFIX, NETWORK_REF, ipv4Cidr, checkCommonProps } from "../lib/validation";

/**
 * What Cloud SQL needs from a network: where its private IP goes and when private services
 * access is ready. A database-only stack on an existing network passes a plain object, e.g.
 * `{ networkId: "projects/my-project/global/networks/default" }` when that network already
 * has private services access; no subnetwork is needed.
 */
export interface IMlflowPrivateServicesNetwork {
  /** Network id, `projects/<p>/global/networks/<name>` (what Cloud SQL's private_network takes). */
  readonly networkId: string;
  /**
   * Done once private services access is set up: Cloud SQL must wait for it. Undefined when
   * the network already had it before this stack.
   */
  readonly privateServicesAccess?: ITerraformDependable;
}

/** What the database and the server need from a network. */
export interface IMlflowNetwork extends IMlflowPrivateServicesNetwork {
  /** Network name, for firewall rules. */
  readonly networkName: string;
  /** Subnetwork id (or self link) the VM's interface goes into. */
  readonly subnetworkId: string;
  /** The subnetwork's primary IPv4 range (a Terraform reference for an existing subnetwork). */
  readonly subnetworkCidr: string;
  /**
   * Done once VMs without an external IP can reach the internet (Cloud NAT); undefined
   * when this network gives them no such path.
   */
  readonly internetEgress?: ITerraformDependable;
}

/** Network options of `MlflowTrackingStack` (`network` prop). */
export interface MlflowNetworkOptions {
  /**
   * Name or id of an existing VPC network to use instead of creating one (e.g. `default`).
   * @default - a new VPC `${namePrefix}-vpc` is created
   */
  readonly existingNetwork?: string;
  /**
   * Name or id of an existing subnetwork in `region` of `existingNetwork`.
   * Requires `existingNetwork`.
   * @default - a new subnetwork `${namePrefix}-subnet` with `subnetCidr` is created
   */
  readonly existingSubnetwork?: string;
  /**
   * Primary range of the subnetwork this construct creates (ignored with `existingSubnetwork`).
   * @default "10.20.0.0/24"
   */
  readonly subnetCidr?: string;
  /**
   * Create the private services access that gives Cloud SQL its private IP: an allocated
   * range `${namePrefix}-psa-range` and the peering with Google's service network. Set it
   * to `false` for an existing network that already has private services access (a network
   * has one such peering; creating a second one fails).
   * @default true
   */
  readonly createPrivateServicesAccess?: boolean;
  /**
   * Create Cloud Router + NAT for the subnetwork, so VMs without an external IP reach the
   * internet (Debian and PyPI mirrors at boot). Only outbound; nothing can connect in. Set
   * it to `false` when the existing network already has NAT for this subnetwork (a
   * subnetwork can be served by one NAT gateway only).
   * @default - true for MlflowNetwork on its own; in MlflowTrackingStack true in private
   * mode (the VM has no external IP) and false in public mode
   */
  readonly enableNat?: boolean;
}

export interface MlflowNetworkProps extends MlflowNetworkOptions {
  /** Project that holds the network. */
  readonly projectId: string;
  /** Region of the subnetwork and the NAT gateway. */
  readonly region: string;
  /** Prefix of every resource name. @default "mlflow" */
  readonly namePrefix?: string;
  /** Labels for the resources that take them (the private services range). @default {} */
  readonly labels?: Record<string, string>;
}

/** Default primary range of the subnetwork this library creates. */
export const DEFAULT_SUBNET_CIDR = "10.20.0.0/24";

/**
 * VPC, subnet, private services access (for Cloud SQL's private IP) and Cloud NAT.
 */
export class MlflowNetwork extends Construct implements IMlflowNetwork {
  public readonly networkId: string;
  public readonly networkName: string;
  public readonly subnetworkId: string;
  public readonly subnetworkCidr: string;
  public readonly privateServicesAccess?: ITerraformDependable;
  public readonly internetEgress?: ITerraformDependable;
  /** Whether Cloud NAT was created. */
  public readonly natEnabled: boolean;
  /**
   * The VPC this construct created (`google_compute_network`, construct id `Resource`, also
   * `node.defaultChild`); undefined with `existingNetwork`. An escape hatch for settings this
   * construct does not offer.
   */
  public readonly network?: ComputeNetwork;
  /** The subnetwork this construct created; undefined with `existingSubnetwork`. An escape hatch. */
  public readonly subnetwork?: ComputeSubnetwork;

  constructor(scope: Construct, id: string, props: MlflowNetworkProps) {
    super(scope, id);
    const namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    const subnetCidr = props.subnetCidr ?? DEFAULT_SUBNET_CIDR;
    this.natEnabled = props.enableNat ?? true;
    const v = new Validator();
    checkCommonProps(v, props);
    validateNetworkOptions(v, props);
    v.throwIfInvalid(this.node.path);

    if (props.existingNetwork !== undefined) {
      this.networkName = lastSegment(props.existingNetwork);
      this.networkId = props.existingNetwork.includes("/")
        ? props.existingNetwork.replace(/^https:\/\/www\.googleapis\.com\/compute\/v1\//, "")
        : `projects/${props.projectId}/global/networks/${props.existingNetwork}`;
    } else {
      const vpc = (this.network = new ComputeNetwork(this, "Resource", {
        project: props.projectId,
        name: `${namePrefix}-vpc`,
        autoCreateSubnetworks: false,
        routingMode: "REGIONAL",
      }));
      this.networkName = vpc.name;
      this.networkId = vpc.id;
    }

    if (props.existingSubnetwork !== undefined) {
      const { DataGoogleComputeSubnetwork } = loadDataGoogleComputeSubnetwork();
      const existing = new DataGoogleComputeSubnetwork(this, "ExistingSubnetwork", {
        project: props.projectId,
        region: props.region,
        ...(props.existingSubnetwork.includes("/")
          ? { selfLink: props.existingSubnetwork }
          : { name: props.existingSubnetwork }),
      });
      this.subnetworkId = existing.selfLink;
      this.subnetworkCidr = existing.ipCidrRange;
    } else {
      const subnet = (this.subnetwork = new ComputeSubnetwork(this, "Subnetwork", {
        project: props.projectId,
        region: props.region,
        name: `${namePrefix}-subnet`,
        network: this.networkId,
        ipCidrRange: subnetCidr,
        // The VM reaches Secret Manager and GCS on Google's network, not through NAT.
        privateIpGoogleAccess: true,
      }));
      this.subnetworkId = subnet.id;
      this.subnetworkCidr = subnet.ipCidrRange;
    }

    if (props.createPrivateServicesAccess ?? true) {
      // Private services access: a range Google allocates Cloud SQL's private IP from, and
      // the peering to Google's service producer network.
      const range = new ComputeGlobalAddress(this, "PrivateServicesRange", {
        project: props.projectId,
        name: `${namePrefix}-psa-range`,
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        prefixLength: 16,
        network: this.networkId,
        labels: props.labels,
      });
      this.privateServicesAccess = new ServiceNetworkingConnection(this, "PrivateServicesAccess", {
        network: this.networkId,
        service: "servicenetworking.googleapis.com",
        reservedPeeringRanges: [range.name],
        // Deleting the peering right after the Cloud SQL instance fails while Google still
        // holds it ("Producer services ... are still using this connection",
        // terraform-provider-google#16275, #18834). Provider 6.50.0 offers only ABANDON:
        // destroy forgets the connection and the peering stays, so the range and the VPC
        // cannot be deleted until it is removed by hand (the `teardown_commands` output and
        // the README's "Tear down" give the commands).
        deletionPolicy: "ABANDON",
        // A redeploy after such a tear-down finds the abandoned connection still there:
        // creating it again fails, and this makes the provider update the existing one with
        // our range instead.
        updateOnCreationFail: true,
      });
    }

    if (this.natEnabled) {
      const router = new ComputeRouter(this, "Router", {
        project: props.projectId,
        region: props.region,
        name: `${namePrefix}-router`,
        network: this.networkId,
      });
      this.internetEgress = new ComputeRouterNat(this, "Nat", {
        project: props.projectId,
        region: props.region,
        name: `${namePrefix}-nat`,
        router: router.name,
        natIpAllocateOption: "AUTO_ONLY",
        // Only our subnetwork: an existing network may already have NAT for its others.
        sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
        subnetwork: [{ name: this.subnetworkId, sourceIpRangesToNat: ["ALL_IP_RANGES"] }],
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      });
    }
  }
}

function lastSegment(ref: string): string {
  const parts = ref.split("/");
  return parts[parts.length - 1];
}

/** Checks the `network` options; adds every problem to `v`. */
export function validateNetworkOptions(v: Validator, props: MlflowNetworkOptions): void {
  v.check("network.existingNetwork", props.existingNetwork, NETWORK_REF.test, NETWORK_REF.expected);
  v.check("network.existingSubnetwork", props.existingSubnetwork, NETWORK_REF.test, NETWORK_REF.expected);
  v.check("network.subnetCidr", props.subnetCidr, ipv4Cidr(8, 29).test, ipv4Cidr(8, 29).expected);
  if (props.existingSubnetwork !== undefined && props.existingNetwork === undefined) {
    v.fail("network.existingNetwork", undefined, "the network of network.existingSubnetwork (both are needed to use an existing subnetwork)");
  }
  if (props.existingSubnetwork !== undefined && props.subnetCidr !== undefined) {
    v.fail("network.subnetCidr", props.subnetCidr, "no value when network.existingSubnetwork is set (the existing subnetwork keeps its own range)");
  }
}
