// MLF-SQL-DELETION-PROTECTION: the backend store is MLflow's history; deleting the instance
// deletes it (and its automated backups).
//
// A warning, not an error: the README tells users to set `database.deletionProtection:
// false` and deploy before `cdktf destroy`, so a stack on its way out legitimately has it
// off, and failing synth there would force a suppression for a documented step.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { at, bool } from "./private/json";

export const sqlDeletionProtection: MlflowRule = {
  id: "MLF-SQL-DELETION-PROTECTION",
  level: "warning",
  title: "Cloud SQL is protected from deletion, in Terraform and in the Cloud SQL API",
  why: "Deleting the instance deletes every experiment, run and model version, and its automated backups with it; Terraform-side protection guards against a destroy or replacement, API-side protection against the console, gcloud and other tools.",
  howToFix: "Keep database.deletionProtection at its default (true), which sets deletion_protection and settings.deletion_protection_enabled; turn it off only right before a planned destroy.",
  resourceTypes: ["google_sql_database_instance"],
  check(resource) {
    const terraformSide = bool(resource.config.deletion_protection); // provider default: true
    const apiSide = bool(at(resource.config, "settings.deletion_protection_enabled")); // API default: false
    if (terraformSide === "reference") return notCheckable("deletion_protection");
    if (apiSide === "reference") return notCheckable("settings.deletion_protection_enabled");
    const problems: string[] = [];
    if (terraformSide === false) problems.push("deletion_protection is false");
    if (apiSide !== true) problems.push(`settings.deletion_protection_enabled is ${apiSide === false ? "false" : "not set (the API's default is off)"}`);
    return problems.length === 0 ? compliant() : nonCompliant(problems.join("; "));
  },
};
