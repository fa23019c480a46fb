// Round-1 deployments exist: a deploy of this release must keep the Terraform address of
// every stateful resource they have, or Terraform destroys and re-creates it. Above all the
// generated passwords: a re-created random_password gives the admin a new password in Secret
// Manager while MLflow keeps the old one (it creates the admin once), which locks them out.
// The addresses below were read from the first release's synthesized stacks; a test that
// fails here means a change would replace real infrastructure (use moveTo, or keep the id).
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
