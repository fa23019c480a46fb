// The tracking server: a Compute Engine VM that runs `mlflow server` (installed and
// configured by the startup script), its own service account with exactly the access it
// needs, the firewall rules for the chosen access mode, and IAP or a static IP.
import { Construct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { ComputeInstance } from "@cdktf/provider-google/lib/compute-instance";
import type { ComputeAddress } from "@cdktf/provider-google/lib/compute-address";
import { ComputeFirewall } from "@cdktf/provider-google/lib/compute-firewall";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import {
  loadComputeAddress, loadComputeInstanceIamMember, loadDnsRecordSet, loadIapTunnelInstanceIamMember,
} from "../lib/private/optional-providers";
import type { IMlflowNetwork } from "./network";
import type { IMlflowBackendDatabase } from "./database";
import type { IMlflowArtifactStore } from "./artifact-store";
import { IMlflowSecret, MlflowGeneratedSecret } from "./generated-secret";
import {
  DEFAULT_MLFLOW_VERSION, MlflowPermission, StartupScriptOptions, renderStartupScriptForTerraform,
} from "../lib/startup-script";
import { Validator, checkCommonProps, DEFAULT_NAME_PREFIX } from "../lib/validation";
import { checkServerOptions } from "../lib/private/validate-server";
import { MlflowChecks } from "../lib/checks/mlflow-checks";
import { ACME_CHALLENGE_REASON } from "../lib/checks/fw-world";

/** Source range of IAP TCP forwarding (cloud.google.com/iap/docs/using-tcp-forwarding). */
export const IAP_TCP_FORWARDING_RANGE = "35.235.240.0/20";

/** VM options of `MlflowTrackingStack` (`server` prop). */
export interface MlflowServerOptions {
  /** @default "e2-medium" */
  readonly machineType?: string;
  /** A Debian-family image (the startup script uses apt). @default "debian-cloud/debian-12" */
  readonly bootImage?: string;
  /** @default 20 */
  readonly bootDiskSizeGb?: number;
  /** Port `mlflow server` listens on. @default 5000 */
  readonly port?: number;
  /**
   * uvicorn worker processes. Each holds its own database pools, so small Cloud SQL tiers
   * limit how many make sense.
   * @default 2
   */
  readonly workers?: number;
}

/** How users reach the server (`access` prop). */
export interface MlflowAccessOptions {
  /**
   * `private`: no ingress from the internet; users connect through an IAP TCP tunnel.
   * `public`: a static external IP, reachable from `allowedSourceRanges` only.
   * @default "private"
   */
  readonly mode?: "private" | "public";
  /**
   * Who may open an IAP tunnel to the server (private mode), e.g. `group:ml-team@example.com`.
   * @default []
   */
  readonly iapMembers?: string[];
  /** CIDR ranges allowed to reach the server in public mode (required there). @default [] */
  readonly allowedSourceRanges?: string[];
  /**
   * Private ranges inside your network that reach the server directly, without the tunnel
   * (training VMs, notebooks, GKE pods in other subnetworks).
   * @default - the server's own subnetwork
   */
  readonly internalSourceRanges?: string[];
  /**
   * Public DNS name to serve HTTPS on (public mode), e.g. `mlflow.example.com`. Caddy on the
   * VM obtains a Let's Encrypt certificate for it once its A record points at the static IP,
   * and proxies to MLflow, which then listens on 127.0.0.1 only. Port 443 is open to
   * `allowedSourceRanges`, port 80 to the internet (the certificate authority must reach the
   * HTTP-01 challenge there; Caddy answers it and redirects everything else to HTTPS).
   * @default - no domain (plain HTTP, which needs `allowPlaintextHttp: true`)
   */
  readonly domain?: string;
  /**
   * Name of a Cloud DNS managed zone in the project that holds `domain`: the stack creates
   * the A record. Without it, the output `dns_record_needed` says which record to create.
   * @default - no record is created
   */
  readonly dnsZone?: string;
  /**
   * Acknowledge that public mode without a domain serves plain HTTP: passwords and data
   * cross the network unencrypted.
   * @default false
   */
  readonly allowPlaintextHttp?: boolean;
}

/** MLflow authentication (`auth` prop). */
export interface MlflowAuthOptions {
  /** MLflow's `basic-auth` app with a generated admin password. @default true */
  readonly basicAuth?: boolean;
  /** Permission of every user on what others created. @default "READ" */
  readonly defaultPermission?: MlflowPermission;
  /**
   * Acknowledge that public mode with `basicAuth: false` serves every API, deletes included,
   * to anyone in `access.allowedSourceRanges`, with no login. Required (true) for that
   * combination; not allowed otherwise.
   * @default false
   */
  readonly allowUnauthenticatedAccess?: boolean;
}

export interface MlflowTrackingServerProps extends MlflowServerOptions {
  readonly projectId: string;
  readonly region: string;
  /** Zone of the VM. */
  readonly zone: string;
  /** @default "mlflow" */
  readonly namePrefix?: string;
  /** @default {} */
  readonly labels?: Record<string, string>;
  /** @default "3.18.0" */
  readonly mlflowVersion?: string;
  readonly network: IMlflowNetwork;
  readonly database: IMlflowBackendDatabase;
  readonly artifactStore: IMlflowArtifactStore;
  /** @default { mode: "private" } */
  readonly access?: MlflowAccessOptions;
  /** @default { basicAuth: true, defaultPermission: "READ" } */
  readonly auth?: MlflowAuthOptions;
}

/** A Compute Engine VM running `mlflow server` with proxied artifact access. */
export class MlflowTrackingServer extends Construct {
  public readonly machineType: string;
  public readonly bootImage: string;
  public readonly bootDiskSizeGb: number;
  public readonly port: number;
  public readonly workers: number;
  public readonly mlflowVersion: string;
  public readonly accessMode: "private" | "public";
  public readonly basicAuth: boolean;
  public readonly defaultPermission: MlflowPermission;
  /** VM name. */
  public readonly instanceName: string;
  public readonly zone: string;
  /** The server's own service account. */
  public readonly serviceAccountEmail: string;
  /** URL clients set as MLFLOW_TRACKING_URI (through the tunnel in private mode). */
  public readonly trackingUri: string;
  /** Secret holding the MLflow admin password (basic auth only). */
  public readonly adminPasswordSecret?: IMlflowSecret;
  /** Static external IP (public mode only). */
  public readonly externalIp?: string;
  /** The `gcloud` command that opens the tunnel (private mode only). */
  public readonly iapTunnelCommand?: string;
  /** Network tag the firewall rules target. */
  public readonly networkTag: string;
  /** Domain served over HTTPS (public mode with a domain). */
  public readonly domain?: string;
  /** The A record to create by hand (a domain without `dnsZone`). */
  public readonly dnsRecordNeeded?: string;

  constructor(scope: Construct, id: string, props: MlflowTrackingServerProps) {
    super(scope, id);
    const namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    const access = props.access ?? {};
    this.machineType = props.machineType ?? "e2-medium";
    this.bootImage = props.bootImage ?? "debian-cloud/debian-12";
    this.bootDiskSizeGb = props.bootDiskSizeGb ?? 20;
    this.port = props.port ?? 5000;
    this.workers = props.workers ?? 2;
    this.mlflowVersion = props.mlflowVersion ?? DEFAULT_MLFLOW_VERSION;
    this.accessMode = access.mode ?? "private";
    this.basicAuth = props.auth?.basicAuth ?? true;
    this.defaultPermission = props.auth?.defaultPermission ?? "READ";
    this.zone = props.zone;
    this.networkTag = `${namePrefix}-server`;
    this.domain = this.accessMode === "public" ? access.domain : undefined;
    const v = new Validator();
    checkCommonProps(v, props);
    validateServerOptions(v, props);
    v.throwIfInvalid(this.node.path);

    const serviceAccount = new ServiceAccount(this, "ServiceAccount", {
      project: props.projectId,
      accountId: `${namePrefix}-server`,
      displayName: "MLflow tracking server",
      description: "Runs the MLflow tracking server VM (cdktf-mlflow-gcp): artifact bucket objects, its own secrets, logs and metrics.",
    });
    this.serviceAccountEmail = serviceAccount.email;
    const member = `serviceAccount:${serviceAccount.email}`;

    // Exactly what the server needs, each on the narrowest resource that grants it.
    const grants: ITerraformDependable[] = [
      props.artifactStore.grantReadWrite(member),
      props.database.passwordSecret.grantAccess(member),
    ];
    for (const role of ["roles/logging.logWriter", "roles/monitoring.metricWriter"]) {
      new ProjectIamMember(this, role === "roles/logging.logWriter" ? "LogWriter" : "MetricWriter", {
        project: props.projectId,
        role,
        member,
      });
    }

    let adminPassword: MlflowGeneratedSecret | undefined;
    let flaskSecretKey: MlflowGeneratedSecret | undefined;
    if (this.basicAuth) {
      adminPassword = new MlflowGeneratedSecret(this, "AdminPassword", {
        projectId: props.projectId,
        secretId: `${namePrefix}-admin-password`,
        labels: props.labels,
      });
      flaskSecretKey = new MlflowGeneratedSecret(this, "FlaskSecretKey", {
        projectId: props.projectId,
        secretId: `${namePrefix}-flask-secret-key`,
        labels: props.labels,
        length: 48,
      });
      grants.push(adminPassword.grantAccess(member), flaskSecretKey.grantAccess(member));
      this.adminPasswordSecret = adminPassword;
    }

    let address: ComputeAddress | undefined;
    if (this.accessMode === "public") {
      const { ComputeAddress } = loadComputeAddress();
      address = new ComputeAddress(this, "Address", {
        project: props.projectId,
        region: props.region,
        name: `${namePrefix}-ip`,
        addressType: "EXTERNAL",
        networkTier: "PREMIUM",
        labels: props.labels,
      });
      this.externalIp = address.address;
    }

    const scriptOptions: StartupScriptOptions = {
      projectId: props.projectId,
      mlflowVersion: this.mlflowVersion,
      port: this.port,
      // Behind Caddy, MLflow is reachable only through the proxy.
      bindAddress: this.domain ? "127.0.0.1" : "0.0.0.0",
      workers: this.workers,
      databaseHost: props.database.host,
      databasePort: props.database.port,
      databaseName: props.database.databaseName,
      databaseUser: props.database.userName,
      databasePasswordSecret: props.database.passwordSecret.secretId,
      artifactsDestination: props.artifactStore.artifactsUri,
      basicAuth: this.basicAuth,
      adminPasswordSecret: adminPassword?.secretId,
      flaskSecretKeySecret: flaskSecretKey?.secretId,
      defaultPermission: this.defaultPermission,
      extraAllowedHosts: [
        // Compute Engine's internal DNS names of the VM (zonal, and global for projects that
        // still use it): clients inside the VPC may use them instead of the internal IP.
        ...internalDnsNames(`${namePrefix}-server`, props.zone, props.projectId).flatMap((h) => [h, `${h}:*`]),
        ...(this.domain
          ? [this.domain, `${this.domain}:443`]
          : address ? [address.address, `${address.address}:${this.port}`] : []),
      ],
      corsAllowedOrigins: this.domain
        ? [`https://${this.domain}`]
        : address ? [`http://${address.address}:${this.port}`] : [],
      domain: this.domain,
    };

    // The first boot reads the secrets and connects to the database: create the VM only once
    // they hold values (the script and the unit retry, but not forever at first boot).
    const dependsOn: ITerraformDependable[] = [...grants, ...props.database.ready, props.database.passwordSecret.ready];
    if (adminPassword) dependsOn.push(adminPassword.ready);
    if (flaskSecretKey) dependsOn.push(flaskSecretKey.ready);
    if (this.accessMode === "private" && props.network.internetEgress) dependsOn.push(props.network.internetEgress);

    const instance = new ComputeInstance(this, "Resource", {
      project: props.projectId,
      zone: props.zone,
      name: `${namePrefix}-server`,
      machineType: this.machineType,
      tags: [this.networkTag],
      labels: props.labels,
      bootDisk: {
        autoDelete: true,
        initializeParams: { image: this.bootImage, size: this.bootDiskSizeGb, type: "pd-balanced" },
      },
      networkInterface: [
        {
          subnetwork: props.network.subnetworkId,
          // Private mode: no external IP at all; egress goes through Cloud NAT.
          accessConfig: address ? [{ natIp: address.address, networkTier: "PREMIUM" }] : undefined,
        },
      ],
      serviceAccount: { email: serviceAccount.email, scopes: ["cloud-platform"] },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      metadata: {
        "enable-oslogin": "TRUE",
        "block-project-ssh-keys": "TRUE",
      },
      // A changed script replaces the VM (it holds no state), so a new MLflow version or
      // new flags take effect on the next deploy with no manual step.
      metadataStartupScript: renderStartupScriptForTerraform(scriptOptions),
      allowStoppingForUpdate: true,
      dependsOn,
    });
    this.instanceName = instance.name;

    this.createFirewallRules(props, access, namePrefix);

    if (this.accessMode === "private") {
      this.trackingUri = `http://localhost:${this.port}`;
      this.iapTunnelCommand =
        `gcloud compute start-iap-tunnel ${instance.name} ${this.port} --local-host-port=localhost:${this.port} --zone=${props.zone} --project=${props.projectId}`;
      (access.iapMembers ?? []).forEach((iapMember, i) => {
        const { IapTunnelInstanceIamMember } = loadIapTunnelInstanceIamMember();
        const { ComputeInstanceIamMember } = loadComputeInstanceIamMember();
        // Instance-level grants live in the VM's own IAM policy, which a replaced VM (new
        // startup script) starts without; the name stays the same, so Terraform would not
        // notice. replace_triggered_by recreates the grants with the VM. A plain address, not
        // the resource: cdktf 0.21 renders a resource there as "${…}", which Terraform
        // rejects (terraform-cdk#3196, #3532).
        const withTheVm = { replaceTriggeredBy: [`${instance.terraformResourceType}.${instance.friendlyUniqueId}`] };
        new IapTunnelInstanceIamMember(this, `IapTunnelUser${i}`, {
          project: props.projectId,
          zone: props.zone,
          instance: instance.name,
          role: "roles/iap.tunnelResourceAccessor",
          member: iapMember,
          lifecycle: withTheVm,
        });
        // `gcloud compute start-iap-tunnel` reads the instance before it connects
        // (compute.instances.get); grant that on this one VM only.
        new ComputeInstanceIamMember(this, `InstanceViewer${i}`, {
          project: props.projectId,
          zone: props.zone,
          instanceName: instance.name,
          role: "roles/compute.viewer",
          member: iapMember,
          lifecycle: withTheVm,
        });
      });
    } else if (this.domain) {
      this.trackingUri = `https://${this.domain}`;
      if (access.dnsZone) {
        const { DnsRecordSet } = loadDnsRecordSet();
        new DnsRecordSet(this, "DnsRecord", {
          project: props.projectId,
          managedZone: access.dnsZone,
          name: `${this.domain}.`,
          type: "A",
          ttl: 300,
          rrdatas: [address!.address],
        });
      } else {
        this.dnsRecordNeeded = `${this.domain}. 300 IN A ${address!.address}`;
      }
    } else {
      this.trackingUri = `http://${address!.address}:${this.port}`;
    }
  }

  private createFirewallRules(props: MlflowTrackingServerProps, access: MlflowAccessOptions, namePrefix: string): void {
    const common = { project: props.projectId, network: props.network.networkName, direction: "INGRESS", targetTags: [this.networkTag] };
    // SSH only through IAP, in both modes; in private mode the MLflow port too. Priority 900,
    // so it wins over the SSH deny below.
    new ComputeFirewall(this, "IapIngress", {
      ...common,
      name: `${namePrefix}-allow-iap`,
      priority: 900,
      description: "IAP TCP forwarding to the MLflow server (SSH and, in private mode, the MLflow port)",
      sourceRanges: [IAP_TCP_FORWARDING_RANGE],
      allow: [{ protocol: "tcp", ports: this.accessMode === "private" ? ["22", String(this.port)] : ["22"] }],
    });
    // An existing network may allow SSH from anywhere (the `default` network's
    // default-allow-ssh, priority 65534): deny it for this VM, below the IAP rule.
    new ComputeFirewall(this, "SshDeny", {
      ...common,
      name: `${namePrefix}-deny-ssh`,
      description: "SSH to the MLflow server only through IAP (overrides broader allow rules of the network)",
      priority: 1000,
      sourceRanges: ["0.0.0.0/0"],
      deny: [{ protocol: "tcp", ports: ["22"] }],
    });
    // Clients inside the VPC (training VMs, notebooks) reach the server directly: MLflow's
    // port, or Caddy's HTTPS port when MLflow listens on 127.0.0.1 behind it.
    const servingPort = this.domain ? "443" : String(this.port);
    new ComputeFirewall(this, "InternalIngress", {
      ...common,
      name: `${namePrefix}-allow-internal`,
      description: access.internalSourceRanges
        ? "The server's serving port from the listed internal ranges"
        : "The server's serving port from its own subnetwork",
      sourceRanges: access.internalSourceRanges ?? [props.network.subnetworkCidr],
      allow: [{ protocol: "tcp", ports: [servingPort] }],
    });
    if (this.accessMode === "public") {
      new ComputeFirewall(this, "PublicIngress", {
        ...common,
        name: this.domain ? `${namePrefix}-allow-https` : `${namePrefix}-allow-mlflow`,
        description: this.domain
          ? "HTTPS (Caddy in front of MLflow) from the allowed source ranges"
          : "MLflow port from the allowed source ranges (public mode, plain HTTP)",
        sourceRanges: access.allowedSourceRanges ?? [],
        allow: [{ protocol: "tcp", ports: [servingPort] }],
        logConfig: { metadata: "INCLUDE_ALL_METADATA" },
      });
    }
    if (this.domain) {
      // Let's Encrypt validates from addresses it does not publish, so the HTTP-01 challenge
      // port must be open to the internet. Caddy serves only the challenge and a redirect
      // to HTTPS there; MLflow is never reachable on it.
      const acme = new ComputeFirewall(this, "AcmeIngress", {
        ...common,
        name: `${namePrefix}-allow-acme`,
        description: "HTTP for the Let's Encrypt HTTP-01 challenge and the redirect to HTTPS (Caddy)",
        sourceRanges: ["0.0.0.0/0"],
        allow: [{ protocol: "tcp", ports: ["80"] }],
      });
      // A built-in suppression, reported and recorded like any other (lib/checks/fw-world.ts).
      MlflowChecks.suppress(acme, "MLF-FW-WORLD", ACME_CHALLENGE_REASON);
    }
  }
}

/**
 * The internal DNS names Compute Engine gives a VM: zonal `NAME.ZONE.c.PROJECT.internal`
 * and, on projects that still use it, global `NAME.c.PROJECT.internal`
 * (cloud.google.com/compute/docs/internal-dns).
 */
export function internalDnsNames(instanceName: string, zone: string, projectId: string): string[] {
  return [`${instanceName}.${zone}.c.${projectId}.internal`, `${instanceName}.c.${projectId}.internal`];
}

/** Server, access and auth options together (what `validateServerOptions` checks). */
export interface MlflowServerValidationInput extends MlflowServerOptions {
  readonly mlflowVersion?: string;
  readonly access?: MlflowAccessOptions;
  readonly auth?: MlflowAuthOptions;
}

/** Checks `mlflowVersion`, `server`, `access` and `auth` (rules in lib/private/validate-server.ts); adds every problem to `v`. */
export function validateServerOptions(v: Validator, props: MlflowServerValidationInput): void {
  checkServerOptions(v, props);
}
