// Reading synthesized Terraform JSON the way Terraform reads it: a nested block may be an
// object or a one-element list (an `addOverride` can write either), booleans may be
// written as strings, and a `${…}` in a string is a reference known only at apply time.

/** A JSON object as it appears in cdk.tf.json. */
export type JsonObject = Record<string, unknown>;

/** Whether a value is a plain JSON object (not a list, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A nested block: the object itself, or the first object of a list; undefined otherwise. */
export function block(value: unknown): JsonObject | undefined {
  if (isObject(value)) return value;
  if (Array.isArray(value) && isObject(value[0])) return value[0];
  return undefined;
}

/** Every object of a repeated block (`allow`, `lifecycle_rule` …), whichever way it was written. */
export function blocks(value: unknown): JsonObject[] {
  if (isObject(value)) return [value];
  if (Array.isArray(value)) return value.filter(isObject);
  return [];
}

/** The value at a dotted path (`settings.ip_configuration.ipv4_enabled`), walking blocks. */
export function at(config: JsonObject, path: string): unknown {
  let current: unknown = config;
  for (const key of path.split(".")) {
    const obj = block(current);
    if (obj === undefined) return undefined;
    current = obj[key];
  }
  return current;
}

/**
 * Whether a string holds a live Terraform interpolation (`${…}`). `$${` is Terraform's escape
 * for a literal `${` (shell text in a startup script), so it does not count.
 */
export function isReference(value: unknown): boolean {
  return typeof value === "string" && /(^|[^$])\$\{/.test(value);
}

/** The expressions of every live `${…}` in a string, e.g. `random_password.x.result`. */
export function interpolations(text: string): string[] {
  const found: string[] = [];
  for (let i = text.indexOf("${"); i !== -1; i = text.indexOf("${", i + 2)) {
    if (i > 0 && text[i - 1] === "$") continue;
    // Braces can nest inside an expression (`${jsonencode({a = 1})}`).
    let depth = 0;
    let end = -1;
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}" && --depth === 0) {
        end = j;
        break;
      }
    }
    found.push(text.slice(i + 2, end === -1 ? text.length : end));
  }
  return found;
}

/** A boolean as Terraform would read it, "reference" when only known at apply, undefined when unset. */
export function bool(value: unknown): boolean | "reference" | undefined {
  if (typeof value === "boolean") return value;
  if (isReference(value)) return "reference";
  if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  return undefined;
}

/** A list of strings; a whole list given as one reference comes back as that one string. */
export function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "string") return [value];
  return [];
}

/** The strings of a map attribute such as `metadata`; undefined when the map is one reference. */
export function stringMap(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}
