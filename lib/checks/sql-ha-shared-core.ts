// MLF-SQL-HA-SHARED-CORE: high availability (REGIONAL: a standby in a second zone, about
// twice the price) on a shared-core tier pays for a failover that Cloud SQL's SLA does not
// cover: "Only Cloud SQL instances configured for high availability with at least one
// dedicated CPU are covered by the Cloud SQL SLA. Shared-core instances and single-zone
// instances are not covered by the SLA."
// (https://cloud.google.com/sql/docs/postgres/operational-guidelines, General configuration requirements)
//
// A warning: the combination works and fails over; it is the cost without the guarantee that
// the user should decide on knowingly.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { at, isReference } from "./private/json";
import { SHARED_CORE_TIERS } from "../private/cloud-sql-versions";

export const sqlHaSharedCore: MlflowRule = {
  id: "MLF-SQL-HA-SHARED-CORE",
  level: "warning",
  title: "Cloud SQL high availability (REGIONAL) runs on a tier with a dedicated vCPU",
  why: "REGIONAL adds a standby in a second zone and about doubles the instance's price, but Cloud SQL's SLA covers only high-availability instances with at least one dedicated CPU; on db-f1-micro or db-g1-small the extra cost buys no SLA.",
  howToFix: 'Use a dedicated-core tier with REGIONAL (database.tier "db-custom-1-3840" or larger), or keep database.availabilityType "ZONAL" on a shared-core tier.',
  resourceTypes: ["google_sql_database_instance"],
  check(resource) {
    const availability = at(resource.config, "settings.availability_type");
    const tier = at(resource.config, "settings.tier");
    if (isReference(availability)) return notCheckable("settings.availability_type");
    // ZONAL (or unset, Cloud SQL's default) pays for no standby: nothing to weigh.
    if (availability !== "REGIONAL") return compliant();
    if (isReference(tier)) return notCheckable("settings.tier");
    return typeof tier === "string" && SHARED_CORE_TIERS.includes(tier)
      ? nonCompliant(`availability_type REGIONAL on shared-core tier ${tier}`)
      : compliant();
  },
};
