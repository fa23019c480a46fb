// Round-1 deployments exist: a deploy of this release must keep the Terraform address of
// every stateful resource they have, or Terraform destroys and re-creates it. Above all the
// generated passwords: a re-created random_password gives the admin a new password in Secret
// Manager while MLflow keeps the old one (it creates the admin once), which locks them out.
// The addresses below were read from the first release's synthesized stacks; a test that
// fails here means a change would replace real infrastructure (use moveTo, or keep the id).
import { Fn } from "cdktf";
import { synthStack, TfJson } from "./helpers";
import { MlflowTrackingStackProps } from "../lib";

/** Stateful resources of round 1, per scenario (data, identities, generated values, addresses). */
const ROUND_1: Array<[string, Partial<MlflowTrackingStackProps>, string[]]> = [
  ["private default", {}, [
    "google_compute_network.Network_1C6012B5",
    "google_compute_subnetwork.Network_Subnetwork_36DAE8DB",
    "google_compute_global_address.Network_PrivateServicesRange_D5212869",
    "google_service_networking_connection.Network_PrivateServicesAccess_7A621F73",
    "google_sql_database_instance.Database_B269D8BB",
    "google_sql_database.Database_3B28CBDB",
    "google_sql_user.Database_User_739A4C21",
    "random_password.Database_Password_Value_159A38AE",
    "google_secret_manager_secret.Database_Password_246019AA",
    "google_secret_manager_secret_version.Database_Password_Version_9902D26E",
    "random_password.Server_AdminPassword_Value_B28B43C7",
    "google_secret_manager_secret.Server_AdminPassword_A3A20D62",
    "google_secret_manager_secret_version.Server_AdminPassword_Version_4A81CABA",
    "random_password.Server_FlaskSecretKey_Value_B3601A14",
    "google_secret_manager_secret.Server_FlaskSecretKey_3DFA3089",
    "google_secret_manager_secret_version.Server_FlaskSecretKey_Version_7A76E743",
    "google_service_account.Server_ServiceAccount_97513772",
    "google_storage_bucket.ArtifactStore_8A81FDFB",
  ]],
  ["public with a domain", { access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], domain: "mlflow.example.com", dnsZone: "example-com" } }, [
    "google_compute_address.Server_Address_A4786078",
    "google_dns_record_set.Server_DnsRecord_0AA5B2D6",
  ]],
];

function addresses(json: TfJson): Set<string> {
  return new Set(Object.entries(json.resource).flatMap(([type, rs]) => Object.keys(rs).map((name) => `${type}.${name}`)));
}

describe.each(ROUND_1)("%s: round-1 stateful resources keep their addresses", (_name, props, expected) => {
  const found = addresses(synthStack(props).json);
  test.each(expected)("%s", (address) => {
    expect(found.has(address)).toBe(true);
  });
});

test("the generated passwords keep their settings (a changed length or character set would re-create them)", () => {
  const { json } = synthStack();
  // depends_on only orders operations; it never re-creates a resource.
  const settings = Object.fromEntries(Object.entries(json.resource.random_password).map(([name, { depends_on: _, ...rest }]) => [name, rest]));
  expect(settings).toEqual({
    Database_Password_Value_159A38AE: { length: 32, special: false, min_lower: 1, min_upper: 1, min_numeric: 1 },
    Server_AdminPassword_Value_B28B43C7: { length: 32, special: false, min_lower: 1, min_upper: 1, min_numeric: 1 },
    Server_FlaskSecretKey_Value_B3601A14: { length: 48, special: false, min_lower: 1, min_upper: 1, min_numeric: 1 },
  });
});

describe("per-member IAM bindings: named after the member, moved from 0.1.0's place numbers", () => {
  const A = "group:ml-team@example.com", B = "user:ada@example.com", C = "user:grace@example.com";
  const BINDING_TYPES = [
    "google_iap_tunnel_instance_iam_member", "google_compute_instance_iam_member", "google_service_account_iam_member",
    "google_iap_web_cloud_run_service_iam_member", "google_cloud_run_v2_service_iam_member",
  ];
  /** Every per-member binding: address → "role member". */
  function bindings(json: TfJson): Map<string, string> {
    return new Map(BINDING_TYPES.flatMap((type) => Object.entries(json.resource[type] ?? {})
      .filter(([, r]) => typeof r.member === "string" && r.member.includes("@example.com"))
      .map(([name, r]) => [`${type}.${name}`, `${r.role} ${r.member}`] as [string, string])));
  }
  const movedOf = (json: TfJson) => json.moved ?? [];

  test("0.1.0's tunnel bindings get no moved block: they are replaced with the VM on that upgrade", () => {
    // 0.1.0 named them IapTunnelUser<n> and InstanceViewer<n> (synthesized at 4997603); the
    // old ones are deleted before the old VM (they refer to it), the new ones created after
    // the new VM (replace_triggered_by), so no create comes before a delete of the same grant.
    const { json } = synthStack({ access: { mode: "private", iapMembers: [A, B] } });
    expect(movedOf(json)).toEqual([]);
    const vm = Object.keys(json.resource.google_compute_instance)[0];
    for (const type of ["google_iap_tunnel_instance_iam_member", "google_compute_instance_iam_member"]) {
      for (const r of Object.values<any>(json.resource[type])) expect(r.lifecycle).toEqual({ replace_triggered_by: [`google_compute_instance.${vm}`] });
    }
  });

  test("the same member twice (or in another case) is refused: both bindings would be one grant", () => {
    expect(() => synthStack({ access: { mode: "private", iapMembers: [A, B, B.toUpperCase().replace("USER:", "user:")] } }))
      .toThrow(/access\.iapMembers\[2\][\s\S]*a member not already in the list/);
    expect(() => synthStack({ access: { mode: "private", iapMembers: [A], adminMembers: [C, C] } })).toThrow(/access\.adminMembers\[1\]/);
    expect(() => synthStack({ server: { kind: "cloud-run" }, access: { iapMembers: [A, A] } })).toThrow(/access\.iapMembers\[1\]/);
  });

  test.each<[string, (members: string[]) => Partial<MlflowTrackingStackProps>]>([
    ["VM, tunnel users", (m) => ({ access: { mode: "private", iapMembers: m } })],
    ["VM, administrators", (m) => ({ access: { mode: "private", iapMembers: [A], adminMembers: m } })],
    ["Cloud Run, IAP users", (m) => ({ server: { kind: "cloud-run" }, access: { iapMembers: m } })],
    ["Cloud Run, invokers", (m) => ({ server: { kind: "cloud-run" }, access: { mode: "internal", invokerMembers: m.map((x) => x.replace(/^(user|group):/, "serviceAccount:")) } })],
  ])("%s: removing the first member leaves every other member's bindings where they are", (_name, props) => {
    // With place numbers, B's bindings would move to A's addresses: Terraform may create them
    // there before it deletes the old ones of the same member and role, and the delete
    // removes B's access until the next deploy.
    const before = bindings(synthStack(props([A, B, C])).json);
    const after = bindings(synthStack(props([B, C])).json);
    expect(after.size).toBeGreaterThan(0);
    for (const [address, grant] of after) expect([address, before.get(address)]).toEqual([address, grant]);
    // Only the first member's grants go.
    const gone = [...before.values()].filter((g) => ![...after.values()].includes(g));
    expect(gone.length).toBeGreaterThan(0);
    expect(gone.filter((g) => !g.includes("ml-team@example.com"))).toEqual([]);
  });

  test("a member known only at apply keeps its place number, the address 0.1.0 gave it: no moved block", () => {
    const { json } = synthStack({ access: { mode: "private", iapMembers: [Fn.lower(B)] } });
    expect(movedOf(json)).toEqual([]);
    expect(Object.keys(json.resource.google_iap_tunnel_instance_iam_member)).toEqual(["Server_IapTunnelUser0_25850050"]);
  });

  test("bindings that 0.1.0 did not have (administrators, Cloud Run) get no moved block", () => {
    expect(movedOf(synthStack({ access: { mode: "private", iapMembers: [], adminMembers: [A, B] } }).json)).toEqual([]);
    expect(movedOf(synthStack({ server: { kind: "cloud-run" }, access: { iapMembers: [A, B] } }).json)).toEqual([]);
  });
});
