// Cloud SQL major versions and the dates their support changes: regular support, then paid
// extended support (billed on top of the instance, Cloud SQL enrols instances automatically),
// then deprecation. From Cloud SQL's "Database versions and version policies" pages, read
// 2026-11: https://cloud.google.com/sql/docs/postgres/db-versions (PostgreSQL) and
// https://cloud.google.com/sql/docs/mysql/db-versions (MySQL); extended support and its
// pricing: https://cloud.google.com/sql/docs/postgres/extended-support.

export interface CloudSqlVersionSupport {
  /** First day of paid extended support (YYYY-MM-DD). */
  readonly extendedSupportStarts: string;
  /** Deprecation: the end of extended support (YYYY-MM-DD). */
  readonly deprecated: string;
}

/** By `database_version` value, or by its prefix for MySQL 8.0 minor versions (MYSQL_8_0_*). */
export const CLOUD_SQL_VERSION_SUPPORT: Readonly<Record<string, CloudSqlVersionSupport>> = {
  POSTGRES_9_6: { extendedSupportStarts: "2025-02-01", deprecated: "2028-02-01" },
  POSTGRES_10: { extendedSupportStarts: "2025-02-01", deprecated: "2028-02-01" },
  POSTGRES_11: { extendedSupportStarts: "2025-02-01", deprecated: "2028-02-01" },
  POSTGRES_12: { extendedSupportStarts: "2025-02-01", deprecated: "2028-02-01" },
  POSTGRES_13: { extendedSupportStarts: "2026-02-01", deprecated: "2029-02-01" },
  POSTGRES_14: { extendedSupportStarts: "2027-02-01", deprecated: "2030-02-01" },
  POSTGRES_15: { extendedSupportStarts: "2028-02-01", deprecated: "2031-02-01" },
  POSTGRES_16: { extendedSupportStarts: "2029-02-01", deprecated: "2032-02-01" },
  POSTGRES_17: { extendedSupportStarts: "2030-02-01", deprecated: "2033-02-01" },
  MYSQL_5_6: { extendedSupportStarts: "2025-02-01", deprecated: "2028-02-01" },
  MYSQL_5_7: { extendedSupportStarts: "2025-02-01", deprecated: "2028-02-01" },
  MYSQL_8_0: { extendedSupportStarts: "2026-07-01", deprecated: "2029-07-01" },
};

/** The support dates of a database_version value, if known. */
export function versionSupport(version: string): CloudSqlVersionSupport | undefined {
  return CLOUD_SQL_VERSION_SUPPORT[version] ?? (version.startsWith("MYSQL_8_0_") ? CLOUD_SQL_VERSION_SUPPORT.MYSQL_8_0 : undefined);
}

/** Shared-core tiers: no dedicated vCPU (https://cloud.google.com/sql/docs/postgres/instance-settings). */
export const SHARED_CORE_TIERS = ["db-f1-micro", "db-g1-small"];

/** "February 1, 2026" for "2026-02-01". */
export function longDate(isoDate: string): string {
  const [y, m, d] = isoDate.split("-").map(Number);
  const month = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"][m - 1];
  return `${month} ${d}, ${y}`;
}
