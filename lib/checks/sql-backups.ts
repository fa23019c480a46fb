// MLF-SQL-BACKUPS: a bad migration (`mlflow db upgrade` cannot always be undone) or a wrong
// delete must be recoverable to the minute before it happened.
import { MlflowRule, compliant, nonCompliant, notApplicable, notCheckable } from "./rule";
import { at, bool, isReference } from "./private/json";

export const sqlBackups: MlflowRule = {
  id: "MLF-SQL-BACKUPS",
  level: "error",
  title: "Cloud SQL takes automated backups with point-in-time recovery",
  why: "MLflow's schema migrations are not all reversible and MLflow docs say to back up before upgrading; without backups and point-in-time recovery a failed upgrade or a mistaken delete loses the tracking history for good.",
  howToFix: "Set settings.backup_configuration.enabled = true and point_in_time_recovery_enabled = true (binary_log_enabled = true on MySQL); MlflowDatabase does, with 14 retained backups and 7 days of logs.",
  resourceTypes: ["google_sql_database_instance"],
  check(resource) {
    const config = resource.config;
    if (config.master_instance_name !== undefined) return notApplicable("a read replica: backups are taken on the primary");
    const version = config.database_version;
    // PostgreSQL (and SQL Server) recover to a point in time from transaction logs; MySQL from binary logs.
    const pitrKey = typeof version === "string" && version.startsWith("MYSQL") && !isReference(version)
      ? "binary_log_enabled" : "point_in_time_recovery_enabled";
    const enabled = bool(at(config, "settings.backup_configuration.enabled"));
    const pitr = bool(at(config, `settings.backup_configuration.${pitrKey}`));
    if (enabled === "reference") return notCheckable("settings.backup_configuration.enabled");
    if (pitr === "reference") return notCheckable(`settings.backup_configuration.${pitrKey}`);
    const problems: string[] = [];
    if (enabled !== true) problems.push(`settings.backup_configuration.enabled is ${enabled === false ? "false" : "not set"}`);
    if (pitr !== true) problems.push(`settings.backup_configuration.${pitrKey} is ${pitr === false ? "false" : "not set"}`);
    return problems.length === 0 ? compliant() : nonCompliant(problems.join("; "));
  },
};
