// The `mlflow gc` schedule (`operations.gcSchedule`): a small, documented subset of unix cron,
// read in UTC, and its translation to a systemd calendar event for the VM's timer. The same
// text goes unchanged to Cloud Scheduler on the Cloud Run kind, whose format is unix cron
// with five fields and whose default time zone is Etc/UTC
// (cloud.google.com/scheduler/docs/configuring/cron-job-schedules).
//
// The subset, chosen so that every accepted expression means the same thing to Cloud
// Scheduler, to crontab(5) and, translated, to systemd.time(7) (systemd 252, Debian 12):
//  - exactly five fields: minute, hour, day of month, month, day of week;
//  - minute: one number 0-59 (gc runs at most once an hour);
//  - the other fields: a comma-separated list of `*`, `N`, `A-B`, `*/S` and `A-B/S`, numbers
//    only (hour 0-23, day of month 1-31, month 1-12, day of week 0-7, 0 and 7 meaning Sunday);
//  - day of month and day of week may not both be restricted: cron then runs when EITHER
//    matches (crontab(5)), systemd only when BOTH do (systemd.time(7)), and Cloud Scheduler
//    does not say which it does;
//  - no names (JAN, MON), no `@daily`, `?`, `L`, `W` or `#`, and no expression that never fires.
// Translation details, each checked with `systemd-analyze calendar` in the tests: systemd
// rejects `*/S` (a repetition needs a start value: `0/S`), takes weekdays by name only, and
// runs weekday ranges from Monday to Sunday, so weekdays are written out as names.

/** What a cron field admits. */
interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

const MINUTE: FieldSpec = { name: "minute", min: 0, max: 59 };
const HOUR: FieldSpec = { name: "hour", min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: "day of month", min: 1, max: 31 };
const MONTH: FieldSpec = { name: "month", min: 1, max: 12 };
const DAY_OF_WEEK: FieldSpec = { name: "day of week", min: 0, max: 7 };

// One element of a field's list: `*`, `N`, `A-B`, `*/S` or `A-B/S`.
interface CronElement {
  readonly star: boolean;
  readonly from: number;
  readonly to: number;
  readonly step: number;
}

/** A parsed field: its elements and the set of values it matches. */
export interface CronField {
  /** The field exactly `*` (unrestricted). */
  readonly any: boolean;
  readonly elements: readonly CronElement[];
  /** Matching values, ascending (day of week: 0-6, Sunday = 0). */
  readonly values: readonly number[];
}

/** A parsed gc schedule. */
export interface CronSchedule {
  readonly expression: string;
  readonly minute: number;
  readonly hour: CronField;
  readonly dayOfMonth: CronField;
  readonly month: CronField;
  readonly dayOfWeek: CronField;
}

/** The gc schedule when none is given: every day at 04:00 UTC. */
export const DEFAULT_GC_SCHEDULE = "0 4 * * *";

/** What `operations.gcSchedule` accepts, for messages. */
export const GC_SCHEDULE_EXPECTED =
  'a cron expression of five fields in UTC: minute (one number), hour, day of month, month, day of week, ' +
  'each a number, "*", a range "A-B", a step "*/S" or "A-B/S", or a comma list of these, ' +
  'e.g. "0 4 * * *" (daily at 04:00) or "30 2 * * 0" (Sundays at 02:30)';

/** A schedule the subset does not accept; the message says why. */
export class CronSubsetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CronSubsetError";
    Object.setPrototypeOf(this, CronSubsetError.prototype);
  }
}

function parseNumber(text: string, spec: FieldSpec): number {
  if (!/^\d{1,2}$/.test(text)) {
    throw new CronSubsetError(`${spec.name}: ${JSON.stringify(text)} is not a number from ${spec.min} to ${spec.max} (names such as JAN or MON are not accepted)`);
  }
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw new CronSubsetError(`${spec.name}: ${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function parseElement(text: string, spec: FieldSpec): CronElement {
  const [range, stepText, ...extra] = text.split("/");
  if (extra.length > 0) throw new CronSubsetError(`${spec.name}: ${JSON.stringify(text)} has more than one "/"`);
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d{1,2}$/.test(stepText) || Number(stepText) < 1) {
      throw new CronSubsetError(`${spec.name}: the step in ${JSON.stringify(text)} must be a whole number of at least 1`);
    }
    step = Number(stepText);
  }
  if (range === "*") return { star: true, from: spec.min, to: spec.max, step };
  const bounds = range.split("-");
  if (bounds.length === 1) {
    if (stepText !== undefined) {
      throw new CronSubsetError(`${spec.name}: ${JSON.stringify(text)}: a step needs "*" or a range before it ("*/${stepText}" or "A-B/${stepText}")`);
    }
    const n = parseNumber(range, spec);
    return { star: false, from: n, to: n, step: 1 };
  }
  if (bounds.length !== 2) throw new CronSubsetError(`${spec.name}: ${JSON.stringify(text)} is not a range "A-B"`);
  const from = parseNumber(bounds[0], spec);
  const to = parseNumber(bounds[1], spec);
  if (from > to) throw new CronSubsetError(`${spec.name}: the range ${JSON.stringify(range)} runs backwards (ranges that wrap around are not accepted)`);
  return { star: false, from, to, step };
}

function parseField(text: string, spec: FieldSpec, normalize: (n: number) => number = (n) => n): CronField {
  if (text === "") throw new CronSubsetError(`${spec.name} is empty`);
  const elements = text.split(",").map((part) => {
    if (part === "") throw new CronSubsetError(`${spec.name}: ${JSON.stringify(text)} has an empty list item`);
    if (/[?LW#]/i.test(part)) throw new CronSubsetError(`${spec.name}: ${JSON.stringify(part)}: "?", "L", "W" and "#" are not accepted`);
    return parseElement(part, spec);
  });
  const values = new Set<number>();
  for (const e of elements) for (let n = e.from; n <= e.to; n += e.step) values.add(normalize(n));
  return { any: text === "*", elements, values: [...values].sort((a, b) => a - b) };
}

/** Parses a gc schedule; throws CronSubsetError saying what is wrong. */
export function parseCron(expression: string): CronSchedule {
  if (typeof expression !== "string") throw new CronSubsetError("not a string");
  if (expression.trim().startsWith("@")) throw new CronSubsetError(`${JSON.stringify(expression.trim())}: shorthands such as @daily are not accepted; use "0 4 * * *"`);
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new CronSubsetError(`${fields.length} field${fields.length === 1 ? "" : "s"}, not 5`);
  const [minuteText, hourText, domText, monthText, dowText] = fields;
  if (!/^\d{1,2}$/.test(minuteText)) {
    throw new CronSubsetError(`minute: ${JSON.stringify(minuteText)} is not one number from 0 to 59 (gc runs at most once an hour)`);
  }
  const schedule: CronSchedule = {
    expression: fields.join(" "),
    minute: parseNumber(minuteText, MINUTE),
    hour: parseField(hourText, HOUR),
    dayOfMonth: parseField(domText, DAY_OF_MONTH),
    month: parseField(monthText, MONTH),
    // 7 is Sunday too (crontab(5); Cloud Scheduler: "0-6 or SUN-SAT, or 7 for Sunday").
    dayOfWeek: parseField(dowText, DAY_OF_WEEK, (n) => n % 7),
  };
  if (!schedule.dayOfMonth.any && !schedule.dayOfWeek.any) {
    throw new CronSubsetError('day of month and day of week are both set: cron runs when either matches, systemd only when both do; set one of them to "*"');
  }
  if (nextFires(schedule, new Date(Date.UTC(2026, 0, 1)), 1, 8).length === 0) {
    throw new CronSubsetError("it never fires (no such day in the months given)");
  }
  return schedule;
}

/** Why a gc schedule is not accepted, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  try {
    parseCron(expression);
    return undefined;
  } catch (e) {
    if (e instanceof CronSubsetError) return e.message;
    throw e;
  }
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A numeric field as systemd writes it: `*`, `04`, `01..05`, `00/6`, `01..10/3`, lists. */
function calendarField(field: CronField): string {
  if (field.any) return "*";
  return field.elements.map((e) => {
    // systemd rejects `*/S`: a repetition starts from a value ("0/15", systemd.time(7)).
    if (e.star) return `${pad(e.from)}/${e.step}`;
    const range = e.from === e.to ? pad(e.from) : `${pad(e.from)}..${pad(e.to)}`;
    return e.step === 1 ? range : `${range}/${e.step}`;
  }).join(",");
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;

/** Weekdays as systemd takes them: names, Monday first, runs of three or more as `A..B`. */
function calendarWeekdays(field: CronField): string {
  // Monday-first order: systemd ranges run Mon..Sun and "Sun..Mon" is an error.
  const order = [1, 2, 3, 4, 5, 6, 0].filter((d) => field.values.includes(d));
  const parts: string[] = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && (order[j] === 0 ? 7 : order[j]) + 1 === (order[j + 1] === 0 ? 7 : order[j + 1])) j++;
    if (j - i >= 2) parts.push(`${WEEKDAYS[order[i]]}..${WEEKDAYS[order[j]]}`);
    else for (let k = i; k <= j; k++) parts.push(WEEKDAYS[order[k]]);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * The systemd `OnCalendar=` value of a gc schedule, in UTC (so the VM's own time zone does
 * not matter): `[Weekdays] *-MONTH-DAY HOUR:MINUTE:00 UTC`.
 */
export function toOnCalendar(schedule: CronSchedule | string): string {
  const s = typeof schedule === "string" ? parseCron(schedule) : schedule;
  const weekdays = s.dayOfWeek.any ? "" : `${calendarWeekdays(s.dayOfWeek)} `;
  return `${weekdays}*-${calendarField(s.month)}-${calendarField(s.dayOfMonth)} ${calendarField(s.hour)}:${pad(s.minute)}:00 UTC`;
}

/** Whether the schedule fires at a minute (UTC), with cron's day rule (crontab(5)). */
export function cronMatches(schedule: CronSchedule, at: Date): boolean {
  return at.getUTCMinutes() === schedule.minute && at.getUTCSeconds() === 0 &&
    schedule.hour.values.includes(at.getUTCHours()) &&
    schedule.month.values.includes(at.getUTCMonth() + 1) &&
    dayMatches(schedule, at);
}

function dayMatches(schedule: CronSchedule, day: Date): boolean {
  const dom = schedule.dayOfMonth.values.includes(day.getUTCDate());
  const dow = schedule.dayOfWeek.values.includes(day.getUTCDay());
  // Both restricted: either matches (crontab(5)); parseCron refuses that case anyway.
  if (!schedule.dayOfMonth.any && !schedule.dayOfWeek.any) return dom || dow;
  return dom && dow;
}

/**
 * The next `count` instants (UTC) after `after` at which cron would run the schedule,
 * searching at most `years` years ahead.
 */
export function nextFires(schedule: CronSchedule, after: Date, count: number, years = 8): Date[] {
  const fires: Date[] = [];
  const start = Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate());
  const end = Date.UTC(after.getUTCFullYear() + years, after.getUTCMonth(), after.getUTCDate());
  for (let day = start; day <= end && fires.length < count; day += 86_400_000) {
    const date = new Date(day);
    if (!schedule.month.values.includes(date.getUTCMonth() + 1) || !dayMatches(schedule, date)) continue;
    for (const hour of schedule.hour.values) {
      const at = day + hour * 3_600_000 + schedule.minute * 60_000;
      if (at > after.getTime()) fires.push(new Date(at));
      if (fires.length === count) break;
    }
  }
  return fires;
}

/**
 * The fewest whole hours between two runs of the schedule, at worst: between two of its hours
 * on one day, or from its last hour to its first on the next day (assumed possible: day
 * fields can only space runs further apart). The minute is a single number, so runs are whole
 * hours apart.
 */
export function minHoursBetweenFires(schedule: CronSchedule | string): number {
  const hours = [...(typeof schedule === "string" ? parseCron(schedule) : schedule).hour.values].sort((a, b) => a - b);
  const gaps = hours.slice(1).map((h, i) => h - hours[i]);
  return Math.min(...gaps, 24 - hours[hours.length - 1] + hours[0]);
}

/** How often the schedule fires in `hours` hours from 2027-01-04 00:00 UTC (a Monday): for cost estimates. */
export function firesIn(schedule: CronSchedule | string, hours: number): number {
  const s = typeof schedule === "string" ? parseCron(schedule) : schedule;
  const from = new Date(Date.UTC(2027, 0, 4) - 1);
  const until = from.getTime() + 1 + hours * 3_600_000;
  return nextFires(s, from, hours * 60 + 1, Math.ceil(hours / 8760) + 1).filter((d) => d.getTime() < until).length;
}
