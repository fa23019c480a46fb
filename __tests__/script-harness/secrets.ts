// The fake Secret Manager's values for the startup-script harness (see exec-helpers.ts).

/**
 * Characters that need URL encoding (every reserved one, and "%41", which a careless
 * decoder turns into "A"), INI %-escaping, and that a shell or systemd could expand ($, %d)
 * if the script handled them carelessly. (The library's generated passwords are
 * alphanumeric; a user may set others.)
 */
export const SECRETS: Record<string, string> = {
  "mlflow-db-password": "db pa$$:w/rd@x%41?#&+1",
  "mlflow-admin-password": "adm%in p@ss$1;#x",
  "mlflow-flask-secret-key": "flask-key$HOME %d 9",
};
export const DB_PASSWORD = SECRETS["mlflow-db-password"];
