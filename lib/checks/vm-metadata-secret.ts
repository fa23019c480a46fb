// MLF-VM-METADATA-SECRET: instance metadata (the startup script included) is readable by
// every process on the VM through the metadata server and by anyone with
// compute.instances.get on the project; secrets are fetched from Secret Manager at boot.
// Found by value (a generated password, a secret version, a literal `PASSWORD=…`, a URL with
// a password) and by key name (`db-password`, `api_key`: a secret may be any string, so only
// its name gives it away).
import { MlflowRule, VM_TYPES, compliant, nonCompliant, notCheckable } from "./rule";
import { JsonObject, interpolations, isReference, stringMap } from "./private/json";
import { secretKeyName } from "./private/secrets";

/** References to values that are secrets. */
const SECRET_REFERENCES: ReadonlyArray<[RegExp, string]> = [
  [/\brandom_password\.[\w-]+/, "a generated password (random_password)"],
  [/\bgoogle_secret_manager_secret_version(_access)?\.[\w-]+\.secret_data\b/, "a Secret Manager secret value (secret_data)"],
  [/\bgoogle_sql_user\.[\w-]+\.password\b/, "a Cloud SQL user's password"],
  [/\bgoogle_service_account_key\.[\w-]+\.private_key\b/, "a service account key"],
];

/** `KEY=value` where KEY ends in a password-like word and the value is a literal. */
const LITERAL_ASSIGNMENT = /(?:^|[^A-Za-z0-9_])([A-Za-z0-9_]*(?:password|passwd|secret_key|secretkey|api_key|apikey|access_token|auth_token))\s*=\s*(['"]?)([^\s'"]*)\2/gi;
/** `scheme://user:password@host` with a literal password. */
const URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]+:([^\s@/'"]+)@/gi;

/**
 * Whether an assigned value is written out, as opposed to taken from somewhere at run time:
 * a shell expansion ($x, $(cmd)), a Terraform escape ($${), a template marker (@X@, {{X}},
 * <x>) or nothing at all.
 */
function isLiteral(value: string): boolean {
  return value.length >= 4 && !/^[$@{<%(`]/.test(value);
}

/** Why a metadata value under a secret-named key is a secret: anything but empty, a switch, or a secret's name. */
function valueUnderSecretKey(value: string): string | undefined {
  const v = value.trim();
  if (v === "" || /^(true|false|yes|no|on|off|0|1)$/i.test(v)) return undefined;
  // A reference to the secret itself (its id or name), not to its value.
  if (/^\$\{google_secret_manager_secret\.[\w-]+\.(secret_id|id|name)\}$/.test(v)) return undefined;
  return isReference(v) ? "a value from another resource" : "a literal value";
}

/** Why a text holds a secret, or undefined. */
function secretIn(text: string): string | undefined {
  for (const expression of interpolations(text)) {
    for (const [pattern, what] of SECRET_REFERENCES) {
      const m = pattern.exec(expression);
      if (m) return `${what}: \${${m[0]}…}`;
    }
  }
  for (const m of text.matchAll(LITERAL_ASSIGNMENT)) {
    if (isLiteral(m[3])) return `a literal value assigned to ${m[1]}`;
  }
  for (const m of text.matchAll(URL_CREDENTIALS)) {
    if (isLiteral(m[1])) return "a URL with a literal password";
  }
  return undefined;
}

export const vmMetadataSecret: MlflowRule = {
  id: "MLF-VM-METADATA-SECRET",
  level: "error",
  title: "No secret in instance metadata or the startup script",
  why: "Metadata is served to every process on the VM and shown to anyone who can view the instance (roles/compute.viewer, the console, gcloud compute instances describe), and is kept in Terraform state and plans in clear; a password there is readable far beyond the service account that needs it.",
  howToFix: "Keep secrets in Secret Manager and let the startup script fetch them at boot with the VM's service account (granted secretAccessor on those secrets only), as MlflowTrackingServer does; reference secrets by name, never by value.",
  resourceTypes: VM_TYPES,
  check(resource) {
    const config = resource.config as JsonObject;
    if (isReference(config.metadata)) return notCheckable("metadata");
    const places: Array<[string, string]> = [];
    if (typeof config.metadata_startup_script === "string") places.push(["metadata_startup_script", config.metadata_startup_script]);
    for (const [key, value] of Object.entries(stringMap(config.metadata) ?? {})) places.push([`metadata["${key}"]`, value]);
    const found = places.flatMap(([where, text]) => {
      const why = secretIn(text);
      return why === undefined ? [] : [`${where} holds ${why}`];
    });
    // By key name too: a secret may be any string, so its value alone does not give it away.
    for (const [key, value] of Object.entries(stringMap(config.metadata) ?? {})) {
      if (key === "startup-script" || !secretKeyName(key) || found.some((f) => f.startsWith(`metadata["${key}"]`))) continue;
      const what = valueUnderSecretKey(value);
      if (what !== undefined) found.push(`metadata["${key}"] is named like a secret and holds ${what}`);
    }
    return found.length === 0 ? compliant() : nonCompliant(found.join("; "));
  },
};
