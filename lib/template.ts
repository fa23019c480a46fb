// Template rendering: fills `{{NAME}}` placeholders in the files under templates/ with
// shell-quoted values, and makes the result safe to put into Terraform JSON.
//
// Two hazards shape this module:
//  - every value put into a shell script must be quoted, or a prop could inject commands;
//  - Terraform reads `${…}` and `%{…}` in every string of the synthesized JSON, so the
//    script's own shell expansions must be escaped (`$${`, `%%{`), while the references the
//    construct put there on purpose (cdktf tokens) must stay live.
import * as fs from "fs";
import * as path from "path";

/** A value for a placeholder: a scalar, or a list rendered as separate shell words. */
export type TemplateValue = string | number | boolean | readonly string[];

const PLACEHOLDER = /\{\{([A-Z][A-Z0-9_]*)\}\}/g;

/**
 * cdktf encodes a not-yet-resolved reference inside a string as `${TfToken[TOKEN.n]}`.
 * It is the one cdktf detail this module knows; it keeps those markers out of escaping.
 */
const CDKTF_TOKEN = /\$\{TfToken\[[^\]]+\]\}/g;

/** Quotes a value as one POSIX shell word. */
export function shellQuote(value: string | number | boolean): string {
  const s = String(value);
  if (s === "") return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) && !s.includes("${")) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Escapes Terraform template syntax in literal text: `${` → `$${`, `%{` → `%%{`.
 * cdktf token markers are left alone so they become real references at synth.
 */
export function escapeTerraformTemplate(text: string): string {
  let out = "";
  let last = 0;
  for (const m of text.matchAll(CDKTF_TOKEN)) {
    out += escapeLiteral(text.slice(last, m.index));
    out += m[0];
    last = (m.index ?? 0) + m[0].length;
  }
  return out + escapeLiteral(text.slice(last));
}

function escapeLiteral(text: string): string {
  // Function replacements: in a replacement string, "$$" would itself mean one "$".
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** Error for a template that does not match the values given to it. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
    Object.setPrototypeOf(this, TemplateError.prototype);
  }
}

/**
 * Replaces every `{{NAME}}` in `template` with `values.NAME`, each shell-quoted (lists
 * become several quoted words). Fails on a placeholder without a value and on a value
 * that no placeholder uses: both mean the template and its caller disagree.
 *
 * `quote: false` inserts values verbatim, for non-shell files (systemd units, INI) whose
 * values the caller has already checked.
 */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, TemplateValue>>,
  options: { name?: string; quote?: boolean } = {},
): string {
  const name = options.name ?? "template";
  const quote = options.quote ?? true;
  const used = new Set<string>();
  const missing = new Set<string>();
  const rendered = template.replace(PLACEHOLDER, (_all, key: string) => {
    if (!Object.prototype.hasOwnProperty.call(values, key)) {
      missing.add(key);
      return "";
    }
    used.add(key);
    const value = values[key];
    if (Array.isArray(value)) return value.map((v) => (quote ? shellQuote(v) : v)).join(" ");
    const scalar = value as string | number | boolean;
    return quote ? shellQuote(scalar) : String(scalar);
  });
  if (missing.size > 0) {
    throw new TemplateError(`${name}: no value for placeholder(s) ${[...missing].map((k) => `{{${k}}}`).join(", ")}`);
  }
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) {
    throw new TemplateError(`${name}: unknown placeholder(s) ${unused.join(", ")} (not in the template)`);
  }
  return rendered;
}

/**
 * Directory of the template files. Works from the TypeScript sources (`lib/` next to
 * `templates/`) and from the build (`dist/lib/`, two levels below the package root).
 */
export function templatesDir(): string {
  const candidates = [path.resolve(__dirname, "..", "templates"), path.resolve(__dirname, "..", "..", "templates")];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, "startup-script.sh")));
  if (!found) throw new TemplateError(`templates/ not found next to ${__dirname} (looked in ${candidates.join(", ")})`);
  return found;
}

const cache = new Map<string, string>();

/** Reads a file from templates/ (cached: templates do not change while a process runs). */
export function readTemplate(fileName: string): string {
  let text = cache.get(fileName);
  if (text === undefined) {
    text = fs.readFileSync(path.join(templatesDir(), fileName), "utf8");
    cache.set(fileName, text);
  }
  return text;
}
