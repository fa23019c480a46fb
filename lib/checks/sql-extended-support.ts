// MLF-SQL-EXTENDED-SUPPORT: a Cloud SQL instance on a major version in paid extended support
// (or entering it within 180 days) costs extra every hour, on top of the instance, and gets
// no new features; the warning names the date (table and sources: lib/private/cloud-sql-versions.ts).
//
// A warning: the version works, and an upgrade is a planned step (a major-version upgrade of
// Cloud SQL, after a backup), not something synth should block.
import { MlflowRule, compliant, nonCompliant, notApplicable, notCheckable } from "./rule";
import { isReference } from "./private/json";
import { longDate, versionSupport } from "../private/cloud-sql-versions";

/** How far ahead the coming start of extended support is announced. */
const NOTICE_DAYS = 180;

const dayNumber = (isoDate: string) => Math.floor(Date.parse(`${isoDate}T00:00:00Z`) / 86_400_000);

export const sqlExtendedSupport: MlflowRule = {
  id: "MLF-SQL-EXTENDED-SUPPORT",
  level: "warning",
  title: "Cloud SQL runs a major version in regular support, not paid extended support",
  why: "Once the database engine's community ends support for a major version, Cloud SQL enrols every instance of it in extended support, billed per vCPU-hour on top of the instance, with security fixes only and a deprecation date after which the version is gone.",
  howToFix: 'Choose a current version (database.databaseVersion, e.g. "POSTGRES_16") for a new instance; for an existing one, take a backup and run a Cloud SQL major-version upgrade, then set the new version.',
  resourceTypes: ["google_sql_database_instance"],
  check(resource, facts) {
    const version = resource.config.database_version;
    if (isReference(version)) return notCheckable("database_version");
    if (typeof version !== "string") return notApplicable("no database_version");
    const support = versionSupport(version);
    if (support === undefined) return compliant();
    if (facts.today === undefined) return notApplicable("no date to compare with (facts.today)");
    const today = dayNumber(facts.today);
    const starts = dayNumber(support.extendedSupportStarts);
    if (today >= dayNumber(support.deprecated)) {
      return nonCompliant(`${version} has been deprecated on Cloud SQL since ${longDate(support.deprecated)}`);
    }
    if (today >= starts) {
      return nonCompliant(`${version} has been in paid extended support since ${longDate(support.extendedSupportStarts)}, until its deprecation on ${longDate(support.deprecated)}`);
    }
    if (starts - today <= NOTICE_DAYS) {
      return nonCompliant(`${version} enters paid extended support on ${longDate(support.extendedSupportStarts)} (in ${starts - today} days)`);
    }
    return compliant();
  },
};
