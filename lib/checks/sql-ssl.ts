// MLF-SQL-SSL: the database password and every MLflow query cross the network between the
// VM and Cloud SQL; Cloud SQL must refuse unencrypted connections.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { at, isReference } from "./private/json";

/** ssl_mode values that refuse unencrypted connections. */
const ENCRYPTED = ["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"];

export const sqlSsl: MlflowRule = {
  id: "MLF-SQL-SSL",
  level: "error",
  title: "Cloud SQL accepts only encrypted connections",
  why: "With ALLOW_UNENCRYPTED_AND_ENCRYPTED (Cloud SQL's default) a client that does not ask for TLS sends the database password and MLflow's data in clear inside the VPC.",
  howToFix: 'Set settings.ip_configuration.ssl_mode = "ENCRYPTED_ONLY" (MlflowDatabase does; the server connects with sslmode=verify-ca) or "TRUSTED_CLIENT_CERTIFICATE_REQUIRED".',
  resourceTypes: ["google_sql_database_instance"],
  check(resource) {
    const mode = at(resource.config, "settings.ip_configuration.ssl_mode");
    if (isReference(mode)) return notCheckable("settings.ip_configuration.ssl_mode");
    if (typeof mode === "string" && ENCRYPTED.includes(mode)) return compliant();
    return nonCompliant(mode === undefined
      ? "settings.ip_configuration.ssl_mode is not set, and Cloud SQL then accepts unencrypted connections"
      : `settings.ip_configuration.ssl_mode is ${JSON.stringify(mode)}`);
  },
};
