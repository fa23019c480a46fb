// Runtime type checks for props. Props reach the constructs untyped from plain JavaScript
// apps and JSON configs: `basicAuth: "false"` (a truthy string), `iapMembers: "group:x"` (a
// string where a list is expected) or a misspelled key (`acess`) would otherwise be used as
// is, silently do the opposite of what was meant, or end in a TypeError deep inside a
// construct. Every options object has a shape; checkShape runs before any other rule,
// reports each mismatch as a validation problem (prop path, value, what is accepted) and
// returns a copy without the ill-typed values, so the value rules that follow only ever see
// values of the right type.
//
// Terraform tokens stay allowed wherever a value only ends up in the synthesized JSON (a
// project id from a variable); a prop whose value decides what is built at synth (whether
// basic auth exists, public or private mode) is marked `literal` and refuses them.
import { Token } from "cdktf";

/** Where checkShape reports; the Validator in lib/validation.ts. */
export interface ShapeProblemSink {
  fail(path: string, value: unknown, expected: string): void;
}

interface Common {
  /** Set when the value must be known at synth: why a Terraform token cannot be used. */
  readonly literal?: string;
}
export interface StringShape extends Common { readonly kind: "string" }
export interface NumberShape extends Common { readonly kind: "number" }
export interface BooleanShape extends Common { readonly kind: "boolean" }
export interface ListShape extends Common { readonly kind: "list"; readonly of: Shape }
/** A string-keyed map, e.g. labels. */
export interface MapShape extends Common { readonly kind: "map"; readonly of: Shape }
/** An object with known fields. */
export interface ObjectShape {
  readonly kind: "object";
  /** How the object is named in messages, e.g. "the access options". */
  readonly name: string;
  readonly fields: Readonly<Record<string, Shape>>;
  /** Whether a key outside `fields` is a problem (a typo) or ignored. */
  readonly unknownKeys: "error" | "ignore";
}
/** A construct or an interface implementation (IMlflowNetwork …): only "present" is checked. */
export interface ReferenceShape { readonly kind: "reference"; readonly what: string }
export type Shape = StringShape | NumberShape | BooleanShape | ListShape | MapShape | ObjectShape | ReferenceShape;

/** The fields of an options interface: one shape per prop, every prop listed (checked by tsc). */
export type ShapeFields<T> = { readonly [K in keyof Required<T>]: Shape };

export const string = (literal?: string): StringShape => ({ kind: "string", literal });
export const number = (literal?: string): NumberShape => ({ kind: "number", literal });
export const boolean = (literal?: string): BooleanShape => ({ kind: "boolean", literal });
export const listOf = (of: Shape, literal?: string): ListShape => ({ kind: "list", of, literal });
export const mapOf = (of: Shape): MapShape => ({ kind: "map", of });
export const reference = (what: string): ReferenceShape => ({ kind: "reference", what });
export function object(name: string, fields: Readonly<Record<string, Shape>>, unknownKeys: "error" | "ignore" = "error"): ObjectShape {
  return { kind: "object", name, fields, unknownKeys };
}
/** The same object shape with unknown keys ignored (a sub-construct's flattened props). */
export const openObject = (shape: ObjectShape): ObjectShape => ({ ...shape, unknownKeys: "ignore" });

/** The sentence for "what is accepted" of a shape. */
export function describeShape(shape: Shape): string {
  switch (shape.kind) {
    case "string": return "a string";
    case "number": return "a number";
    case "boolean": return "a boolean (true or false)";
    case "list": return `a list of ${plural(shape.of)}`;
    case "map": return `an object mapping names to ${plural(shape.of)}`;
    case "object": return `an object with ${shape.name} (${Object.keys(shape.fields).join(", ")})`;
    case "reference": return shape.what;
  }
}

function plural(shape: Shape): string {
  switch (shape.kind) {
    case "string": return 'strings, e.g. ["…"]';
    case "number": return "numbers";
    case "boolean": return "booleans";
    default: return `values (${describeShape(shape)})`;
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * Checks `value` against `shape`, reporting every mismatch under `path`; returns the value
 * with every ill-typed part left out (undefined for the value itself, fields removed from
 * objects, items from lists), so later rules see only well-typed values.
 */
export function checkShape(sink: ShapeProblemSink, path: string, value: unknown, shape: Shape): unknown {
  if (value === undefined) return undefined;
  const fail = (expected: string): undefined => {
    sink.fail(path === "" ? "(props)" : path, value, expected);
    return undefined;
  };
  const isToken = Token.isUnresolved(value);
  if (isToken && shape.kind !== "object" && shape.kind !== "reference") {
    if ("literal" in shape && shape.literal) {
      return fail(`${describeShape(shape)} written out, not a Terraform token: ${shape.literal}`);
    }
    // A token stands for a value of the right type (Token.asString, asNumber, asList, an IResolvable).
    return value;
  }
  switch (shape.kind) {
    case "string":
      return typeof value === "string" ? value : fail(`${describeShape(shape)}, not ${typeName(value)}`);
    case "number":
      if (typeof value === "number") return value;
      return fail(`${describeShape(shape)}, not ${typeName(value)}${typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)) ? " (write it without quotes)" : ""}`);
    case "boolean":
      if (typeof value === "boolean") return value;
      // "false" is a truthy string: used as is it would turn the option on.
      return fail(`${describeShape(shape)}, not ${typeName(value)}${typeof value === "string" && /^(true|false)$/i.test(value) ? " (write it without quotes)" : ""}`);
    case "list": {
      if (!Array.isArray(value)) return fail(`${describeShape(shape)}, not ${typeName(value)}${typeof value === "string" ? ` (write ["${value}"] for one)` : ""}`);
      return value.map((item, i) => checkShape(sink, `${path}[${i}]`, item, shape.of)).filter((item) => item !== undefined);
    }
    case "map": {
      if (!isPlainObject(value)) return fail(`${describeShape(shape)}, not ${typeName(value)}`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const checked = checkShape(sink, `${path}.${k}`, v, shape.of);
        if (checked !== undefined) out[k] = checked;
      }
      return out;
    }
    case "object": {
      if (isToken) return fail(`${describeShape(shape)} written out (it is read at synth), not a Terraform token`);
      if (!isPlainObject(value)) return fail(`${describeShape(shape)}, not ${typeName(value)}`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const field = shape.fields[k];
        const fieldPath = path === "" ? k : `${path}.${k}`;
        if (field === undefined) {
          if (shape.unknownKeys === "error") sink.fail(fieldPath, v, unknownKeyExpected(k, shape));
          continue;
        }
        const checked = checkShape(sink, fieldPath, v, field);
        if (checked !== undefined) out[k] = checked;
      }
      return out;
    }
    case "reference":
      return value === null || typeof value !== "object" ? fail(`${shape.what}, not ${typeName(value)}`) : value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function unknownKeyExpected(key: string, shape: ObjectShape): string {
  const known = Object.keys(shape.fields);
  const suggestion = closest(key, known);
  return `no such prop in ${shape.name}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; the props are ${known.join(", ")}`;
}

/** The known name a typo most likely meant: same letters ignoring case and _-, or at most 2 edits away. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, "");
  const exact = known.find((k) => norm(k) === norm(key));
  if (exact) return exact;
  let best: { name: string; distance: number } | undefined;
  for (const k of known) {
    const d = editDistance(norm(key), norm(k));
    if (d <= 2 && (best === undefined || d < best.distance)) best = { name: k, distance: d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
