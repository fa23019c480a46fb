// The network the tracking server and Cloud SQL live in: a new VPC and subnet (default) or
// a user's existing ones, the private-services-access peering that gives Cloud SQL a
// private IP, and Cloud NAT so a VM without an external IP can still reach package mirrors.
import { Construct } from "constructs";
import { Fn, ITerraformDependable } from "cdktf";
import { ComputeNetwork } from "@cdktf/provider-google/lib/compute-network";
import { ComputeSubnetwork } from "@cdktf/provider-google/lib/compute-subnetwork";
import { ComputeGlobalAddress } from "@cdktf/provider-google/lib/compute-global-address";
import { ServiceNetworkingConnection } from "@cdktf/provider-google/lib/service-networking-connection";
import { ComputeRouter } from "@cdktf/provider-google/lib/compute-router";
import { ComputeRouterNat } from "@cdktf/provider-google/lib/compute-router-nat";
import { loadDataGoogleComputeSubnetwork } from "../lib/private/optional-providers";
import { Validator, DEFAULT_NAME_PREFIX, checkCommonProps, isToken } from "../lib/validation";
import { checkNetworkOptions } from "../lib/private/validate-network";
import { parseNetworkRef } from "../lib/private/network-values";

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
   * An existing VPC network of `projectId` to use instead of creating one: its name (e.g.
   * `default`), its path `projects/<projectId>/global/networks/<name>`, its self link, or a
   * Terraform reference to any of these (`vpc.name`, `vpc.id`, `vpc.selfLink`). A network of
   * another project (Shared VPC) is refused: the firewall rules, the private services range
   * and the router are created in `projectId`.
   * @default - a new VPC `${namePrefix}-vpc` is created
   */
  readonly existingNetwork?: string;
  /**
   * An existing subnetwork of `existingNetwork` in `region`: its name, its path
   * `projects/<projectId>/regions/<region>/subnetworks/<name>`, its self link, or a Terraform
   * reference to any of these. Requires `existingNetwork`.
   * @default - a new subnetwork `${namePrefix}-subnet` with `subnetCidr` is created
   */
  readonly existingSubnetwork?: string;
  /**
   * Primary range of the subnetwork this construct creates (not allowed with
   * `existingSubnetwork`): a private IPv4 range (RFC 1918 or RFC 6598), /8 to /29.
   * @default "10.20.0.0/24"
   */
  readonly subnetCidr?: string;
  /**
   * Check at plan time that `existingSubnetwork` has Private Google Access on (a
   * postcondition on the subnetwork lookup): without it, a VM without an external IP reaches
   * Cloud Storage and Secret Manager through Cloud NAT, billed per GiB for every artifact
   * byte. Set it to `false` to accept that.
   * @default - true for MlflowNetwork on its own; in MlflowTrackingStack true in private mode
   * and false in public mode (the VM has an external IP, and Private Google Access has no
   * effect on it)
   */
  readonly requirePrivateGoogleAccess?: boolean;
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
      // One form for every resource that refers to it: the name for firewall rules and the
      // router, the id projects/<projectId>/global/networks/<name> for Cloud SQL and the peering
      // (validation makes sure the network is one of projectId).
      this.networkName = referenceName(props.existingNetwork, "network");
      this.networkId = `projects/${props.projectId}/global/networks/${this.networkName}`;
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
      // Looked up by project, region and name: the data source's self_link argument takes only a
      // full https:// self link (tpgresource.GetLocationalResourcePropertiesFromSelfLinkString
      // wants 9 path segments), so a projects/… path there fails at plan.
      const name = referenceName(props.existingSubnetwork, "subnetwork");
      const existing = new DataGoogleComputeSubnetwork(this, "ExistingSubnetwork", {
        project: props.projectId,
        region: props.region,
        name,
        lifecycle: (props.requirePrivateGoogleAccess ?? true) ? { postcondition: [privateGoogleAccessCondition(name, props.region)] } : undefined,
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

/**
 * The name in a network or subnetwork reference. A literal is read by its form (validated
 * before); a Terraform token may be a name, an id or a self link (`vpc.name`, `vpc.id`,
 * `vpc.selfLink`), and its last path segment is the name in all three, so Terraform takes it:
 * `element(reverse(split("/", ref)), 0)`.
 */
function referenceName(ref: string, kind: "network" | "subnetwork"): string {
  if (isToken(ref)) return Fn.element(Fn.reverse(Fn.split("/", ref)), 0) as string;
  const parsed = parseNetworkRef(ref, kind);
  return "problem" in parsed ? ref : parsed.name;
}

/**
 * Plan-time check that an existing subnetwork has Private Google Access: the value is known
 * only once Terraform reads the subnetwork, so it is a postcondition on the lookup (Terraform
 * 1.2+; `self` is the data source's result).
 */
function privateGoogleAccessCondition(name: string, region: string) {
  const which = isToken(name) ? "The existing subnetwork" : `Subnetwork ${name}`;
  const command = isToken(name) || isToken(region)
    ? "gcloud compute networks subnets update <subnetwork> --region=<region> --enable-private-ip-google-access"
    : `gcloud compute networks subnets update ${name} --region=${region} --enable-private-ip-google-access`;
  return {
    condition: "${self.private_ip_google_access}",
    errorMessage: `${which} has Private Google Access off: the MLflow VM has no external IP, so every artifact byte to Cloud Storage ` +
      `(and every Secret Manager call) would go through Cloud NAT, billed per GiB. Turn it on (${command}, or ` +
      "private_ip_google_access = true on the subnetwork) and plan again; or set network.requirePrivateGoogleAccess to false to accept the NAT traffic.",
  };
}

/** Checks the `network` options (rules in lib/private/validate-network.ts); adds every problem to `v`. */
export function validateNetworkOptions(v: Validator, props: MlflowNetworkOptions & { projectId?: string; region?: string }): void {
  checkNetworkOptions(v, props, { projectId: props.projectId, region: props.region });
}
