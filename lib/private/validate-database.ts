// The rules of the `database` options (MlflowDatabaseOptions), run by MlflowTrackingStack and
// by MlflowDatabase on its own (constructs/database.ts delegates here). Cloud SQL choices that
// cost money without breaking anything (a version in paid extended support, high availability
// on a shared-core tier) are MlflowChecks warnings, not validation errors: see
// lib/checks/sql-extended-support.ts and lib/checks/sql-ha-shared-core.ts.
import type { MlflowDatabaseOptions } from "../../constructs/database";
import { POSTGRES_VERSIONS, SQL_TIER, Validator, intRange, oneOf } from "../validation";
import { ShapeFields, boolean, number, object, openObject, string } from "./shape";

export const DATABASE_OPTIONS_FIELDS: ShapeFields<MlflowDatabaseOptions> = {
  tier: string(),
  databaseVersion: string(),
  availabilityType: string(),
  diskSizeGb: number(),
  deletionProtection: boolean(),
  databaseName: string(),
  userName: string(),
  maintenanceDay: number(),
  maintenanceHour: number(),
  maxConnections: number(),
};
/** The `database` prop of MlflowTrackingStack. */
export const DATABASE_OPTIONS = object("the database options", DATABASE_OPTIONS_FIELDS);

/** PostgreSQL identifiers we accept for the database and the user: plain, lowercase. */
const PG_IDENTIFIER = {
  test: (v: string) => /^[a-z_][a-z0-9_]{0,62}$/.test(v) && !["postgres", "cloudsqlsuperuser", "cloudsqladmin"].includes(v),
  expected: "a lowercase PostgreSQL identifier (letters, digits, underscores; up to 63; not a reserved Cloud SQL name)",
};

/** Checks the `database` options; adds every problem to `v`. */
export function checkDatabaseOptions(v: Validator, rawProps: MlflowDatabaseOptions): void {
  const props = v.typed("database", rawProps, openObject(DATABASE_OPTIONS)) ?? {};
  v.check("database.tier", props.tier, SQL_TIER.test, SQL_TIER.expected);
  v.check("database.databaseVersion", props.databaseVersion, oneOf(POSTGRES_VERSIONS).test, `${oneOf(POSTGRES_VERSIONS).expected} (MLflow needs PostgreSQL)`);
  v.check("database.availabilityType", props.availabilityType, oneOf(["ZONAL", "REGIONAL"]).test, oneOf(["ZONAL", "REGIONAL"]).expected);
  v.check("database.diskSizeGb", props.diskSizeGb, intRange(10, 65536).test, intRange(10, 65536).expected);
  v.check("database.databaseName", props.databaseName, PG_IDENTIFIER.test, PG_IDENTIFIER.expected);
  v.check("database.userName", props.userName, PG_IDENTIFIER.test, PG_IDENTIFIER.expected);
  v.check("database.maintenanceDay", props.maintenanceDay, intRange(1, 7).test, `${intRange(1, 7).expected} (1 is Monday, 7 Sunday)`);
  v.check("database.maintenanceHour", props.maintenanceHour, intRange(0, 23).test, `${intRange(0, 23).expected} (UTC)`);
  // Cloud SQL for PostgreSQL accepts 14 to 262143 (cloud.google.com/sql/docs/postgres/flags).
  v.check("database.maxConnections", props.maxConnections, intRange(14, 262143).test, intRange(14, 262143).expected);
}
