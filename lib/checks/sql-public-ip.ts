// MLF-SQL-PUBLIC-IP: the backend store holds every run, parameter and user of MLflow; it
// must not listen on a public address.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { at, bool } from "./private/json";

export const sqlPublicIp: MlflowRule = {
  id: "MLF-SQL-PUBLIC-IP",
  level: "error",
  title: "Cloud SQL has no public IPv4 address",
  why: "A public IP puts the database login on the internet; clients in the VPC need only the private IP (an MLflow backend store has a single client, its tracking server).",
  howToFix: "Set settings.ip_configuration.ipv4_enabled = false and give the instance a private_network (MlflowDatabase does both; remove any addOverride that turns ipv4_enabled on).",
  resourceTypes: ["google_sql_database_instance"],
  check(resource) {
    const enabled = bool(at(resource.config, "settings.ip_configuration.ipv4_enabled"));
    if (enabled === "reference") return notCheckable("settings.ip_configuration.ipv4_enabled");
    if (enabled === false) return compliant();
    return nonCompliant(enabled === true
      ? "settings.ip_configuration.ipv4_enabled is true"
      : "settings.ip_configuration.ipv4_enabled is not set, and the provider's default is true");
  },
};
