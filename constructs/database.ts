// The backend store: Cloud SQL for PostgreSQL on a private IP only, TLS required, deletion
// protection, daily backups with point-in-time recovery, one database and one built-in user
// whose password is generated and kept in Secret Manager.
import { Construct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { SqlDatabaseInstance } from "@cdktf/provider-google/lib/sql-database-instance";
import { SqlDatabase } from "@cdktf/provider-google/lib/sql-database";
import { SqlUser } from "@cdktf/provider-google/lib/sql-user";
import type { IMlflowPrivateServicesNetwork } from "./network";
import { IMlflowSecret, MlflowGeneratedSecret } from "./generated-secret";
import { Validator, DEFAULT_NAME_PREFIX, checkCommonProps } from "../lib/validation";
import { defaultMaxConnections } from "../lib/connection-budget";
import { checkDatabaseOptions } from "../lib/private/validate-database";

/** What a tracking server needs from its backend database: where it is and how to log in. */
export interface IMlflowBackendDatabase {
  /** Private IP address of the instance. */
  readonly host: string;
  /** PostgreSQL port. */
  readonly port: number;
  /** Database that holds MLflow's tables (and the basic-auth tables). */
  readonly databaseName: string;
  /** Built-in user MLflow logs in as. */
  readonly userName: string;
  /** Secret that holds the user's password. */
  readonly passwordSecret: IMlflowSecret;
  /** Cloud SQL instance name. */
  readonly instanceName: string;
  /** Done once the database and the user exist (a client can log in). */
  readonly ready: ITerraformDependable[];
  /**
   * PEM of the CA that signed the instance's server certificate (a Terraform reference):
   * clients verify the server with it (`sslmode=verify-ca`).
   */
  readonly serverCaCertificate: string;
  /** Cloud SQL machine tier, e.g. `db-g1-small`. */
  readonly tier: string;
  /** The instance's `max_connections` (servers size their pools to fit it). */
  readonly maxConnections: number;
}

/** Database options of `MlflowTrackingStack` (`database` prop). */
export interface MlflowDatabaseOptions {
  /**
   * Machine tier. PostgreSQL on the ENTERPRISE edition takes shared-core tiers
   * (`db-f1-micro`, `db-g1-small`) or `db-custom-<vCPUs>-<MiB>`.
   * @default "db-g1-small"
   */
  readonly tier?: string;
  /** @default "POSTGRES_16" */
  readonly databaseVersion?: string;
  /**
   * `REGIONAL` adds a standby in a second zone (high availability, about twice the cost).
   * @default "ZONAL"
   */
  readonly availabilityType?: "ZONAL" | "REGIONAL";
  /** Initial SSD size; Cloud SQL grows it automatically. @default 10 */
  readonly diskSizeGb?: number;
  /**
   * Protects the instance from deletion, in Terraform and in the Cloud SQL API. Set it to
   * `false` and deploy before `cdktf destroy`.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /** @default "mlflow" */
  readonly databaseName?: string;
  /** @default "mlflow" */
  readonly userName?: string;
  /**
   * Day of the weekly maintenance window in which Cloud SQL may restart the instance for
   * updates: 1 (Monday) to 7 (Sunday). Without a window Cloud SQL picks any time.
   * @default 7
   */
  readonly maintenanceDay?: number;
  /** Hour (UTC, 0-23) the maintenance window starts. @default 1 */
  readonly maintenanceHour?: number;
  /**
   * PostgreSQL `max_connections`, set as a database flag (changing it restarts the
   * instance). The servers size their connection pools to fit it, and the stack refuses a
   * worker count that cannot.
   * @default - by tier: 25 (db-f1-micro), 50 (db-g1-small), 100 to 1000 by memory for db-custom tiers
   */
  readonly maxConnections?: number;
}

export interface MlflowDatabaseProps extends MlflowDatabaseOptions {
  readonly projectId: string;
  readonly region: string;
  /** Zone to place the (primary) instance in, next to the server. @default - chosen by Cloud SQL */
  readonly zone?: string;
  /** Prefix of every resource name. @default "mlflow" */
  readonly namePrefix?: string;
  /** Labels for the instance and the secret. @default {} */
  readonly labels?: Record<string, string>;
  /**
   * Network whose private services access gives the instance its private IP: an
   * `MlflowNetwork`, or for an existing network that already has private services access just
   * `{ networkId: "projects/<p>/global/networks/<name>" }` (no subnetwork needed).
   */
  readonly network: IMlflowPrivateServicesNetwork;
}

/** Cloud SQL PostgreSQL, private IP only; MLflow's backend store. */
export class MlflowDatabase extends Construct implements IMlflowBackendDatabase {
  public readonly host: string;
  public readonly port = 5432;
  public readonly databaseName: string;
  public readonly userName: string;
  public readonly passwordSecret: IMlflowSecret;
  public readonly instanceName: string;
  public readonly ready: ITerraformDependable[];
  public readonly tier: string;
  public readonly databaseVersion: string;
  public readonly availabilityType: "ZONAL" | "REGIONAL";
  public readonly diskSizeGb: number;
  public readonly deletionProtection: boolean;
  public readonly maintenanceDay: number;
  public readonly maintenanceHour: number;
  public readonly serverCaCertificate: string;
  public readonly maxConnections: number;
  /**
   * The Cloud SQL instance (`google_sql_database_instance`, construct id `Resource`, also
   * `node.defaultChild`): an escape hatch for settings this construct does not offer
   * (`instance.addOverride("settings.…", …)`). Attributes of this construct (`tier`, …) keep
   * the values it chose; an override changes only the synthesized resource.
   */
  public readonly instance: SqlDatabaseInstance;

  constructor(scope: Construct, id: string, props: MlflowDatabaseProps) {
    super(scope, id);
    const namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    this.tier = props.tier ?? DEFAULT_TIER;
    this.databaseVersion = props.databaseVersion ?? "POSTGRES_16";
    this.availabilityType = props.availabilityType ?? "ZONAL";
    this.diskSizeGb = props.diskSizeGb ?? 10;
    this.deletionProtection = props.deletionProtection ?? true;
    this.databaseName = props.databaseName ?? "mlflow";
    this.userName = props.userName ?? "mlflow";
    this.maintenanceDay = props.maintenanceDay ?? 7;
    this.maintenanceHour = props.maintenanceHour ?? 1;
    this.maxConnections = maxConnectionsOf(props);
    const v = new Validator();
    checkCommonProps(v, props);
    validateDatabaseOptions(v, props);
    v.throwIfInvalid(this.node.path);

    const instance = (this.instance = new SqlDatabaseInstance(this, "Resource", {
      project: props.projectId,
      region: props.region,
      name: `${namePrefix}-db`,
      databaseVersion: this.databaseVersion,
      deletionProtection: this.deletionProtection,
      // The peering must exist before Cloud SQL can take a private IP; the provider docs
      // say the instance does not pick this up from its arguments.
      dependsOn: props.network.privateServicesAccess ? [props.network.privateServicesAccess] : undefined,
      lifecycle: {
        // disk_autoresize grows the disk; the provider treats a disk_size below the current
        // size as a shrink and plans to REPLACE the instance (ForceNewIfChange on
        // settings.0.disk_size, terraform-provider-google v6.50.0
        // resource_sql_database_instance.go; the disk_size docs warn of it). diskSizeGb is
        // the initial size only.
        ignoreChanges: ["settings[0].disk_size"],
      },
      settings: {
        // Without an explicit edition, PostgreSQL 16+ defaults to ENTERPRISE_PLUS, which
        // rejects shared-core and db-custom tiers.
        edition: "ENTERPRISE",
        tier: this.tier,
        availabilityType: this.availabilityType,
        diskType: "PD_SSD",
        diskSize: this.diskSizeGb,
        diskAutoresize: true,
        deletionProtectionEnabled: this.deletionProtection,
        // A destroy (or a replacement) keeps the automated and on-demand backups, so the data
        // survives a mistake: they stay listed under `gcloud sql backups list --instance=-`.
        retainBackupsOnDelete: true,
        // Updates restart the instance: at a known time, on the stable track (two weeks
        // after notification), not whenever Cloud SQL chooses.
        maintenanceWindow: { day: this.maintenanceDay, hour: this.maintenanceHour, updateTrack: "stable" },
        userLabels: props.labels,
        locationPreference: props.zone !== undefined ? { zone: props.zone } : undefined,
        ipConfiguration: {
          ipv4Enabled: false,
          privateNetwork: props.network.networkId,
          sslMode: "ENCRYPTED_ONLY",
        },
        backupConfiguration: {
          enabled: true,
          startTime: "03:00",
          pointInTimeRecoveryEnabled: true,
          transactionLogRetentionDays: 7,
          backupRetentionSettings: { retainedBackups: 14, retentionUnit: "COUNT" },
        },
        insightsConfig: { queryInsightsEnabled: true },
        databaseFlags: [{ name: "max_connections", value: String(this.maxConnections) }],
      },
    }));

    const database = new SqlDatabase(this, "Database", {
      project: props.projectId,
      instance: instance.name,
      name: this.databaseName,
      // A renamed database must never drop the old one (and MLflow's history with it).
      deletionPolicy: "ABANDON",
    });

    const password = new MlflowGeneratedSecret(this, "Password", {
      projectId: props.projectId,
      secretId: `${namePrefix}-db-password`,
      labels: props.labels,
      location: props.region,
    });
    const user = new SqlUser(this, "User", {
      project: props.projectId,
      instance: instance.name,
      name: this.userName,
      password: password.valueRef,
      // PostgreSQL refuses to drop a role that owns objects; leave it to the instance.
      deletionPolicy: "ABANDON",
    });

    this.ready = [database, user];
    this.serverCaCertificate = instance.serverCaCert.get(0).cert;
    this.host = instance.privateIpAddress;
    this.instanceName = instance.name;
    this.passwordSecret = password;
  }
}

const DEFAULT_TIER = "db-g1-small";

/** The max_connections the instance gets from these options (the flag the construct sets). */
export function maxConnectionsOf(options: Pick<MlflowDatabaseOptions, "tier" | "maxConnections">): number {
  return options.maxConnections ?? defaultMaxConnections(options.tier ?? DEFAULT_TIER);
}

/** Checks the `database` options (rules in lib/private/validate-database.ts); adds every problem to `v`. */

export function validateDatabaseOptions(v: Validator, props: MlflowDatabaseOptions): void {
  checkDatabaseOptions(v, props);
}
