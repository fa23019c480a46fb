// The tracking server on a Compute Engine VM: the VM that runs `mlflow server` (installed
// and configured by the startup script), its reserved internal address, its access per
// mode (firewall, IAP, a static external IP, HTTPS with Caddy), and the persistent disk that
// keeps Caddy's certificates. The service account, its grants and the generated secrets
// come from MlflowServerBase (shared with the Cloud Run kind).
import { Construct } from "constructs";
import { ComputeInstance } from "@cdktf/provider-google/lib/compute-instance";
import { ComputeAddress } from "@cdktf/provider-google/lib/compute-address";
import type { ComputeDisk } from "@cdktf/provider-google/lib/compute-disk";
import { loadComputeDisk, loadDnsManagedZone, loadDnsRecordSet } from "../lib/private/optional-providers";
import type { IMlflowNetwork } from "./network";
import {
  MlflowServerBase, MlflowServerBaseProps, MlflowAccessOptions, MlflowAuthOptions, MlflowHealthTarget, MlflowGcTarget,
} from "./server-base";
import { createFirewallRules, grantInstanceAccess, IAP_TCP_FORWARDING_RANGE } from "./private/vm-access";
import { CADDY_UNIT, GC_UNIT, StartupScriptOptions, renderStartupScriptForTerraform } from "../lib/startup-script";
import { ServerEndpoint } from "../lib/server-runtime";
import { ConnectionPlan, checkConnectionBudget } from "../lib/connection-budget";
import { Validator } from "../lib/validation";
import { checkServerOptions } from "../lib/private/validate-server";

export { IAP_TCP_FORWARDING_RANGE, MlflowAccessOptions, MlflowAuthOptions };

/** Local port the IAP tunnel listens on: not 5000, which macOS's AirPlay Receiver holds. */
export const TUNNEL_LOCAL_PORT = 5050;

/** Options of the VM kind (`server` prop with `kind: "vm"` or no kind). */
export interface MlflowVmServerOptions {
  /** The kind of server. @default "vm" */
  readonly kind?: "vm";
  /** @default "e2-medium" */
  readonly machineType?: string;
  /** A Debian-family image (the startup script uses apt). @default "debian-cloud/debian-12" */
  readonly bootImage?: string;
  /**
   * Boot disk size. Proxied artifact uploads are spooled to the boot disk before they go to
   * GCS, so the largest single upload is about this size less 10 GB (the OS and MLflow).
   * @default 20
   */
  readonly bootDiskSizeGb?: number;
  /** Port `mlflow server` listens on. @default 5000 */
  readonly port?: number;
  /**
   * uvicorn worker processes. Each holds its own database pools; the stack refuses a count
   * whose connections would exceed the Cloud SQL tier's `max_connections`.
   * @default 2
   */
  readonly workers?: number;
  /**
   * Run MLflow's job runner (MLFLOW_SERVER_ENABLE_JOB_EXECUTION): background jobs such as
   * prompt optimization, with database connections of their own.
   * @default false
   */
  readonly enableJobExecution?: boolean;
}

export interface MlflowTrackingServerProps extends MlflowServerBaseProps, MlflowVmServerOptions {
  /** Zone of the VM. */
  readonly zone: string;
  readonly network: IMlflowNetwork;
  /** @default { mode: "private" } */
  readonly access?: MlflowAccessOptions;
}

/**
 * Machine series whose VMs take Hyperdisk only, not Persistent Disk (pd-balanced):
 * cloud.google.com/compute/docs/disks#disk-types and the machine series pages.
 */
export const HYPERDISK_ONLY_SERIES = ["c4", "c4a", "c4d", "n4", "n4a", "n4d", "x4", "m4", "h4d", "a4", "a4x"] as const;

/** The boot (and data) disk type a machine type takes: hyperdisk-balanced on Hyperdisk-only series. */
export function diskTypeFor(machineType: string): "pd-balanced" | "hyperdisk-balanced" {
  const series = machineType.split("-")[0];
  return (HYPERDISK_ONLY_SERIES as readonly string[]).includes(series) ? "hyperdisk-balanced" : "pd-balanced";
}

/** A Compute Engine VM running `mlflow server` with proxied artifact access. */
export class MlflowTrackingServer extends MlflowServerBase {
  public readonly kind = "vm" as const;
  public readonly machineType: string;
  public readonly bootImage: string;
  public readonly bootDiskSizeGb: number;
  /** `pd-balanced`, or `hyperdisk-balanced` on Hyperdisk-only machine series. */
  public readonly bootDiskType: string;
  public readonly port: number;
  public readonly workers: number;
  public readonly enableJobExecution: boolean;
  public readonly accessMode: "private" | "public";
  /** The VM (escape hatch: `server.instance.addOverride(...)`). */
  public readonly instance: ComputeInstance;
  /** VM name. */
  public readonly instanceName: string;
  public readonly zone: string;
  /** URL clients set as MLFLOW_TRACKING_URI (through the tunnel in private mode). */
  public readonly trackingUri: string;
  /** The VM's reserved internal IP address (survives VM replacements). */
  public readonly internalIp: string;
  /**
   * URL for clients inside the VPC: `http://<internal IP>:<port>`, or with a domain
   * `https://<domain>` (it must resolve to the internal IP there: `access.privateDns`).
   */
  public readonly internalTrackingUri: string;
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
  /** The persistent disk holding Caddy's certificates (with a domain). */
  public readonly caddyDataDisk?: ComputeDisk;
  /** What health alerting watches: the VM's name (no uptime check: no mode of it is open to the internet). */
  public readonly healthTarget: MlflowHealthTarget;
  /** Where a failed gc shows: mlflow-gc.service on this VM. */
  public readonly gcTarget: MlflowGcTarget;

  constructor(scope: Construct, id: string, props: MlflowTrackingServerProps) {
    super(scope, id, props,
      "Runs the MLflow tracking server VM (cdktf-mlflow-gcp): artifact bucket objects, its own secrets, logs and metrics, Cloud SQL backups before migrations.",
      (v) => {
        validateServerOptions(v, props);
        return checkVmConnectionBudget(v, props, props.database.maxConnections);
      });
    const access = props.access ?? {};
    this.machineType = props.machineType ?? "e2-medium";
    this.bootImage = props.bootImage ?? "debian-cloud/debian-12";
    this.bootDiskSizeGb = props.bootDiskSizeGb ?? 20;
    this.bootDiskType = diskTypeFor(this.machineType);
    this.port = props.port ?? 5000;
    this.workers = props.workers ?? 2;
    this.enableJobExecution = props.enableJobExecution ?? false;
    // validateServerOptions refused the Cloud Run modes.
    this.accessMode = (access.mode ?? "private") as "private" | "public";
    this.zone = props.zone;
    this.networkTag = `${this.namePrefix}-server`;
    this.domain = this.accessMode === "public" ? access.domain : undefined;
    const instanceName = `${this.namePrefix}-server`;

    // A reserved internal address: the same URL for clients in the VPC across every VM
    // replacement (each MLflow version bump replaces the VM).
    const internalAddress = new ComputeAddress(this, "InternalAddress", {
      project: props.projectId,
      region: props.region,
      name: `${this.namePrefix}-server-internal`,
      description: "Internal address of the MLflow tracking server (cdktf-mlflow-gcp)",
      addressType: "INTERNAL",
      purpose: "GCE_ENDPOINT",
      subnetwork: props.network.subnetworkId,
      labels: props.labels,
    });
    this.internalIp = internalAddress.address;

    let address: ComputeAddress | undefined;
    if (this.accessMode === "public") {
      address = new ComputeAddress(this, "Address", {
        project: props.projectId,
        region: props.region,
        name: `${this.namePrefix}-ip`,
        addressType: "EXTERNAL",
        networkTier: "PREMIUM",
        labels: props.labels,
      });
      this.externalIp = address.address;
    }

    if (this.domain) {
      const { ComputeDisk } = loadComputeDisk();
      this.caddyDataDisk = new ComputeDisk(this, "CaddyData", {
        project: props.projectId,
        zone: props.zone,
        name: `${this.namePrefix}-caddy-data`,
        description: "Caddy's ACME account and certificates, kept across VM replacements (cdktf-mlflow-gcp)",
        type: this.bootDiskType,
        size: 10,
        labels: props.labels,
      });
    }

    // Every way a client reaches MLflow itself: behind Caddy only the domain; otherwise the
    // reserved internal IP, the VM's internal DNS names and, in public mode, the static IP.
    const endpoints: ServerEndpoint[] = this.domain
      ? [{ scheme: "https", host: this.domain, port: 443 }]
      : [
          { scheme: "http", host: this.internalIp, port: this.port },
          ...internalDnsNames(instanceName, props.zone, props.projectId).map((host) => ({ scheme: "http" as const, host, port: this.port })),
          ...(address ? [{ scheme: "http" as const, host: address.address, port: this.port }] : []),
        ];

    const scriptOptions: StartupScriptOptions = {
      projectId: props.projectId,
      mlflowVersion: this.mlflowVersion,
      dependencyCutoff: this.dependencyCutoff,
      port: this.port,
      // Behind Caddy, MLflow is reachable only through the proxy.
      bindAddress: this.domain ? "127.0.0.1" : "0.0.0.0",
      workers: this.workers,
      databaseHost: props.database.host,
      databasePort: props.database.port,
      databaseName: props.database.databaseName,
      databaseUser: props.database.userName,
      databasePasswordSecret: props.database.passwordSecret.secretId,
      databaseCaCertificate: props.database.serverCaCertificate,
      artifactsDestination: props.artifactStore.artifactsUri,
      basicAuth: this.basicAuth,
      adminPasswordSecret: this.adminPasswordSecret?.secretId,
      flaskSecretKeySecret: this.flaskSecretKeySecret?.secretId,
      defaultPermission: this.defaultPermission,
      endpoints,
      domain: this.domain,
      caddyDataDevice: this.caddyDataDisk ? CADDY_DATA_DEVICE : undefined,
      backupInstance: this.backupInstance,
      enableJobExecution: this.enableJobExecution,
      poolSize: this.connectionPlan.poolSize,
      maxOverflow: this.connectionPlan.maxOverflow,
      gcSchedule: this.gcSchedule,
      gcOlderThan: this.gcOlderThan,
    };

    // The first boot reads the secrets and connects to the database: create the VM only once
    // they hold values (the script and the unit retry, but not forever at first boot).
    const dependsOn = [...this.prerequisites];
    if (this.accessMode === "private" && props.network.internetEgress) dependsOn.push(props.network.internetEgress);

    this.instance = new ComputeInstance(this, "Resource", {
      project: props.projectId,
      zone: props.zone,
      name: instanceName,
      machineType: this.machineType,
      tags: [this.networkTag],
      labels: props.labels,
      bootDisk: {
        autoDelete: true,
        initializeParams: { image: this.bootImage, size: this.bootDiskSizeGb, type: this.bootDiskType, labels: props.labels },
      },
      attachedDisk: this.caddyDataDisk ? [{ source: this.caddyDataDisk.id, deviceName: CADDY_DATA_DEVICE }] : undefined,
      networkInterface: [
        {
          subnetwork: props.network.subnetworkId,
          networkIp: internalAddress.address,
          // Private mode: no external IP at all; egress goes through Cloud NAT.
          accessConfig: address ? [{ natIp: address.address, networkTier: "PREMIUM" }] : undefined,
        },
      ],
      serviceAccount: { email: this.serviceAccountEmail, scopes: ["cloud-platform"] },
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
    this.instanceName = this.instance.name;

    createFirewallRules(this, {
      projectId: props.projectId,
      namePrefix: this.namePrefix,
      networkName: props.network.networkName,
      networkTag: this.networkTag,
      mode: this.accessMode,
      port: this.port,
      domain: this.domain,
      internalSourceRanges: access.internalSourceRanges ?? [props.network.subnetworkCidr],
      internalRangesGiven: access.internalSourceRanges !== undefined,
      allowedSourceRanges: access.allowedSourceRanges ?? [],
    });
    grantInstanceAccess(this, {
      projectId: props.projectId,
      zone: props.zone,
      instance: this.instance,
      tunnelMembers: this.accessMode === "private" ? access.iapMembers ?? [] : [],
      adminMembers: access.adminMembers ?? [],
      serviceAccountId: this.serviceAccountName,
    });

    // No uptime check: Google's uptime checkers come from public addresses all over the
    // world, monitoring never opens anything for them, and no mode of this VM is open to the
    // whole internet (access.allowedSourceRanges covering it is refused). Health alerting
    // watches the Ops Agent's scrape of MLflow instead (constructs/operations.ts), and with a
    // domain Caddy's unit, which the scrape on loopback does not pass through.
    this.healthTarget = {
      kind: "vm",
      instanceName,
      ...(this.domain ? { proxy: { instanceId: this.instance.instanceId, unit: CADDY_UNIT, url: `https://${this.domain}` } } : {}),
    };
    this.gcTarget = { kind: "vm", instanceId: this.instance.instanceId, unit: GC_UNIT };

    this.internalTrackingUri = this.domain ? `https://${this.domain}` : `http://${this.internalIp}:${this.port}`;
    if (this.accessMode === "private") {
      this.trackingUri = `http://localhost:${TUNNEL_LOCAL_PORT}`;
      this.iapTunnelCommand =
        `gcloud compute start-iap-tunnel ${this.instance.name} ${this.port} --local-host-port=localhost:${TUNNEL_LOCAL_PORT} --zone=${props.zone} --project=${props.projectId}`;
    } else if (this.domain) {
      this.trackingUri = `https://${this.domain}`;
      const { DnsRecordSet } = loadDnsRecordSet();
      if (access.dnsZone) {
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
      if (access.privateDns) {
        // A private zone for exactly the domain (not its parent): inside this network the
        // name resolves to the internal address, everything else in the parent domain
        // keeps resolving publicly.
        const { DnsManagedZone } = loadDnsManagedZone();
        const zone = new DnsManagedZone(this, "PrivateDnsZone", {
          project: props.projectId,
          name: `${this.namePrefix}-server-private`,
          dnsName: `${this.domain}.`,
          description: "The MLflow server's domain inside its VPC (cdktf-mlflow-gcp)",
          visibility: "private",
          privateVisibilityConfig: { networks: [{ networkUrl: props.network.networkId }] },
          labels: props.labels,
        });
        new DnsRecordSet(this, "PrivateDnsRecord", {
          project: props.projectId,
          managedZone: zone.name,
          name: `${this.domain}.`,
          type: "A",
          ttl: 300,
          rrdatas: [this.internalIp],
        });
      }
    } else {
      this.trackingUri = `http://${address!.address}:${this.port}`;
    }
  }
}

/** Device name of Caddy's data disk: /dev/disk/by-id/google-<name> on the VM. */
export const CADDY_DATA_DEVICE = "caddy-data";

/**
 * The internal DNS names Compute Engine gives a VM: zonal `NAME.ZONE.c.PROJECT.internal`
 * and, on projects that still use it, global `NAME.c.PROJECT.internal`
 * (cloud.google.com/compute/docs/internal-dns).
 */
export function internalDnsNames(instanceName: string, zone: string, projectId: string): string[] {
  return [`${instanceName}.${zone}.c.${projectId}.internal`, `${instanceName}.c.${projectId}.internal`];
}

/**
 * The VM's worst case against the database: every worker with its engines, the `mlflow
 * server` command above them, and `mlflow gc` (the schema migration runs while the server
 * is stopped).
 */
export function checkVmConnectionBudget(v: Validator, props: MlflowVmServerOptions & { auth?: MlflowAuthOptions },
  maxConnections: number): ConnectionPlan {
  const workers = typeof props.workers === "number" && props.workers >= 1 ? props.workers : 2;
  return checkConnectionBudget(v, "server.workers", props.workers ?? 2, {
    serverProcesses: workers,
    serverCommands: 1,
    basicAuth: props.auth?.basicAuth ?? true,
    enableJobExecution: props.enableJobExecution ?? false,
    gc: true,
    concurrentMigration: false,
  }, maxConnections);
}

/** Server, access and auth options together (what `validateServerOptions` checks). */
export interface MlflowServerValidationInput extends MlflowVmServerOptions {
  readonly mlflowVersion?: string;
  readonly dependencyCutoff?: string;
  readonly access?: MlflowAccessOptions;
  readonly auth?: MlflowAuthOptions;
}

/** Checks `mlflowVersion`, `server`, `access` and `auth` (rules in lib/private/validate-server.ts); adds every problem to `v`. */
export function validateServerOptions(v: Validator, props: MlflowServerValidationInput): void {
  checkServerOptions(v, props);
}
