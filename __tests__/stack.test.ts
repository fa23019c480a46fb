// MlflowTrackingStack: a snapshot per scenario, and targeted assertions for every property
// that matters for security, data and the running server.
import { synthStack, resourcesOf, onlyResource, vmScript, TfJson } from "./helpers";
import { IAP_TCP_FORWARDING_RANGE } from "../lib";

const PUBLIC_PLAIN = { access: { mode: "public" as const, allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } };
const EXISTING_NETWORK = { network: { existingNetwork: "default", existingSubnetwork: "default" } };

describe("snapshots", () => {
  test.each([
    ["private default", {}],
    ["public plain HTTP", PUBLIC_PLAIN],
    ["existing network", EXISTING_NETWORK],
  ])("%s", (_name, props) => {
    expect(synthStack(props).json).toMatchSnapshot();
  });
});

describe("resource addresses are stable (renaming one replaces real infrastructure)", () => {
  test("default stack", () => {
    const { json } = synthStack();
    const addresses = Object.entries(json.resource).flatMap(([type, rs]) => Object.keys(rs).map((n) => `${type}.${n}`)).sort();
    expect(addresses).toEqual([
      "google_compute_address.Server_InternalAddress_52C75BA8",
      "google_compute_firewall.Server_IapIngress_C5304FF4",
      "google_compute_firewall.Server_InternalIngress_E1FC1C9B",
      "google_compute_firewall.Server_SshDeny_D30FDB20",
      "google_compute_global_address.Network_PrivateServicesRange_D5212869",
      "google_compute_instance.Server_7E7D21FA",
      "google_compute_network.Network_1C6012B5",
      "google_compute_router.Network_Router_B43C5A1B",
      "google_compute_router_nat.Network_Nat_3769BF30",
      "google_compute_subnetwork.Network_Subnetwork_36DAE8DB",
      "google_monitoring_alert_policy.Operations_DatabaseConnectionsPolicy_A2477647",
      "google_monitoring_alert_policy.Operations_GcFailurePolicy_C818361B",
      "google_monitoring_alert_policy.Operations_HealthPolicy_7FA0813E",
      "google_project_iam_custom_role.Server_BackupRole_27EAA4CC",
      "google_project_iam_member.Server_BackupRoleMember_C4D384DE",
      "google_project_iam_member.Server_LogWriter_1C416378",
      "google_project_iam_member.Server_MetricWriter_44CD044F",
      "google_project_service.Api-cloudresourcemanager",
      "google_project_service.Api-compute",
      "google_project_service.Api-iam",
      "google_project_service.Api-iap",
      "google_project_service.Api-monitoring",
      "google_project_service.Api-secretmanager",
      "google_project_service.Api-servicenetworking",
      "google_project_service.Api-sqladmin",
      "google_project_service.Api-storage",
      "google_secret_manager_secret.Database_Password_246019AA",
      "google_secret_manager_secret.Server_AdminPassword_A3A20D62",
      "google_secret_manager_secret.Server_FlaskSecretKey_3DFA3089",
      "google_secret_manager_secret_iam_member.Database_Password_Accessor0_64029EA8",
      "google_secret_manager_secret_iam_member.Server_AdminPassword_Accessor0_59A60172",
      "google_secret_manager_secret_iam_member.Server_FlaskSecretKey_Accessor0_D79C518B",
      "google_secret_manager_secret_version.Database_Password_Version_9902D26E",
      "google_secret_manager_secret_version.Server_AdminPassword_Version_4A81CABA",
      "google_secret_manager_secret_version.Server_FlaskSecretKey_Version_7A76E743",
      "google_service_account.Server_ServiceAccount_97513772",
      "google_service_networking_connection.Network_PrivateServicesAccess_7A621F73",
      "google_sql_database.Database_3B28CBDB",
      "google_sql_database_instance.Database_B269D8BB",
      "google_sql_user.Database_User_739A4C21",
      "google_storage_bucket.ArtifactStore_8A81FDFB",
      "google_storage_bucket_iam_member.ArtifactStore_ObjectUser0_C40CCC77",
      "random_password.Database_Password_Value_159A38AE",
      "random_password.Server_AdminPassword_Value_B28B43C7",
      "random_password.Server_FlaskSecretKey_Value_B3601A14",
      "time_sleep.ApiSettle",
    ]);
  });
});

describe("providers and APIs", () => {
  const { json } = synthStack();
  test("google provider is configured for the project and region", () => {
    expect(json.provider.google[0]).toMatchObject({ project: "acme-ml-prod", region: "europe-west1", zone: "europe-west1-b" });
    expect(json.provider.random).toHaveLength(1);
  });
  test("APIs are enabled and never disabled on destroy", () => {
    const services = resourcesOf(json, "google_project_service").map(([, r]) => r);
    expect(services.map((s) => s.service).sort()).toEqual([
      "cloudresourcemanager.googleapis.com", "compute.googleapis.com", "iam.googleapis.com", "iap.googleapis.com", "monitoring.googleapis.com",
      "secretmanager.googleapis.com", "servicenetworking.googleapis.com", "sqladmin.googleapis.com", "storage.googleapis.com",
    ]);
    for (const s of services) expect(s.disable_on_destroy).toBe(false);
  });
  test("IAP API only in private mode", () => {
    const services = resourcesOf(synthStack(PUBLIC_PLAIN).json, "google_project_service").map(([, r]) => r.service);
    expect(services).not.toContain("iap.googleapis.com");
  });
  test("depends_on and replace_triggered_by hold plain addresses (Terraform rejects interpolations there)", () => {
    const withIap = synthStack({ access: { iapMembers: ["user:ada@example.com"] } }).json;
    let seen = 0;
    for (const rs of Object.values(withIap.resource)) {
      for (const r of Object.values(rs)) {
        for (const d of r.depends_on ?? []) {
          expect(d).toMatch(/^[a-z0-9_]+\.[A-Za-z0-9_-]+$/);
          seen++;
        }
        // replace_triggered_by: a resource, or one attribute of it (Terraform's lifecycle docs).
        for (const d of r.lifecycle?.replace_triggered_by ?? []) {
          expect(d).toMatch(/^[a-z0-9_]+\.[A-Za-z0-9_-]+(\.[a-z_]+)?$/);
          seen++;
        }
      }
    }
    expect(seen).toBeGreaterThan(50);
  });
  test("every resource waits for the APIs, and for them to settle", () => {
    for (const [type, rs] of Object.entries(json.resource)) {
      if (type === "google_project_service" || type === "random_password" || type === "time_sleep") continue;
      for (const [name, r] of Object.entries(rs)) {
        expect({ name, dependsOn: r.depends_on }).toEqual({ name, dependsOn: expect.arrayContaining(["time_sleep.ApiSettle"]) });
      }
    }
  });
  test("the settle step follows every API, waits 60 s once, and again only when the set of APIs changes", () => {
    const settle = onlyResource(json, "time_sleep");
    const services = resourcesOf(json, "google_project_service");
    expect(settle.create_duration).toBe("60s");
    expect(settle.destroy_duration).toBeUndefined();
    expect(settle.depends_on.sort()).toEqual(services.map(([name]) => `google_project_service.${name}`).sort());
    expect(Object.keys(settle.triggers).sort()).toEqual(services.map(([, s]) => s.service).sort());
    expect(json.provider.time).toHaveLength(1);
  });
});

describe("Cloud SQL", () => {
  const { json } = synthStack();
  const sql = onlyResource(json, "google_sql_database_instance");
  test("private IP only, TLS enforced", () => {
    expect(sql.settings.ip_configuration.ipv4_enabled).toBe(false);
    expect(sql.settings.ip_configuration.private_network).toBe("${google_compute_network.Network_1C6012B5.id}");
    expect(sql.settings.ip_configuration.ssl_mode).toBe("ENCRYPTED_ONLY");
    expect(sql.settings.ip_configuration.authorized_networks).toBeUndefined();
  });
  test("PostgreSQL 16 on the ENTERPRISE edition with a shared-core tier", () => {
    expect(sql.database_version).toBe("POSTGRES_16");
    expect(sql.settings.edition).toBe("ENTERPRISE");
    expect(sql.settings.tier).toBe("db-g1-small");
    expect(sql.settings.availability_type).toBe("ZONAL");
    expect(sql.settings.disk_size).toBe(10);
    expect(sql.settings.disk_type).toBe("PD_SSD");
    expect(sql.settings.disk_autoresize).toBe(true);
  });
  test("the private services connection is abandoned on destroy (Google releases it late)", () => {
    expect(onlyResource(json, "google_service_networking_connection").deletion_policy).toBe("ABANDON");
  });
  test("waits for the private services connection", () => {
    expect(sql.depends_on).toContain("google_service_networking_connection.Network_PrivateServicesAccess_7A621F73");
  });
  test("deletion protection in Terraform and in the API", () => {
    expect(sql.deletion_protection).toBe(true);
    expect(sql.settings.deletion_protection_enabled).toBe(true);
  });
  test("daily backups with point-in-time recovery", () => {
    expect(sql.settings.backup_configuration).toMatchObject({
      enabled: true,
      point_in_time_recovery_enabled: true,
      start_time: "03:00",
      transaction_log_retention_days: 7,
      backup_retention_settings: { retained_backups: 14, retention_unit: "COUNT" },
    });
  });
  test("database and user; the database is never dropped by Terraform", () => {
    expect(onlyResource(json, "google_sql_database")).toMatchObject({ name: "mlflow", deletion_policy: "ABANDON" });
    const user = onlyResource(json, "google_sql_user");
    expect(user.name).toBe("mlflow");
    expect(user.password).toBe("${random_password.Database_Password_Value_159A38AE.result}");
  });
  test("database options reach the instance", () => {
    const custom = onlyResource(synthStack({ database: { tier: "db-custom-2-7680", availabilityType: "REGIONAL", diskSizeGb: 50, databaseVersion: "POSTGRES_17", deletionProtection: false } }).json, "google_sql_database_instance");
    expect(custom.settings).toMatchObject({ tier: "db-custom-2-7680", availability_type: "REGIONAL", disk_size: 50, deletion_protection_enabled: false });
    expect(custom.database_version).toBe("POSTGRES_17");
    expect(custom.deletion_protection).toBe(false);
  });
});

describe("secrets", () => {
  const { json, text } = synthStack();
  test("generated passwords are alphanumeric and stored in Secret Manager, replicated in the stack's region only", () => {
    for (const [, p] of resourcesOf(json, "random_password")) expect(p).toMatchObject({ special: false, length: expect.any(Number) });
    const secrets = resourcesOf(json, "google_secret_manager_secret").map(([, s]) => s);
    expect(secrets.map((s) => s.secret_id).sort()).toEqual(["mlflow-admin-password", "mlflow-db-password", "mlflow-flask-secret-key"]);
    // Automatic replication needs the `global` location, which organization policies on
    // resource locations refuse (secret-manager/docs/choosing-replication).
    for (const s of secrets) expect(s.replication).toEqual({ user_managed: { replicas: [{ location: "europe-west1" }] } });
  });
  test("the server's service account can read exactly its three secrets, each granted on the secret", () => {
    const grants = resourcesOf(json, "google_secret_manager_secret_iam_member").map(([, g]) => g);
    expect(grants).toHaveLength(3);
    for (const g of grants) {
      expect(g.role).toBe("roles/secretmanager.secretAccessor");
      expect(g.member).toBe("serviceAccount:${google_service_account.Server_ServiceAccount_97513772.email}");
      expect(g.secret_id).toMatch(/^\$\{google_secret_manager_secret\.[A-Za-z0-9_]+\.secret_id\}$/);
    }
  });
  test("no secret value in metadata, the startup script or outputs", () => {
    const vm = onlyResource(json, "google_compute_instance");
    const exposed = JSON.stringify([vm.metadata, vm.metadata_startup_script, json.output]);
    expect(exposed).not.toMatch(/random_password\./);
    expect(exposed).not.toMatch(/secret_manager_secret_version\./);
    // random_password results appear only where they must: the SQL user and the secret versions
    const users = [...text.matchAll(/\$\{random_password\.[A-Za-z0-9_]+\.result\}/g)].length;
    expect(users).toBe(4);
  });
});

describe("artifact bucket", () => {
  const { json } = synthStack();
  const bucket = onlyResource(json, "google_storage_bucket");
  test("private, uniform, versioned, not force-destroyed", () => {
    expect(bucket).toMatchObject({
      name: "acme-ml-prod-mlflow-artifacts",
      location: "EUROPE-WEST1",
      uniform_bucket_level_access: true,
      public_access_prevention: "enforced",
      force_destroy: false,
      versioning: { enabled: true },
    });
  });
  test("old noncurrent versions expire; incomplete uploads are cleaned up", () => {
    expect(bucket.lifecycle_rule).toEqual([
      { action: { type: "Delete" }, condition: { days_since_noncurrent_time: 30, with_state: "ARCHIVED" } },
      { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: 7 } },
    ]);
  });
  test("only the server's service account gets object access, on this bucket only", () => {
    const grant = onlyResource(json, "google_storage_bucket_iam_member");
    expect(grant).toEqual(expect.objectContaining({
      bucket: "${google_storage_bucket.ArtifactStore_8A81FDFB.name}",
      role: "roles/storage.objectUser",
      member: "serviceAccount:${google_service_account.Server_ServiceAccount_97513772.email}",
    }));
  });
});

describe("service account", () => {
  const { json } = synthStack();
  test("dedicated account, never the default compute one", () => {
    expect(onlyResource(json, "google_service_account").account_id).toBe("mlflow-server");
    const vm = onlyResource(json, "google_compute_instance");
    expect(vm.service_account).toEqual({ email: "${google_service_account.Server_ServiceAccount_97513772.email}", scopes: ["cloud-platform"] });
  });
  test("project-wide roles: log and metric writer, and the custom backup role", () => {
    const roles = resourcesOf(json, "google_project_iam_member").map(([, r]) => r.role).sort();
    expect(roles).toEqual(["projects/acme-ml-prod/roles/mlflow_sql_backup", "roles/logging.logWriter", "roles/monitoring.metricWriter"]);
  });
});

describe("VM", () => {
  const { json } = synthStack();
  const vm = onlyResource(json, "google_compute_instance");
  test("machine, image, disk", () => {
    expect(vm).toMatchObject({ name: "mlflow-server", machine_type: "e2-medium", zone: "europe-west1-b" });
    expect(vm.boot_disk.initialize_params).toMatchObject({ image: "debian-cloud/debian-12", size: 20 });
  });
  test("shielded VM with secure boot, OS Login, no project-wide SSH keys", () => {
    expect(vm.shielded_instance_config).toEqual({ enable_secure_boot: true, enable_vtpm: true, enable_integrity_monitoring: true });
    expect(vm.metadata).toEqual({ "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE" });
  });
  test("waits for the database, its user and every secret value (the first boot reads them)", () => {
    expect(vm.depends_on).toEqual(expect.arrayContaining([
      "google_sql_database.Database_3B28CBDB",
      "google_sql_user.Database_User_739A4C21",
      "google_secret_manager_secret_version.Database_Password_Version_9902D26E",
      "google_secret_manager_secret_version.Server_AdminPassword_Version_4A81CABA",
      "google_secret_manager_secret_version.Server_FlaskSecretKey_Version_7A76E743",
    ]));
  });
  test("private mode: no external IP; waits for NAT and for its grants", () => {
    expect(vm.network_interface).toEqual([{
      subnetwork: "${google_compute_subnetwork.Network_Subnetwork_36DAE8DB.id}",
      network_ip: "${google_compute_address.Server_InternalAddress_52C75BA8.address}",
    }]);
    expect(vm.depends_on).toEqual(expect.arrayContaining([
      "google_compute_router_nat.Network_Nat_3769BF30",
      "google_storage_bucket_iam_member.ArtifactStore_ObjectUser0_C40CCC77",
      "google_secret_manager_secret_iam_member.Database_Password_Accessor0_64029EA8",
    ]));
  });
  test("the startup script is metadata_startup_script (a change replaces the VM)", () => {
    expect(vm.metadata_startup_script).toContain("#!/bin/bash");
    expect(vm.metadata["startup-script"]).toBeUndefined();
  });
  test("public mode: a static external IP on the interface", () => {
    const pub = synthStack(PUBLIC_PLAIN).json;
    const address = pub.resource.google_compute_address.Server_Address_A4786078;
    expect(address).toMatchObject({ name: "mlflow-ip", address_type: "EXTERNAL", region: "europe-west1", network_tier: "PREMIUM" });
    expect(onlyResource(pub, "google_compute_instance").network_interface[0].access_config).toEqual([
      { nat_ip: "${google_compute_address.Server_Address_A4786078.address}", network_tier: "PREMIUM" },
    ]);
    expect(pub.resource.google_compute_router_nat).toBeUndefined();
  });
  test("server options reach the VM", () => {
    const vm2 = onlyResource(synthStack({ server: { machineType: "e2-standard-2", bootDiskSizeGb: 30, bootImage: "debian-cloud/debian-12", port: 8080, workers: 3 } }).json, "google_compute_instance");
    expect(vm2.machine_type).toBe("e2-standard-2");
    expect(vm2.boot_disk.initialize_params.size).toBe(30);
  });
});

function firewalls(json: TfJson): Record<string, any> {
  return Object.fromEntries(resourcesOf(json, "google_compute_firewall").map(([, f]) => [f.name, f]));
}

describe("firewall", () => {
  test("private mode: IAP range to SSH and the MLflow port, the subnet to the MLflow port, nothing else", () => {
    const fw = firewalls(synthStack().json);
    expect(Object.keys(fw).sort()).toEqual(["mlflow-allow-iap", "mlflow-allow-internal", "mlflow-deny-ssh"]);
    expect(fw["mlflow-allow-iap"]).toMatchObject({
      direction: "INGRESS", source_ranges: [IAP_TCP_FORWARDING_RANGE], target_tags: ["mlflow-server"],
      allow: [{ protocol: "tcp", ports: ["22", "5000"] }], priority: 900,
    });
    expect(fw["mlflow-allow-internal"]).toMatchObject({
      source_ranges: ["${google_compute_subnetwork.Network_Subnetwork_36DAE8DB.ip_cidr_range}"],
      allow: [{ protocol: "tcp", ports: ["5000"] }],
    });
  });
  test("public mode: allowed ranges to the MLflow port; SSH still only through IAP", () => {
    const fw = firewalls(synthStack(PUBLIC_PLAIN).json);
    expect(fw["mlflow-allow-mlflow"]).toMatchObject({ source_ranges: ["203.0.113.0/24"], allow: [{ protocol: "tcp", ports: ["5000"] }] });
    expect(fw["mlflow-allow-iap"]).toMatchObject({ source_ranges: [IAP_TCP_FORWARDING_RANGE], allow: [{ protocol: "tcp", ports: ["22"] }] });
  });
  test.each([["private", {}], ["public", PUBLIC_PLAIN], ["existing network", EXISTING_NETWORK]])("%s: nothing is open to the world", (_n, props) => {
    for (const f of Object.values(firewalls(synthStack(props).json))) {
      if (f.allow) expect(f.source_ranges).not.toContain("0.0.0.0/0");
      expect(f.target_tags).toEqual(["mlflow-server"]);
    }
  });
  test("SSH from anywhere else is denied for this VM, below the IAP rule (the default network allows it)", () => {
    const fw = firewalls(synthStack(EXISTING_NETWORK).json);
    expect(fw["mlflow-deny-ssh"]).toMatchObject({
      direction: "INGRESS", priority: 1000, source_ranges: ["0.0.0.0/0"], target_tags: ["mlflow-server"],
      deny: [{ protocol: "tcp", ports: ["22"] }],
    });
    expect(fw["mlflow-deny-ssh"].allow).toBeUndefined();
    expect(fw["mlflow-allow-iap"].priority).toBeLessThan(fw["mlflow-deny-ssh"].priority);
  });
  test("internalSourceRanges replace the subnetwork as internal clients", () => {
    const fw = firewalls(synthStack({ access: { internalSourceRanges: ["10.0.0.0/8", "100.64.0.0/10"] } }).json);
    expect(fw["mlflow-allow-internal"]).toMatchObject({ source_ranges: ["10.0.0.0/8", "100.64.0.0/10"], allow: [{ protocol: "tcp", ports: ["5000"] }] });
  });
});

describe("IAP access", () => {
  test("iapMembers get the tunnel role and instance read access, on this VM only", () => {
    const { json } = synthStack({ access: { iapMembers: ["group:ml@example.com", "user:ada@example.com"] } });
    const tunnel = resourcesOf(json, "google_iap_tunnel_instance_iam_member").map(([, r]) => r);
    expect(tunnel.map((t) => t.member)).toEqual(["group:ml@example.com", "user:ada@example.com"]);
    for (const t of tunnel) {
      expect(t).toMatchObject({ role: "roles/iap.tunnelResourceAccessor", instance: "${google_compute_instance.Server_7E7D21FA.name}", zone: "europe-west1-b" });
    }
    // A replaced VM starts with an empty IAM policy: the grants are recreated with it.
    for (const t of tunnel) expect(t.lifecycle).toEqual({ replace_triggered_by: ["google_compute_instance.Server_7E7D21FA"] });
    const viewers = resourcesOf(json, "google_compute_instance_iam_member").map(([, r]) => r);
    for (const v of viewers) expect(v.lifecycle).toEqual({ replace_triggered_by: ["google_compute_instance.Server_7E7D21FA"] });
    expect(viewers.map((v) => [v.role, v.instance_name])).toEqual([
      ["roles/compute.viewer", "${google_compute_instance.Server_7E7D21FA.name}"],
      ["roles/compute.viewer", "${google_compute_instance.Server_7E7D21FA.name}"],
    ]);
  });
});

describe("outputs", () => {
  test("private mode", () => {
    const { json } = synthStack();
    expect(Object.keys(json.output).sort()).toEqual([
      "admin_password_secret", "artifact_bucket", "database_instance", "iap_tunnel_command", "internal_tracking_uri", "server_instance", "server_zone",
      "teardown_commands", "tracking_uri",
    ]);
    // Locally not port 5000: macOS's AirPlay Receiver listens there.
    expect(json.output.tracking_uri.value).toBe("http://localhost:5050");
    expect(json.output.iap_tunnel_command.value).toBe(
      "gcloud compute start-iap-tunnel ${google_compute_instance.Server_7E7D21FA.name} 5000 --local-host-port=localhost:5050 --zone=europe-west1-b --project=acme-ml-prod",
    );
    expect(json.output.internal_tracking_uri.value).toBe("http://${google_compute_address.Server_InternalAddress_52C75BA8.address}:5000");
    expect(json.output.admin_password_secret.value).toBe("mlflow-admin-password");
    expect(json.output.artifact_bucket.value).toBe("${google_storage_bucket.ArtifactStore_8A81FDFB.name}");
    expect(json.output.database_instance.value).toBe("${google_sql_database_instance.Database_B269D8BB.name}");
    expect(json.output.server_zone.value).toBe("europe-west1-b");
    for (const o of Object.values(json.output)) expect(JSON.stringify(o)).not.toMatch(/random_password|secret_data/);
  });
  test("public mode: the static IP, no tunnel command", () => {
    const { json } = synthStack(PUBLIC_PLAIN);
    expect(json.output.tracking_uri.value).toBe("http://${google_compute_address.Server_Address_A4786078.address}:5000");
    expect(json.output.iap_tunnel_command).toBeUndefined();
  });
  test("basic auth off: no admin secret", () => {
    const { json } = synthStack({ auth: { basicAuth: false } });
    expect(json.output.admin_password_secret.value).toBe("");
    expect(resourcesOf(json, "google_secret_manager_secret").map(([, s]) => s.secret_id)).toEqual(["mlflow-db-password"]);
    expect(vmScript(json)).not.toContain("--app-name basic-auth");
    expect(vmScript(json)).toContain("BASIC_AUTH=false");
  });
});

describe("naming and labels", () => {
  test("namePrefix prefixes every name; labels reach every labelled resource", () => {
    const { json } = synthStack({ namePrefix: "team-a", labels: { team: "a", env: "prod" } });
    expect(onlyResource(json, "google_compute_instance").name).toBe("team-a-server");
    expect(onlyResource(json, "google_sql_database_instance").name).toBe("team-a-db");
    expect(onlyResource(json, "google_storage_bucket").name).toBe("acme-ml-prod-team-a-artifacts");
    expect(onlyResource(json, "google_service_account").account_id).toBe("team-a-server");
    expect(onlyResource(json, "google_compute_instance").labels).toEqual({ team: "a", env: "prod" });
    expect(onlyResource(json, "google_storage_bucket").labels).toEqual({ team: "a", env: "prod" });
    expect(onlyResource(json, "google_sql_database_instance").settings.user_labels).toEqual({ team: "a", env: "prod" });
    for (const [, s] of resourcesOf(json, "google_secret_manager_secret")) expect(s.labels).toEqual({ team: "a", env: "prod" });
  });
  test("the synthesized JSON is the same on every run (no random names, no timestamps)", () => {
    expect(synthStack().text).toBe(synthStack().text);
  });
});

describe("existing network", () => {
  const { json } = synthStack(EXISTING_NETWORK);
  test("no new VPC or subnet; the existing subnet is read for its range", () => {
    expect(json.resource.google_compute_network).toBeUndefined();
    expect(json.resource.google_compute_subnetwork).toBeUndefined();
    expect(Object.values(json.data!.google_compute_subnetwork)[0]).toMatchObject({ name: "default", region: "europe-west1", project: "acme-ml-prod" });
  });
  test("Cloud SQL peers with the existing network", () => {
    expect(onlyResource(json, "google_sql_database_instance").settings.ip_configuration.private_network).toBe("projects/acme-ml-prod/global/networks/default");
    expect(onlyResource(json, "google_service_networking_connection").network).toBe("projects/acme-ml-prod/global/networks/default");
  });
  test("the firewall uses the existing network and its subnet's range", () => {
    const fw = firewalls(json);
    expect(fw["mlflow-allow-internal"].network).toBe("default");
    expect(fw["mlflow-allow-internal"].source_ranges[0]).toMatch(/^\$\{data\.google_compute_subnetwork\.[A-Za-z0-9_]+\.ip_cidr_range\}$/);
  });
  test("NAT covers only our subnet", () => {
    const nat = onlyResource(json, "google_compute_router_nat");
    expect(nat.source_subnetwork_ip_ranges_to_nat).toBe("LIST_OF_SUBNETWORKS");
    expect(nat.subnetwork).toHaveLength(1);
  });
});

describe("existing network that already has private services access and NAT", () => {
  const { json } = synthStack({
    network: { existingNetwork: "default", existingSubnetwork: "default", createPrivateServicesAccess: false, enableNat: false },
  });
  test("neither is created again", () => {
    expect(json.resource.google_service_networking_connection).toBeUndefined();
    expect(json.resource.google_compute_global_address).toBeUndefined();
    expect(json.resource.google_compute_router).toBeUndefined();
    expect(json.resource.google_compute_router_nat).toBeUndefined();
  });
  test("Cloud SQL still gets a private IP on that network, without a dependency on our peering", () => {
    const sql = onlyResource(json, "google_sql_database_instance");
    expect(sql.settings.ip_configuration).toMatchObject({ ipv4_enabled: false, private_network: "projects/acme-ml-prod/global/networks/default" });
    expect(JSON.stringify(sql.depends_on)).not.toContain("service_networking");
    expect(JSON.stringify(onlyResource(json, "google_compute_instance").depends_on)).not.toContain("router_nat");
  });
});
