// The gc schedule: the cron subset, its translation to systemd OnCalendar= (checked with the
// real `systemd-analyze calendar`: the next elapses must be exactly the instants cron would
// run at), and the evaluator those are compared with (checked against crontab(5) by hand).
import { spawnSync } from "child_process";
import { CronSubsetError, cronProblem, firesIn, minHoursBetweenFires, nextFires, parseCron, toOnCalendar } from "../lib/schedule";
import { tool } from "./helpers";

/** A fixed base: Thursday 2026-01-01 00:00:30 UTC (never itself a fire time). */
const BASE = new Date(Date.UTC(2026, 0, 1, 0, 0, 30));
const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");

/** The next elapses systemd computes for a calendar expression after BASE (UTC). */
function systemdElapses(calendar: string, iterations: number): { status: number | null; elapses: string[]; output: string } {
  const result = spawnSync("systemd-analyze", ["calendar", `--iterations=${iterations}`, `--base-time=@${BASE.getTime() / 1000}`, calendar], {
    encoding: "utf8", env: { ...process.env, TZ: "UTC" },
  });
  const elapses = [...result.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC/g)]
    .map((m) => `${m[1]}T${m[2]}Z`);
  return { status: result.status, elapses, output: result.stdout + result.stderr };
}

describe("translation to systemd OnCalendar=", () => {
  const cases: Array<[string, string]> = [
    ["0 4 * * *", "*-*-* 04:00:00 UTC"],
    ["30 2 * * 0", "Sun *-*-* 02:30:00 UTC"],
    ["30 2 * * 7", "Sun *-*-* 02:30:00 UTC"],
    ["15 */6 * * *", "*-*-* 00/6:15:00 UTC"],
    ["5 1,13 * * *", "*-*-* 01,13:05:00 UTC"],
    ["0 9-17 * * 1-5", "Mon..Fri *-*-* 09..17:00:00 UTC"],
    ["0 8-20/4 * * *", "*-*-* 08..20/4:00:00 UTC"],
    ["0 3 1 * *", "*-*-01 03:00:00 UTC"],
    ["0 3 1,15 * *", "*-*-01,15 03:00:00 UTC"],
    ["0 0 1 */3 *", "*-01/3-01 00:00:00 UTC"],
    ["45 23 */2 * *", "*-*-01/2 23:45:00 UTC"],
    ["0 5 * 1-6/2 *", "*-01..06/2-* 05:00:00 UTC"],
    ["0 4 * * 0-2", "Mon,Tue,Sun *-*-* 04:00:00 UTC"],
    ["0 4 * * 5-7", "Fri..Sun *-*-* 04:00:00 UTC"],
    ["0 4 * * 1-5/2", "Mon,Wed,Fri *-*-* 04:00:00 UTC"],
    ["0 4 * * 1,2,3,6", "Mon..Wed,Sat *-*-* 04:00:00 UTC"],
    ["0 4 29 2 *", "*-02-29 04:00:00 UTC"],
    ["  0   4 *  * *  ", "*-*-* 04:00:00 UTC"],
  ];

  test.each(cases)("%j → %j", (cron, calendar) => {
    expect(toOnCalendar(cron)).toBe(calendar);
  });

  test.each(cases)("%j: systemd-analyze calendar fires exactly when cron does", (cron) => {
    if (!tool("systemd-analyze", "systemd")) return;
    const schedule = parseCron(cron);
    const expected = nextFires(schedule, BASE, 8, 40).map(iso);
    const actual = systemdElapses(toOnCalendar(schedule), 8);
    expect(actual.status).toBe(0);
    expect(actual.elapses).toEqual(expected);
  });

  test("the systemd check can fail: cron's */15 written as such is refused by systemd", () => {
    if (!tool("systemd-analyze", "systemd")) return;
    const refused = systemdElapses("*-*-* *:*/15:00 UTC", 1);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(/Failed to parse/);
    // And "Sun..Mon" (a cron range 0-1 written naively) is not a weekday range to systemd.
    expect(systemdElapses("Sun..Mon *-*-* 04:00:00 UTC", 1).status).not.toBe(0);
  });
});

describe("the cron evaluator follows crontab(5)", () => {
  const fires = (cron: string, n: number) => nextFires(parseCron(cron), BASE, n).map(iso);
  test("daily at 04:00", () => {
    expect(fires("0 4 * * *", 2)).toEqual(["2026-01-01T04:00:00Z", "2026-01-02T04:00:00Z"]);
  });
  test("day of week: 0 and 7 are Sunday (2026-01-04 is a Sunday)", () => {
    expect(fires("30 2 * * 0", 2)).toEqual(["2026-01-04T02:30:00Z", "2026-01-11T02:30:00Z"]);
    expect(fires("30 2 * * 7", 1)).toEqual(["2026-01-04T02:30:00Z"]);
  });
  test("steps start at the field's minimum (months 1, 4, 7, 10)", () => {
    expect(fires("0 0 1 */3 *", 4)).toEqual(["2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"]);
  });
  test("ranges with steps and lists", () => {
    expect(fires("0 8-20/4 * * *", 5)).toEqual(["2026-01-01T08:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T16:00:00Z", "2026-01-01T20:00:00Z", "2026-01-02T08:00:00Z"]);
  });
  test("February 29 waits for a leap year", () => {
    expect(fires("0 4 29 2 *", 2)).toEqual(["2028-02-29T04:00:00Z", "2032-02-29T04:00:00Z"]);
  });
  test("fires in a month (730 hours) for the cost table", () => {
    expect(firesIn("0 4 * * *", 730)).toBe(31);
    // 2027-01-04 is a Monday: Sundays 10, 17, 24 and 31 January fall within 730 hours.
    expect(firesIn("30 2 * * 0", 730)).toBe(4);
    expect(firesIn("15 */6 * * *", 24)).toBe(4);
  });
});

describe("the closest two runs can be (the Cloud Run gc overlap warning)", () => {
  test.each([
    ["0 4 * * *", 24], ["0 * * * *", 1], ["15 */6 * * *", 6], ["0 8-20/4 * * *", 4], ["0 4,16 * * *", 12], ["0 2,22 * * *", 4], ["0 0-5 * * *", 1],
  ])("%s: %i h, as the evaluator's runs over ten days show", (cron, hours) => {
    expect(minHoursBetweenFires(cron)).toBe(hours);
    const runs = nextFires(parseCron(cron), BASE, 240).map((d) => d.getTime());
    expect(Math.min(...runs.slice(1).map((t, i) => (t - runs[i]) / 3_600_000))).toBe(hours);
  });
  test("days that never follow each other are not counted on: Sundays only still reads 24 h (at worst)", () => {
    expect(minHoursBetweenFires("30 2 * * 0")).toBe(24);
  });
});

describe("what the subset refuses, and why", () => {
  const bad: Array<[unknown, RegExp]> = [
    ["0 4 * *", /4 fields, not 5/],
    ["0 4 * * * *", /6 fields, not 5/],
    ["", /1 field, not 5/],
    ["@daily", /shorthands such as @daily/],
    ["*/15 * * * *", /minute: "\*\/15" is not one number.*at most once an hour/],
    ["0,30 4 * * *", /minute: "0,30" is not one number/],
    ["60 4 * * *", /minute: 60 is outside 0-59/],
    ["0 24 * * *", /hour: 24 is outside 0-23/],
    ["0 4 0 * *", /day of month: 0 is outside 1-31/],
    ["0 4 * 13 *", /month: 13 is outside 1-12/],
    ["0 4 * * 8", /day of week: 8 is outside 0-7/],
    ["0 4 * JAN *", /month: "JAN" is not a number.*names/],
    ["0 4 * * MON", /day of week: "MON" is not a number/],
    ["0 4 1 * 1", /day of month and day of week are both set/],
    ["0 4 */2 * 1-5", /day of month and day of week are both set/],
    ["0 4 L * *", /"L", "W" and "#" are not accepted/],
    ["0 4 ? * *", /"\?", "L", "W" and "#"/],
    ["0 4 * * 1#2", /"#" are not accepted/],
    ["0 22-2 * * *", /runs backwards/],
    ["0 */0 * * *", /step .* at least 1/],
    ["0 4/2 * * *", /a step needs "\*" or a range/],
    ["0 4,,5 * * *", /empty list item/],
    ["0 1-2-3 * * *", /not a range/],
    ["0 4 30 2 *", /never fires/],
    ["0 4 31 4,6,9,11 *", /never fires/],
    [42, /not a string/],
  ];
  test.each(bad)("%j is refused: %s", (cron, message) => {
    expect(() => parseCron(cron as string)).toThrow(CronSubsetError);
    expect(cronProblem(cron as string)).toMatch(message);
  });

  test.each(["0 4 * * *", "59 23 31 12 *", "0 0 * * 0-7", "0 */1 * * *", "0 0-23/1 1-31 1-12 *"])("%j is accepted", (cron) => {
    expect(cronProblem(cron)).toBeUndefined();
  });
});
