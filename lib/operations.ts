// The rules of the `operations` prop, shared by the stack, both server kinds and
// MlflowOperations: the defaults, what `gcOlderThan` and `alertEmails` accept, and one check
// that adds every problem to a Validator.
import { DEFAULT_GC_SCHEDULE, GC_SCHEDULE_EXPECTED, cronProblem } from "./schedule";
import { Validator, checkDistinctItems, isToken } from "./validation";

export { DEFAULT_GC_SCHEDULE } from "./schedule";

/** Deleted runs and experiments are removed for good once they have been deleted this long. */
export const DEFAULT_GC_OLDER_THAN = "30d";

/**
 * `mlflow gc --older-than`: MLflow's `#d#h#m#s` format, each part a whole or decimal number,
 * in that order (mlflow/cli/__init__.py, gc: the regex
 * `^((?P<days>[\.\d]+?)d)?((?P<hours>[\.\d]+?)h)?((?P<minutes>[\.\d]+?)m)?((?P<seconds>[\.\d]+?)s)?$`
 * and `float()` of each part). This is a strict subset of what that regex takes: it refuses
 * the empty string (which MLflow reads as "no age limit") and numbers such as "1.2.3".
 */
export const GC_OLDER_THAN = {
  test: (v: string) => typeof v === "string" && v !== "" &&
    /^(\d+(\.\d+)?d)?(\d+(\.\d+)?h)?(\d+(\.\d+)?m)?(\d+(\.\d+)?s)?$/.test(v),
  expected: 'a duration in MLflow\'s "#d#h#m#s" format, parts in that order, e.g. "30d", "12h", "1d12h" or "1.5d"',
};

/** An email address for a notification channel (a practical check, not RFC 5322). */
export const ALERT_EMAIL = {
  test: (v: string) => typeof v === "string" && v.length <= 254 &&
    /^[^\s@"'<>(),;:\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/.test(v),
  expected: 'an email address such as "ml-oncall@example.com"',
};

/** The `operations` fields as given (unchecked). */
export interface OperationsInput {
  readonly gcSchedule?: unknown;
  readonly gcOlderThan?: unknown;
  readonly uptimeCheck?: unknown;
  readonly alertEmails?: unknown;
  readonly backupBeforeUpgrade?: unknown;
}

/** Checks `operations`; adds every problem to `v` (Terraform tokens are skipped). */
export function validateOperationsOptions(v: Validator, operations: OperationsInput | undefined): void {
  if (operations === undefined) return;
  if (operations === null || typeof operations !== "object" || Array.isArray(operations)) {
    v.fail("operations", operations, "an object such as { gcSchedule: \"0 4 * * *\", alertEmails: [\"ml-oncall@example.com\"] }");
    return;
  }
  const { gcSchedule, gcOlderThan, uptimeCheck, alertEmails, backupBeforeUpgrade } = operations;
  if (gcSchedule !== undefined) {
    // Translated into the VM's timer at synth time, so it must be known then.
    const problem = isToken(gcSchedule) ? "a Terraform reference, known only at apply"
      : typeof gcSchedule === "string" ? cronProblem(gcSchedule) : "not a string";
    if (problem !== undefined) v.fail("operations.gcSchedule", gcSchedule, `${GC_SCHEDULE_EXPECTED} (here: ${problem})`);
  }
  v.check("operations.gcOlderThan", gcOlderThan, GC_OLDER_THAN.test, GC_OLDER_THAN.expected);
  for (const [key, value] of Object.entries({ uptimeCheck, backupBeforeUpgrade })) {
    if (value !== undefined && typeof value !== "boolean") v.fail(`operations.${key}`, value, "true or false");
  }
  if (alertEmails !== undefined && !isToken(alertEmails)) {
    if (!Array.isArray(alertEmails)) {
      v.fail("operations.alertEmails", alertEmails, 'a list of email addresses, e.g. ["ml-oncall@example.com"]');
    } else {
      checkDistinctItems(v, "operations.alertEmails", alertEmails, ALERT_EMAIL, "an address not already in the list (one notification channel each)");
    }
  }
}

/** The gc settings a server kind runs with, defaults applied. */
export interface GcSettings {
  /** Cron expression, UTC. */
  readonly schedule: string;
  /** `mlflow gc --older-than`. */
  readonly olderThan: string;
}

/** The gc settings of an `operations` prop (already validated). */
export function gcSettings(operations: { gcSchedule?: string; gcOlderThan?: string } | undefined): GcSettings {
  return {
    schedule: (operations?.gcSchedule ?? DEFAULT_GC_SCHEDULE).trim().split(/\s+/).join(" "),
    olderThan: operations?.gcOlderThan ?? DEFAULT_GC_OLDER_THAN,
  };
}
