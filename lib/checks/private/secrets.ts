// Names that give a secret away: a secret may be any string, so only the name of the key
// that holds it (instance metadata, an environment variable) tells it is one.

/** Words that make a key (a metadata key, an environment variable) a secret's name. */
const SECRET_WORDS = ["password", "passwd", "pwd", "secret", "token", "credential", "credentials", "apikey", "privatekey", "passphrase"];
/** Two-word secrets: api-key, private-key, access-key, secret-key, client-secret, auth-token. */
const SECRET_PAIRS = [["api", "key"], ["private", "key"], ["access", "key"], ["secret", "key"], ["client", "secret"], ["auth", "token"]];
/** A last word that makes the key name a thing, not hold it: db-password-name, token-file, … */
const NAMING_WORDS = ["name", "id", "ref", "path", "file", "uri", "url", "version", "location"];

/**
 * Whether a key (metadata, environment variable) is named like a secret value
 * (`db-password`, `api_key`, `flask-secret-key`), as opposed to naming where one is
 * (`db-password-secret`: the Secret Manager secret holding it; `token-file`,
 * `password-secret-name`).
 */
export function secretKeyName(key: string): boolean {
  const words = key.toLowerCase().split(/[-_.\s]+/).filter(Boolean);
  const last = words[words.length - 1];
  if (last === undefined || NAMING_WORDS.includes(last)) return false;
  const isSecretWord = (w: string) => SECRET_WORDS.includes(w);
  // "<password|token|key…>-secret": the name of the secret that holds it.
  if (last === "secret" && words.slice(0, -1).some((w) => isSecretWord(w) || w === "key")) return false;
  if (words.some(isSecretWord)) return true;
  return SECRET_PAIRS.some(([a, b]) => words.some((w, i) => w === a && words[i + 1] === b));
}
