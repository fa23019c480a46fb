// What a real deployment needs beyond what the fakes showed (issue 9, "make the first real
// deploy, day-2 operations and destroy work"): each item pinned on the synthesized JSON.
// The sources behind each expectation are cited in the code under test.
import { synthStack, onlyResource, resourcesOf, vmScript, TfJson, problemsOf } from "./helpers";
import {
  BACKUP_PERMISSIONS, defaultMaxConnections, planConnections, diskTypeFor, MlflowTrackingStackProps,
} from "../lib";

const PUBLIC_PLAIN = { access: { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } };
const DOMAIN = { access: { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], domain: "mlflow.example.com" } };

/** `KEY=value` lines of the unit's Environment= in the VM's script. */
function unitEnv(json: TfJson): Record<string, string> {
  return Object.fromEntries([...vmScript(json).matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
}

describe("Cloud SQL on day 2 and at destroy", () => {
  const sql = onlyResource(synthStack().json, "google_sql_database_instance");
  test("autoresize growth never plans a replacement: disk_size changes are ignored", () => {
    expect(sql.settings.disk_autoresize).toBe(true);
    expect(sql.lifecycle).toEqual({ ignore_changes: ["settings[0].disk_size"] });
  });
  test("a destroy keeps the backups", () => {
    expect(sql.settings.retain_backups_on_delete).toBe(true);
  });
  test("maintenance restarts happen in a known window: Sunday 01:00 UTC on the stable track, or as configured", () => {
    expect(sql.settings.maintenance_window).toEqual({ day: 7, hour: 1, update_track: "stable" });
    const custom = onlyResource(synthStack({ database: { maintenanceDay: 3, maintenanceHour: 22 } }).json, "google_sql_database_instance");
    expect(custom.settings.maintenance_window).toEqual({ day: 3, hour: 22, update_track: "stable" });
  });
  test.each([
    [{ maintenanceDay: 0 }, "database.maintenanceDay"],
    [{ maintenanceDay: 8 }, "database.maintenanceDay"],
    [{ maintenanceHour: 24 }, "database.maintenanceHour"],
    [{ maintenanceHour: 1.5 }, "database.maintenanceHour"],
    [{ maxConnections: 10 }, "database.maxConnections"],
  ])("refuses %j", (database, path) => {
    expect(problemsOf({ database }).map((p) => p.split(":")[0])).toContain(path);
  });
});

describe("connections: the worst case fits max_connections", () => {
  test("max_connections is set as a flag, by tier, so the budget holds by construction", () => {
    const flags = (props: Partial<MlflowTrackingStackProps>) => onlyResource(synthStack(props).json, "google_sql_database_instance").settings.database_flags;
    expect(flags({})).toEqual([{ name: "max_connections", value: "50" }]);
    expect(flags({ database: { tier: "db-f1-micro" }, server: { workers: 1 } })).toEqual([{ name: "max_connections", value: "25" }]);
    expect(flags({ database: { maxConnections: 120 } })).toEqual([{ name: "max_connections", value: "120" }]);
  });
  test.each([
    ["db-f1-micro", 25], ["db-g1-small", 50], ["db-custom-1-3840", 100], ["db-custom-2-7680", 400],
    ["db-custom-4-15360", 500], ["db-custom-8-30720", 600], ["db-custom-16-61440", 800], ["db-custom-32-122880", 1000],
  ])("%s: max_connections %d", (tier, expected) => {
    expect(defaultMaxConnections(tier)).toBe(expected);
  });
  test("default stack: 2 workers × 4 engines, the server command and gc fit db-g1-small with pools of 2 + 2", () => {
    const env = unitEnv(synthStack().json);
    expect(env).toMatchObject({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "2", MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "2" });
    const plan = planConnections({ serverProcesses: 2, basicAuth: true, enableJobExecution: false, gc: true, concurrentMigration: false }, 50);
    // 2 × 4 engines × 4 + gc 2 × 4 + the `mlflow server` command's 2 idle connections.
    expect(plan).toMatchObject({ available: 42, worstCase: 42, fits: true });
    expect(plan.terms.at(-1)).toBe("1 mlflow server command (the workers' parent) × 2 idle connections");
  });
  test("the server command's own connections come off before the pools are sized: 1 worker on db-g1-small", () => {
    // Measured on the script harness's real PostgreSQL: with pools sized from all 42 (7 per
    // engine) the worst case was 44, two into the administrators' headroom.
    const plan = planConnections({ serverProcesses: 1, serverCommands: 1, basicAuth: true, enableJobExecution: false, gc: true, concurrentMigration: false }, 50);
    expect(plan).toMatchObject({ poolSize: 3, maxOverflow: 3, worstCase: 6 * 6 + 2, fits: true });
    expect(unitEnv(synthStack({ server: { workers: 1 } }).json)).toMatchObject({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "3", MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "3" });
  });
  test("a bigger tier gets bigger pools (at most 10 per engine)", () => {
    const env = unitEnv(synthStack({ database: { tier: "db-custom-2-7680" } }).json);
    expect(env).toMatchObject({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "5", MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "5" });
  });
  test("db-f1-micro with 2 workers is refused, naming server.workers and the arithmetic; 1 worker fits", () => {
    const problems = problemsOf({ database: { tier: "db-f1-micro" } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^server\.workers: a worker count whose worst case fits the database: 2 server processes × 4 engines .* \+ 1 mlflow server command \(the workers' parent\) × 2 idle connections = 22 connections, but max_connections 25 leaves 17/);
    expect(problemsOf({ database: { tier: "db-f1-micro" }, server: { workers: 1 } })).toEqual([]);
  });
  test("job execution adds its consumers to the budget, and is off by default", () => {
    expect(unitEnv(synthStack().json).MLFLOW_SERVER_ENABLE_JOB_EXECUTION).toBe("false");
    expect(unitEnv(synthStack({ server: { enableJobExecution: true } }).json).MLFLOW_SERVER_ENABLE_JOB_EXECUTION).toBe("true");
    const off = planConnections({ serverProcesses: 2, basicAuth: true, enableJobExecution: false, gc: true, concurrentMigration: false }, 50);
    const on = planConnections({ serverProcesses: 2, basicAuth: true, enableJobExecution: true, gc: true, concurrentMigration: false }, 50);
    expect(on.worstCase / on.poolSize).toBeGreaterThan(off.worstCase / off.poolSize);
    expect(problemsOf({ database: { tier: "db-f1-micro" }, server: { workers: 1, enableJobExecution: true } })[0]).toMatch(/4 job consumers/);
  });
});

describe("network: first apply, destroy and redeploy", () => {
  const { json } = synthStack();
  test("the abandoned private services connection is updated, not re-created, on a redeploy", () => {
    expect(onlyResource(json, "google_service_networking_connection")).toMatchObject({ deletion_policy: "ABANDON", update_on_creation_fail: true });
  });
  test("teardown_commands: the steps in order, with this stack's names", () => {
    const steps = String(json.output.teardown_commands.value).split("\n");
    expect(steps).toEqual([
      "1. set database.deletionProtection: false (Cloud SQL refuses to delete a protected instance), and deploy",
      "2. keep the artifacts: cd cdktf.out/stacks/mlflow && terraform state rm google_storage_bucket.ArtifactStore_8A81FDFB" +
        " — or delete them: gcloud storage rm --recursive --all-versions gs://${google_storage_bucket.ArtifactStore_8A81FDFB.name}/** --project=acme-ml-prod",
      "3. cdktf destroy (it stops at the private services range, which the abandoned peering still uses; that is expected)",
      "4. gcloud compute networks peerings delete servicenetworking-googleapis-com --network=${google_compute_network.Network_1C6012B5.name} --project=acme-ml-prod, then cdktf destroy again (it removes the range and the VPC)",
      "5. backups stay after the instance is gone (retainBackupsOnDelete; on-demand ones until deleted): gcloud sql backups list --instance=- --project=acme-ml-prod",
    ]);
  });
  test("teardown_commands without deletion protection or our own peering", () => {
    const steps = String(synthStack({
      database: { deletionProtection: false },
      network: { existingNetwork: "default", existingSubnetwork: "default", createPrivateServicesAccess: false },
    }).json.output.teardown_commands.value).split("\n");
    expect(steps.map((s) => s.slice(0, 16))).toEqual(["1. keep the arti", "2. cdktf destroy", "3. backups stay "]);
  });
});

describe("the VM's endpoints", () => {
  test("a reserved internal address in the server's subnetwork, used by the VM and given as internal_tracking_uri", () => {
    const { json } = synthStack();
    const address = json.resource.google_compute_address.Server_InternalAddress_52C75BA8;
    expect(address).toMatchObject({
      name: "mlflow-server-internal", address_type: "INTERNAL", purpose: "GCE_ENDPOINT", region: "europe-west1",
      subnetwork: "${google_compute_subnetwork.Network_Subnetwork_36DAE8DB.id}",
    });
    expect(onlyResource(json, "google_compute_instance").network_interface[0].network_ip).toBe("${google_compute_address.Server_InternalAddress_52C75BA8.address}");
    expect(json.output.internal_tracking_uri.value).toBe("http://${google_compute_address.Server_InternalAddress_52C75BA8.address}:5000");
  });
  test("with a domain and privateDns: a private zone for exactly the domain, in the server's network, resolving to the internal address", () => {
    const { json } = synthStack({ access: { ...DOMAIN.access, privateDns: true } });
    expect(onlyResource(json, "google_dns_managed_zone")).toMatchObject({
      name: "mlflow-server-private", dns_name: "mlflow.example.com.", visibility: "private",
      private_visibility_config: { networks: [{ network_url: "${google_compute_network.Network_1C6012B5.id}" }] },
    });
    const records = resourcesOf(json, "google_dns_record_set");
    expect(records.map(([name]) => name)).toEqual([expect.stringMatching(/^Server_PrivateDnsRecord_[0-9A-F]{8}$/)]);
    expect(records[0][1]).toMatchObject({
      name: "mlflow.example.com.", type: "A", rrdatas: ["${google_compute_address.Server_InternalAddress_52C75BA8.address}"],
    });
    expect(json.output.internal_tracking_uri.value).toBe("https://mlflow.example.com");
    expect(resourcesOf(json, "google_project_service").map(([, s]) => s.service)).toContain("dns.googleapis.com");
  });
  test.each([
    [{}, "private mode"],
    [PUBLIC_PLAIN.access, "no domain"],
  ])("privateDns is refused without a domain (%j, %s)", (access, _why) => {
    expect(problemsOf({ access: { ...access, privateDns: true } }).map((p) => p.split(":")[0])).toContain("access.privateDns");
  });
});

describe("HTTPS across VM replacements: Caddy's state on a persistent disk", () => {
  const { json } = synthStack(DOMAIN);
  test("a 10 GB disk of its own, attached under a fixed device name", () => {
    expect(onlyResource(json, "google_compute_disk")).toMatchObject({ name: "mlflow-caddy-data", size: 10, type: "pd-balanced", zone: "europe-west1-b" });
    expect(onlyResource(json, "google_compute_instance").attached_disk).toEqual([
      { source: "${google_compute_disk.Server_CaddyData_045E1048.id}", device_name: "caddy-data" },
    ]);
    expect(vmScript(json)).toContain("CADDY_DATA_DEVICE=caddy-data");
  });
  test("no such disk without a domain", () => {
    expect(synthStack().json.resource.google_compute_disk).toBeUndefined();
  });
});

describe("backup before a schema migration", () => {
  test("a custom role with exactly the permissions it needs, granted to the server", () => {
    const { json } = synthStack();
    expect(onlyResource(json, "google_project_iam_custom_role")).toMatchObject({
      role_id: "mlflow_sql_backup", project: "acme-ml-prod", permissions: [...BACKUP_PERMISSIONS],
    });
    expect(json.resource.google_project_iam_member.Server_BackupRoleMember_C4D384DE).toMatchObject({
      role: "projects/acme-ml-prod/roles/mlflow_sql_backup",
      member: "serviceAccount:${google_service_account.Server_ServiceAccount_97513772.email}",
      depends_on: expect.arrayContaining(["google_project_iam_custom_role.Server_BackupRole_27EAA4CC"]),
    });
    expect(unitEnv(json).CLOUD_SQL_BACKUP_INSTANCE).toBe("acme-ml-prod/${google_sql_database_instance.Database_B269D8BB.name}");
    expect(onlyResource(json, "google_compute_instance").depends_on).toContain("google_project_iam_member.Server_BackupRoleMember_C4D384DE");
  });
  test("role ids take no hyphens: the prefix's hyphens become underscores", () => {
    expect(onlyResource(synthStack({ namePrefix: "team-a" }).json, "google_project_iam_custom_role").role_id).toBe("team_a_sql_backup");
  });
  test("operations.backupBeforeUpgrade: false: no role, no backup instance", () => {
    const { json } = synthStack({ operations: { backupBeforeUpgrade: false } });
    expect(json.resource.google_project_iam_custom_role).toBeUndefined();
    expect(unitEnv(json).CLOUD_SQL_BACKUP_INSTANCE).toBe("");
  });
});

describe("getting onto the VM: adminMembers", () => {
  const { json } = synthStack({ access: { iapMembers: ["group:ml@example.com"], adminMembers: ["user:ops@example.com", "group:ml@example.com"] } });
  test("OS Login with sudo on this VM, service account user on its account, recreated with the VM", () => {
    const logins = resourcesOf(json, "google_compute_instance_iam_member").map(([, r]) => r).filter((r) => r.role === "roles/compute.osAdminLogin");
    expect(logins.map((r) => r.member).sort()).toEqual(["group:ml@example.com", "user:ops@example.com"]);
    for (const r of logins) expect(r.lifecycle).toEqual({ replace_triggered_by: ["google_compute_instance.Server_7E7D21FA"] });
    const saUsers = resourcesOf(json, "google_service_account_iam_member").map(([, r]) => r);
    expect(saUsers.map((r) => [r.role, r.member, r.service_account_id]).sort()).toEqual([
      ["roles/iam.serviceAccountUser", "group:ml@example.com", "${google_service_account.Server_ServiceAccount_97513772.name}"],
      ["roles/iam.serviceAccountUser", "user:ops@example.com", "${google_service_account.Server_ServiceAccount_97513772.name}"],
    ]);
  });
  test("an admin who is not a tunnel user gets the tunnel for SSH; no binding twice", () => {
    const tunnels = resourcesOf(json, "google_iap_tunnel_instance_iam_member").map(([, r]) => r.member).sort();
    expect(tunnels).toEqual(["group:ml@example.com", "user:ops@example.com"]);
  });
  test("adminMembers are checked like iapMembers", () => {
    expect(problemsOf({ access: { adminMembers: ["ops@example.com"] } }).map((p) => p.split(":")[0])).toEqual(["access.adminMembers[0]"]);
  });
});

describe("boot disk type follows the machine series", () => {
  test.each([
    ["e2-medium", "pd-balanced"], ["n2-standard-4", "pd-balanced"], ["c3-standard-4", "pd-balanced"], ["n1-standard-2", "pd-balanced"],
    ["n4-standard-4", "hyperdisk-balanced"], ["c4-standard-4", "hyperdisk-balanced"], ["c4a-standard-4", "hyperdisk-balanced"],
    ["c4d-standard-4", "hyperdisk-balanced"],
  ])("%s: %s", (machineType, type) => {
    expect(diskTypeFor(machineType)).toBe(type);
  });
  test("the VM's boot disk and Caddy's disk use it", () => {
    const { json } = synthStack({ ...DOMAIN, server: { machineType: "n4-standard-2" } });
    expect(onlyResource(json, "google_compute_instance").boot_disk.initialize_params.type).toBe("hyperdisk-balanced");
    expect(onlyResource(json, "google_compute_disk").type).toBe("hyperdisk-balanced");
  });
  test("labels reach the boot disk", () => {
    expect(onlyResource(synthStack({ labels: { team: "a" } }).json, "google_compute_instance").boot_disk.initialize_params.labels).toEqual({ team: "a" });
  });
});

describe("artifact bucket: soft delete set deliberately", () => {
  const bucketOf = (props: Partial<MlflowTrackingStackProps>) => onlyResource(synthStack(props).json, "google_storage_bucket");
  test("off with versioning (noncurrent versions already keep deleted artifacts for 30 days)", () => {
    expect(bucketOf({}).soft_delete_policy).toEqual({ retention_duration_seconds: 0 });
  });
  test("7 days without versioning; or as configured", () => {
    expect(bucketOf({ artifactStore: { versioning: false } }).soft_delete_policy).toEqual({ retention_duration_seconds: 604800 });
    expect(bucketOf({ artifactStore: { softDeleteRetentionDays: 14 } }).soft_delete_policy).toEqual({ retention_duration_seconds: 1209600 });
  });
  test.each([[1], [6], [91], [7.5]])("refuses softDeleteRetentionDays %d", (days) => {
    expect(problemsOf({ artifactStore: { softDeleteRetentionDays: days } }).map((p) => p.split(":")[0])).toEqual(["artifactStore.softDeleteRetentionDays"]);
  });
});

describe("dependency cutoff", () => {
  test.each([
    ["2026-11-28T00:00:00Z"], ["2026-06-01"], ["2025-01-01T12:30:00Z"],
  ])("accepts %s", (dependencyCutoff) => {
    expect(problemsOf({ dependencyCutoff })).toEqual([]);
  });
  test.each([
    ["2099-01-01", "in the future"], ["2026-02-30", "not a date"], ["2026-11-28 00:00", "not RFC 3339"], ["1 week", "a duration"],
    ["2024-12-31", "before 2025"], ["2026-11-28T00:00:00+01:00", "not UTC"],
  ])("refuses %s (%s)", (dependencyCutoff) => {
    expect(problemsOf({ dependencyCutoff }).map((p) => p.split(":")[0])).toEqual(["dependencyCutoff"]);
  });
  test("an mlflowVersion newer than the default needs a cutoff past its release", () => {
    const problems = problemsOf({ mlflowVersion: "3.19.0" });
    expect(problems).toEqual([expect.stringMatching(/^dependencyCutoff: an instant after the release of mlflowVersion 3\.19\.0 .*default cutoff 2026-11-28T00:00:00Z/)]);
    expect(problemsOf({ mlflowVersion: "3.19.0", dependencyCutoff: "2026-11-28T12:00:00Z" })).toEqual([]);
    expect(problemsOf({ mlflowVersion: "3.17.2" })).toEqual([]);
  });
});
