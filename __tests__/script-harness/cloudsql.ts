// The fake VMs' database: a real PostgreSQL (Debian's postgresql-15 binaries, found under
// /usr/lib/postgresql/*/bin) standing in for the Cloud SQL instance, with what the startup
// script relies on set like Cloud SQL: TLS required (only `hostssl` lines in pg_hba.conf,
// as with Cloud SQL's "allow only SSL connections"), a server certificate signed by a CA of
// its own (Cloud SQL's default per-instance CA; the test hands this CA to the script as
// `databaseCaCertificate`), `ssl_min_protocol_version = TLSv1.2`, `max_connections = 50`
// (what lib/connection-budget.ts sets for the default tier db-g1-small) with PostgreSQL's 3
// superuser slots, scram-sha-256 passwords, and the `mlflow` database and user.
//
// The server certificate names the instance ("PROJECT:INSTANCE"), not its IP address: the
// script uses sslmode=verify-ca, which checks the chain and not the name (PostgreSQL docs,
// libpq "SSL Support": "verify-ca ... checking the certificate chain up to a trusted
// certificate authority"; verify-full also checks the host name).
//
// One template data directory is made per run (jest's globalSetup, global-setup.ts; or per
// test process when a file runs alone): initdb and the certificates take a second or two.
// Every instance is an overlay on it (its own changes in upper/, so making one
// costs nothing). An instance's directory (upper/ and work/ of the overlay, data/ where it
// is mounted, run/ for the Unix socket, postgres.log, backups/) is bound into the fake VM
// at /harness/cloudsql and the template's data directory, read-only, at
// /harness/cloudsql-template; at every boot vm-init.sh mounts the overlay and starts the
// server (./fake-cloudsql) on the instance's private address, added to the VM's loopback
// interface, so it is reachable only from inside that VM, like a private IP. The server runs as uid 65534 (nobody): postgres refuses to
// run as root. The harness (and the fake Cloud SQL Admin API) reach it as the superuser
// `postgres` over the Unix socket, which the VM's users cannot open (0700 directory).
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The unprivileged uid/gid PostgreSQL runs as (nobody/nogroup on Debian). */
export const POSTGRES_UID = 65534;
/** What lib/connection-budget.ts sets for the default tier (db-g1-small). */
export const MAX_CONNECTIONS = 50;
/** PostgreSQL's default, set explicitly (lib/connection-budget.ts SUPERUSER_RESERVED_CONNECTIONS). */
export const SUPERUSER_RESERVED = 3;
/** "PROJECT:INSTANCE", the name in the server certificate. */
const DEFAULT_INSTANCE = "acme-ml-prod:mlflow-db";

/** The directory of the newest PostgreSQL binaries installed (Debian: /usr/lib/postgresql/N/bin). */
export function postgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(root, v, "bin/initdb")));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0], "bin") : undefined;
}

function run(cmd: string, args: string[], opts: { input?: string; asPostgres?: boolean; cwd?: string } = {}): SpawnSyncReturns<string> {
  const [file, argv] = opts.asPostgres
    ? ["setpriv", [`--reuid=${POSTGRES_UID}`, `--regid=${POSTGRES_UID}`, "--clear-groups", "--", cmd, ...args]]
    : [cmd, args];
  const result = spawnSync(file, argv, { encoding: "utf8", input: opts.input, cwd: opts.cwd });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${result.status}):\n${result.stdout}${result.stderr}`);
  return result;
}

/** A SQL string literal (standard_conforming_strings is on). */
function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A CA (self-signed) and, with `signServer`, a server certificate it signs. EC P-256: fast to make. */
function makeCa(dir: string, name: string): void {
  run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
    "-subj", `/CN=${name}`, "-keyout", path.join(dir, `${name}.key`), "-out", path.join(dir, `${name}.pem`)]);
}

export interface Template {
  readonly dir: string;
  readonly caPem: string;
  readonly otherCaPem: string;
}

/** A template made by another process (jest's globalSetup), found through the environment. */
function sharedTemplate(): Template | undefined {
  const dir = process.env.MLFLOW_HARNESS_CLOUDSQL_TEMPLATE;
  if (!dir || !fs.existsSync(path.join(dir, "data"))) return undefined;
  return {
    dir,
    caPem: fs.readFileSync(path.join(dir, "certs/instance-ca.pem"), "utf8").trim(),
    otherCaPem: fs.readFileSync(path.join(dir, "certs/other-ca.pem"), "utf8").trim(),
  };
}

const templates = new Map<string, Template>();

/** Removes the data directories this process made (call after its last test). */
export function destroyTemplates(): void {
  const shared = process.env.MLFLOW_HARNESS_CLOUDSQL_TEMPLATE;
  templates.forEach((t) => {
    if (t.dir !== shared && !process.env.KEEP_VMS) fs.rmSync(t.dir, { recursive: true, force: true });
  });
  templates.clear();
}

/** The template for the `mlflow` user's password (the default instance name); for jest's globalSetup. */
export function makeTemplate(password: string): Template {
  return template(password, DEFAULT_INSTANCE);
}

/**
 * The initdb'd data directory with TLS, the `mlflow` user (password `password`) and
 * database, made once per test process and password.
 */
function template(password: string, instanceName: string): Template {
  const key = `${password}\n${instanceName}`;
  const cached = templates.get(key);
  if (cached) return cached;
  const shared = sharedTemplate();
  if (shared && fs.readFileSync(path.join(shared.dir, "key"), "utf8") === key) {
    templates.set(key, shared);
    return shared;
  }
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-cloudsql-template-"));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  fs.mkdirSync(data, { mode: 0o700 });
  fs.chownSync(data, POSTGRES_UID, POSTGRES_UID);
  run(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
    "--no-sync", "--wal-segsize=1", "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8"], { asPostgres: true, cwd: "/" });

  // Certificates: the instance's CA and its server certificate, and an unrelated CA.
  const certs = path.join(dir, "certs");
  fs.mkdirSync(certs);
  makeCa(certs, "instance-ca");
  makeCa(certs, "other-ca");
  run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-subj", `/CN=${instanceName}`, "-keyout", path.join(data, "server.key"), "-out", path.join(certs, "server.csr")]);
  fs.writeFileSync(path.join(certs, "server.ext"), "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
  run("openssl", ["x509", "-req", "-in", path.join(certs, "server.csr"), "-CA", path.join(certs, "instance-ca.pem"),
    "-CAkey", path.join(certs, "instance-ca.key"), "-CAcreateserial", "-days", "3650", "-extfile", path.join(certs, "server.ext"),
    "-out", path.join(data, "server.crt")]);
  for (const f of ["server.key", "server.crt"]) {
    fs.chownSync(path.join(data, f), POSTGRES_UID, POSTGRES_UID);
    fs.chmodSync(path.join(data, f), 0o600);
  }

  fs.appendFileSync(path.join(data, "postgresql.conf"), [
    "",
    "# cdktf-mlflow-gcp test harness (script-harness/cloudsql.ts): like the Cloud SQL instance",
    "port = 5432",
    "listen_addresses = ''            # set at start: the instance's private address in the VM",
    "unix_socket_directories = '/harness/cloudsql/run'",
    `max_connections = ${MAX_CONNECTIONS}`,
    `superuser_reserved_connections = ${SUPERUSER_RESERVED}`,
    "ssl = on",
    "ssl_cert_file = 'server.crt'",
    "ssl_key_file = 'server.key'",
    "ssl_min_protocol_version = 'TLSv1.2'",
    "password_encryption = 'scram-sha-256'",
    "# A test server: no durability needed (a power cut of the fake VM kills the process, not the",
    "# page cache), and no /dev/shm in the sandbox.",
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "dynamic_shared_memory_type = mmap",
    "shared_buffers = 16MB",
    "log_connections = off",
    "",
  ].join("\n"));
  // TLS only (Cloud SQL with "allow only SSL connections"); the harness over the socket.
  const hba = (tcp: string): string => [
    "# cdktf-mlflow-gcp test harness: the harness and the fake Admin API over the Unix socket",
    "local all all trust",
    tcp,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(data, "pg_hba.conf"), hba("hostssl all all 0.0.0.0/0 scram-sha-256"));
  // A server that speaks only plaintext (started with -c ssl=off -c hba_file=...): for the
  // test that the script's sslmode refuses it.
  fs.writeFileSync(path.join(data, "pg_hba_plaintext.conf"), hba("host all all 0.0.0.0/0 scram-sha-256"));
  for (const f of ["postgresql.conf", "pg_hba.conf", "pg_hba_plaintext.conf"]) fs.chownSync(path.join(data, f), POSTGRES_UID, POSTGRES_UID);

  // Users and database, in single-user mode (no network on the host).
  const sql = [
    `CREATE ROLE mlflow LOGIN PASSWORD ${literal(password)}`,
    "CREATE ROLE dbadmin LOGIN",
    "CREATE DATABASE mlflow OWNER mlflow",
    "",
  ].join("\n");
  run(path.join(bin, "postgres"), ["--single", "-D", data, "-c", "listen_addresses=", "-c", `unix_socket_directories=${dir}`, "postgres"],
    { asPostgres: true, input: sql, cwd: "/" });

  fs.writeFileSync(path.join(dir, "key"), key);
  const t = {
    dir,
    caPem: fs.readFileSync(path.join(certs, "instance-ca.pem"), "utf8").trim(),
    otherCaPem: fs.readFileSync(path.join(certs, "other-ca.pem"), "utf8").trim(),
  };
  templates.set(key, t);
  return t;
}

/** The CA that signs the fake instances' server certificates, and an unrelated one. */
export function instanceCas(password: string, instanceName = DEFAULT_INSTANCE): { caPem: string; otherCaPem: string } {
  const t = template(password, instanceName);
  return { caPem: t.caPem, otherCaPem: t.otherCaPem };
}

export interface FakeCloudSqlOptions {
  /** The `mlflow` user's password (the test's Secret Manager value). */
  readonly password: string;
  /** Private address and port the VM reaches it at (the script's DB_HOST, DB_PORT). */
  readonly host?: string;
  readonly port?: number;
  /** "PROJECT:INSTANCE", the name in its server certificate. */
  readonly instanceName?: string;
}

/** One fake Cloud SQL instance: a data directory that outlives the VMs that use it. */
export class FakeCloudSql {
  readonly dir: string;
  /** The template's data directory, the overlay's read-only lower layer. */
  readonly templateData: string;
  readonly host: string;
  readonly port: number;
  /** PEM of the CA that signed the server certificate (what `server_ca_cert` gives). */
  readonly caPem: string;
  /** PEM of an unrelated CA (for the wrong-CA test). */
  readonly otherCaPem: string;
  private readonly bin: string;

  constructor(options: FakeCloudSqlOptions) {
    const t = template(options.password, options.instanceName ?? DEFAULT_INSTANCE);
    this.bin = postgresBin()!;
    this.host = options.host ?? "10.91.0.3";
    this.port = options.port ?? 5432;
    this.caPem = t.caPem;
    this.otherCaPem = t.otherCaPem;
    this.templateData = path.join(t.dir, "data");
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-cloudsql-"));
    fs.chmodSync(this.dir, 0o755);
    // The overlay's upper layer gives the merged data directory its owner and mode (0700,
    // as postgres requires); work/ is overlayfs's own.
    for (const d of ["upper", "run", "backups"]) {
      fs.mkdirSync(path.join(this.dir, d), { mode: 0o700 });
      fs.chownSync(path.join(this.dir, d), POSTGRES_UID, POSTGRES_UID);
    }
    for (const d of ["work", "data"]) fs.mkdirSync(path.join(this.dir, d), { mode: 0o700 });
    fs.writeFileSync(path.join(this.dir, "postgres.log"), "");
    fs.chownSync(path.join(this.dir, "postgres.log"), POSTGRES_UID, POSTGRES_UID);
    fs.writeFileSync(path.join(this.dir, "address"), `${this.host} ${this.port}\n`);
  }

  /** Runs SQL as the superuser over the Unix socket (the server runs inside a booted VM); rows as tab-separated lines. */
  query(sql: string, database = "mlflow"): string {
    return run(path.join(this.bin, "psql"), ["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
      "-h", path.join(this.dir, "run"), "-p", String(this.port), "-U", "postgres", "-d", database, "-c", sql]).stdout.trim();
  }

  /** The revision in a version table, or null when the table does not exist or is empty. */
  revision(table: "alembic_version" | "alembic_version_auth"): string | null {
    if (this.query(`SELECT to_regclass('${table}') IS NOT NULL`) !== "t") return null;
    return this.query(`SELECT version_num FROM ${table}`) || null;
  }

  /** Tables of the public schema. */
  tables(): string[] {
    return this.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").split("\n").filter(Boolean);
  }

  /** The server's log (connections refused, TLS errors). */
  log(): string {
    return fs.readFileSync(path.join(this.dir, "postgres.log"), "utf8");
  }

  destroy(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
