// Prop validation shared by the stack and the sub-constructs: one error class that
// names the prop path, the bad value and what is accepted, and a collector that gathers
// every problem of a construct before throwing (a user fixes them all in one go). Runtime
// type checks (lib/private/shape.ts) run first, so the value rules below only ever see
// values of the type they expect; GCP-specific value rules live in lib/private/*-values.ts.
import { Token } from "cdktf";
import { Shape, ShapeFields, checkShape, mapOf, object, string } from "./private/shape";

/** One rejected prop value. */
export interface ValidationProblem {
  /** Path of the prop, e.g. `database.tier`. */
  readonly path: string;
  /** The value that was given. */
  readonly value: unknown;
  /** What would be accepted. */
  readonly expected: string;
}

/**
 * The one error class for bad props. Its message lists every problem of a construct:
 * prop path, bad value and what is accepted.
 */
export class MlflowValidationError extends Error {
  /** Every problem found, in the order the props were checked. */
  public readonly problems: readonly ValidationProblem[];
  /** The construct path (`mlflow/Database`) whose props were rejected. */
  public readonly constructPath: string;

  constructor(constructPath: string, problems: readonly ValidationProblem[]) {
    const lines = problems.map((p) => `  - ${p.path}: ${describeValue(p.value)} is not valid; expected ${p.expected}`);
    super(`Invalid props for ${constructPath} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`);
    this.name = "MlflowValidationError";
    this.problems = problems;
    this.constructPath = constructPath;
    Object.setPrototypeOf(this, MlflowValidationError.prototype);
  }
}

/** The value as the message shows it: JSON where possible, never a throw (cycles, bigints), at most 200 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  let text: string;
  try {
    text = typeof value === "function" ? "a function" : JSON.stringify(value) ?? String(value);
  } catch {
    // A construct or another object with cycles: name its class instead.
    const name = (value as object)?.constructor?.name;
    text = name ? `an instance of ${name}` : String(value);
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Whether a value is (or contains) a Terraform token, which cannot be checked at synth. */
export function isToken(value: unknown): boolean {
  if (typeof value === "string" || typeof value === "number") return Token.isUnresolved(value);
  if (Array.isArray(value)) return Token.isUnresolved(value);
  return false;
}

/**
 * Collects problems; `check` skips values that are Terraform tokens, since they are only
 * known at apply time.
 */
export class Validator {
  private readonly problems: ValidationProblem[] = [];

  /** Records a problem when `ok` is false. Tokens are never checked. */
  check(path: string, value: unknown, ok: (v: never) => boolean, expected: string): void {
    if (value === undefined || isToken(value)) return;
    if (!ok(value as never)) this.problems.push({ path, value, expected });
  }

  /**
   * Records a problem when `problem` returns one: the text of what would be accepted, with
   * why this value is not. Tokens are never checked.
   */
  checkProblem(path: string, value: unknown, problem: (v: never) => string | undefined): void {
    if (value === undefined || isToken(value)) return;
    const expected = problem(value as never);
    if (expected !== undefined) this.problems.push({ path, value, expected });
  }

  /** Records a problem unconditionally (for prop combinations). */
  fail(path: string, value: unknown, expected: string): void {
    this.problems.push({ path, value, expected });
  }

  /**
   * Checks the runtime type of `value` against `shape` (lib/private/shape.ts), records every
   * mismatch under `path`, and returns the value without its ill-typed parts: run it before
   * the value rules, and hand them what it returns.
   */
  typed<T>(path: string, value: T, shape: Shape): T | undefined {
    return checkShape(this, path, value, shape) as T | undefined;
  }

  /** Records a problem when a required value is missing or empty. */
  required(path: string, value: unknown, expected: string): void {
    if (value === undefined || value === null || value === "") this.fail(path, value, expected);
  }

  get hasProblems(): boolean {
    return this.problems.length > 0;
  }

  /** Throws one `MlflowValidationError` with every problem found, if any. */
  throwIfInvalid(constructPath: string): void {
    if (this.problems.length > 0) throw new MlflowValidationError(constructPath, this.problems);
  }
}

// ---- rules, as small predicates with the text that explains them -------------------------

/** GCP project ids: 6–30 chars, lowercase letters, digits, hyphens, starting with a letter. */
export const PROJECT_ID = {
  test: (v: string) => /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(v),
  expected: "a GCP project id: 6-30 lowercase letters, digits or hyphens, starting with a letter, not ending with a hyphen",
};

/** Regions look like `europe-west1`, `us-central1`, `northamerica-northeast2`. */
export const REGION = {
  test: (v: string) => /^[a-z]+-[a-z]+[0-9]{1,2}$/.test(v),
  expected: 'a GCP region such as "europe-west1"',
};

/** Lowercase RFC 1035 label used as the prefix of every resource name. */
export const NAME_PREFIX_MAX = 20;
/** The prefix every construct uses when none is given. */
export const DEFAULT_NAME_PREFIX = "mlflow";
export const NAME_PREFIX = {
  test: (v: string) => v.length <= NAME_PREFIX_MAX && /^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(v),
  expected: `1-${NAME_PREFIX_MAX} lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen (it prefixes every resource name, e.g. the 30-character service account id)`,
};

/** GCP label keys and values (lowercase, 63 characters). */
export const LABEL_KEY = {
  test: (v: string) => /^[a-z][a-z0-9_-]{0,62}$/.test(v),
  expected: "a label key: 1-63 lowercase letters, digits, underscores or hyphens, starting with a letter",
};
export const LABEL_VALUE = {
  test: (v: string) => typeof v === "string" && /^[a-z0-9_-]{0,63}$/.test(v),
  expected: "a label value: at most 63 lowercase letters, digits, underscores or hyphens",
};

/** What a firewall source range must be (parsed by lib/private/ip.ts, checked in lib/private/validate-server.ts). */
export const SOURCE_RANGE_EXPECTED = 'an IPv4 or IPv6 CIDR block such as "203.0.113.0/24" or "2001:db8::/32", with no host bits set';

/** IAM members a human or a workload can be. */
export const IAM_MEMBER = {
  test: (v: string) =>
    /^(user|group|serviceAccount):[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v) ||
    /^domain:[a-z0-9.-]+\.[a-z]{2,}$/.test(v) ||
    // Workforce and workload identity federation principals
    /^(principal|principalSet):\/\/iam\.googleapis\.com\/\S+$/.test(v),
  expected: 'an IAM member such as "user:ada@example.com", "group:ml-team@example.com", "serviceAccount:ci@p.iam.gserviceaccount.com", "domain:example.com" or "principalSet://iam.googleapis.com/..."',
};

/**
 * Checks each item of a list with `rule`, and that none repeats an earlier one in any letter
 * case (email addresses are case-insensitive); `repeated` is what a repeat is told to be.
 */
export function checkDistinctItems(v: Validator, path: string, items: readonly unknown[] | undefined,
  rule: { test: (value: never) => boolean; expected: string }, repeated: string): void {
  const seen = new Set<string>();
  (items ?? []).forEach((item, i) => {
    v.check(`${path}[${i}]`, item, rule.test, rule.expected);
    if (typeof item !== "string" || isToken(item)) return;
    if (seen.has(item.toLowerCase())) v.fail(`${path}[${i}]`, item, repeated);
    seen.add(item.toLowerCase());
  });
}

/**
 * Checks a list of IAM members: each one, and none twice. Each member gets one binding per
 * role, named after the member, and members that differ only in case name the same account:
 * two bindings of one member and role would remove each other on delete.
 */
export function checkMembers(v: Validator, path: string, members: readonly string[] | undefined): void {
  checkDistinctItems(v, path, members, IAM_MEMBER, "a member not already in the list (one binding per member)");
}

/**
 * Cloud SQL tiers that an ENTERPRISE-edition PostgreSQL instance accepts: the shared-core
 * ones, or custom machines with 1 or an even number of vCPUs (up to 96), memory a multiple
 * of 256 MiB, 0.9 to 6.5 GiB per vCPU and at least 3.75 GiB (3840 MiB) in all
 * (cloud.google.com/sql/docs/postgres/instance-settings, custom machine types).
 */
export const SQL_TIER = {
  test: (v: string) => {
    if (v === "db-f1-micro" || v === "db-g1-small") return true;
    const m = /^db-custom-(\d{1,2})-(\d{3,6})$/.exec(v);
    if (!m) return false;
    const cpus = Number(m[1]);
    const mib = Number(m[2]);
    return (cpus === 1 || (cpus % 2 === 0 && cpus <= 96)) && mib % 256 === 0 && mib >= 3840 &&
      mib >= cpus * 0.9 * 1024 && mib <= cpus * 6.5 * 1024;
  },
  expected: 'a Cloud SQL tier for PostgreSQL on the ENTERPRISE edition: "db-f1-micro", "db-g1-small" or "db-custom-<vCPUs>-<MiB>" with 1 or an even number of vCPUs, memory a multiple of 256 MiB, 0.9-6.5 GiB per vCPU and at least 3840 MiB (e.g. "db-custom-2-7680")',
};

export const POSTGRES_VERSIONS = ["POSTGRES_13", "POSTGRES_14", "POSTGRES_15", "POSTGRES_16", "POSTGRES_17"] as const;

/** Compute Engine machine types such as `e2-medium`, `n2-standard-4`, `e2-custom-4-8192`. */
export const MACHINE_TYPE = {
  test: (v: string) => /^[a-z][a-z0-9]*-[a-z0-9]+(-[a-z0-9]+)*$/.test(v),
  expected: 'a Compute Engine machine type such as "e2-medium" or "n2-standard-4"',
};

/** MLflow 3 releases from 3.5.0 on: the first with `--allowed-hosts` (the host check). */
export const MLFLOW_VERSION = {
  test: (v: string) => {
    const m = /^3\.(\d{1,3})\.(\d{1,3})$/.exec(v);
    return m !== null && Number(m[1]) >= 5;
  },
  expected: 'an exact MLflow release "3.Y.Z" from 3.5.0 on (the first with --allowed-hosts), e.g. "3.18.0"',
};

/** GCS bucket names (the rules for names without dots). */
export const BUCKET_NAME = {
  test: (v: string) =>
    v.length >= 3 &&
    v.length <= 63 &&
    /^[a-z0-9][a-z0-9_-]*[a-z0-9]$/.test(v) &&
    !v.startsWith("goog") &&
    !/g[o0][o0]gle/.test(v),
  expected: "a GCS bucket name: 3-63 lowercase letters, digits, hyphens or underscores, starting and ending with a letter or digit, not starting with \"goog\" and not containing \"google\"",
};

/** A public DNS name for HTTPS: lowercase labels, at least two, nothing else. */
export const DOMAIN = {
  test: (v: string) =>
    v.length <= 253 && /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v),
  expected: 'a DNS name such as "mlflow.example.com": lowercase letters, digits, hyphens and dots, with no scheme (https://), port, path, spaces or trailing dot',
};

/** Cloud DNS managed zone names. */
export const DNS_ZONE = {
  test: (v: string) => /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v),
  expected: 'a Cloud DNS managed zone name such as "example-com" (lowercase letters, digits, hyphens)',
};

/** Integer in [min, max]. */
export function intRange(min: number, max: number) {
  return {
    test: (v: number) => Number.isInteger(v) && v >= min && v <= max,
    expected: `a whole number from ${min} to ${max}`,
  };
}

/** One of a fixed list of values. */
export function oneOf<T extends string>(values: readonly T[]) {
  return {
    test: (v: string) => (values as readonly string[]).includes(v),
    expected: `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`,
  };
}

/** Props every construct of this library shares. */
export interface CommonProps {
  readonly projectId: string;
  readonly region: string;
  readonly zone?: string;
  readonly namePrefix?: string;
  readonly labels?: Record<string, string>;
}

/** The runtime types of the props every construct shares. */
export const COMMON_PROPS_FIELDS: ShapeFields<CommonProps> = {
  projectId: string(),
  region: string(),
  zone: string(),
  namePrefix: string(),
  labels: mapOf(string()),
};

/** Checks the props every construct shares (project, region, zone, prefix, labels). */
export function checkCommonProps(v: Validator, rawProps: CommonProps): void {
  const props = v.typed("", rawProps, object("the construct's props", COMMON_PROPS_FIELDS, "ignore")) ?? ({} as CommonProps);
  v.required("projectId", props.projectId, PROJECT_ID.expected);
  v.check("projectId", props.projectId, PROJECT_ID.test, PROJECT_ID.expected);
  v.required("region", props.region, REGION.expected);
  v.check("region", props.region, REGION.test, REGION.expected);
  if (props.zone !== undefined && props.region !== undefined && !isToken(props.region)) {
    v.check("zone", props.zone, (z: string) => z.startsWith(`${props.region}-`) && /^[a-z]+-[a-z]+[0-9]{1,2}-[a-z]$/.test(z),
      `a zone of region ${props.region}, such as "${props.region}-b"`);
  }
  v.check("namePrefix", props.namePrefix, NAME_PREFIX.test, NAME_PREFIX.expected);
  const labels = props.labels ?? {};
  if (Object.keys(labels).length > 64) v.fail("labels", `${Object.keys(labels).length} labels`, "at most 64 labels");
  for (const [key, value] of Object.entries(labels)) {
    v.check(`labels (key ${JSON.stringify(key)})`, key, LABEL_KEY.test, LABEL_KEY.expected);
    v.check(`labels.${key}`, value, LABEL_VALUE.test, LABEL_VALUE.expected);
  }
}

/**
 * The instant Python dependencies are resolved at (uv --exclude-newer): an RFC 3339 UTC
 * timestamp or a date (midnight UTC), not in the future (a cutoff still ahead of us floats
 * like no cutoff at all) and not before 2025 (no MLflow release this library supports).
 */
export const DEPENDENCY_CUTOFF = {
  test: (v: string) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})(T(\d{2}):(\d{2}):(\d{2})Z)?$/.exec(v);
    if (!m) return false;
    const at = Date.parse(m[4] ? v : `${v}T00:00:00Z`);
    return !Number.isNaN(at) && new Date(at).toISOString().slice(0, 10) === v.slice(0, 10) &&
      at >= Date.parse("2025-01-01T00:00:00Z") && at <= Date.now();
  },
  expected: 'a past instant as "YYYY-MM-DDTHH:MM:SSZ" (UTC) or a date "YYYY-MM-DD" (midnight UTC), from 2025 on, e.g. "2026-11-28T00:00:00Z"',
};
