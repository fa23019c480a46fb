// The rendered startup script, unit file and INI: pins, flags, allowed hosts per mode, no
// SQLite, migrations before serving; checked by bash -n, shellcheck and systemd-analyze.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  renderStartupScript, renderMlflowUnit, renderBasicAuthIni, serverArguments, StartupScriptOptions, DEFAULT_DEPENDENCY_CUTOFF, UV_VERSION,
} from "../lib";
import { readTemplate } from "../lib/template";
import { SCRIPT_OPTIONS, TEST_CA_PEM, synthStack, vmScript, tool, verifyMlflowUnit } from "./helpers";

const PUBLIC_OPTIONS: StartupScriptOptions = {
  ...SCRIPT_OPTIONS,
  endpoints: [...SCRIPT_OPTIONS.endpoints!, { scheme: "http", host: "34.76.1.2", port: 5000 }],
};
const HTTPS_OPTIONS: StartupScriptOptions = {
  ...SCRIPT_OPTIONS,
  bindAddress: "127.0.0.1",
  domain: "mlflow.example.com",
  caddyDataDevice: "caddy-data",
  endpoints: [{ scheme: "https", host: "mlflow.example.com", port: 443 }],
};

/** `KEY=value` lines of the unit's Environment=. */
function unitEnv(unit: string): Record<string, string> {
  return Object.fromEntries([...unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
}

/** `NAME=value` of a variable assignment line in the script. */
function assignment(script: string, name: string): string {
  const m = new RegExp(`^${name}=(.*)$`, "m").exec(script);
  if (!m) throw new Error(`no ${name}= in script`);
  return m[1];
}

function execStart(unit: string): string {
  return /^ExecStart=(.*)$/m.exec(unit)![1];
}


describe("pins and reproducible installs", () => {
  test("default: mlflow[auth] 3.18.0 with the pinned driver, GCS client and metrics exporter", () => {
    expect(assignment(renderStartupScript(SCRIPT_OPTIONS), "PYTHON_REQUIREMENTS")).toBe(
      "('mlflow[auth]==3.18.0' psycopg2-binary==2.9.13 google-cloud-storage==3.17.1 prometheus-flask-exporter==0.23.2)",
    );
  });
  test("mlflowVersion is installed exactly; no auth extra without basic auth", () => {
    expect(assignment(renderStartupScript({ ...SCRIPT_OPTIONS, mlflowVersion: "3.9.1", basicAuth: false }), "PYTHON_REQUIREMENTS")).toBe(
      "(mlflow==3.9.1 psycopg2-binary==2.9.13 google-cloud-storage==3.17.1 prometheus-flask-exporter==0.23.2)",
    );
  });
  test("the stack's mlflowVersion reaches the VM", () => {
    expect(vmScript(synthStack({ mlflowVersion: "3.17.2" }).json)).toContain("'mlflow[auth]==3.17.2'");
  });
  test("everything below the pins is resolved as of the cutoff, with a pinned uv", () => {
    const script = renderStartupScript(SCRIPT_OPTIONS);
    expect(assignment(script, "DEPENDENCY_CUTOFF")).toBe(DEFAULT_DEPENDENCY_CUTOFF);
    expect(DEFAULT_DEPENDENCY_CUTOFF).toBe("2026-11-28T00:00:00Z");
    expect(assignment(script, "UV_VERSION")).toBe(UV_VERSION);
    expect(script).toContain('"$UV_DIR/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check "uv==$UV_VERSION"');
    expect(script).toContain('"$UV_DIR/bin/uv" pip install --quiet --no-cache --python "$VENV_DIR/bin/python" \\\n      --exclude-newer "$DEPENDENCY_CUTOFF" "${PYTHON_REQUIREMENTS[@]}"');
    // pip installs uv and nothing else.
    const pipInstalls = script.split("\n").filter((l) => /\bpip" install\b/.test(l));
    expect(pipInstalls).toHaveLength(1);
  });
  test("the stack's dependencyCutoff reaches the VM (a date alone means midnight UTC)", () => {
    expect(assignment(vmScript(synthStack({ dependencyCutoff: "2026-10-01" }).json), "DEPENDENCY_CUTOFF")).toBe("2026-10-01T00:00:00Z");
  });
  test("a failed install names the cutoff and the prop that moves it", () => {
    expect(renderStartupScript(SCRIPT_OPTIONS)).toContain("cannot be resolved: move dependencyCutoff past its release");
  });
});

describe("mlflow server flags", () => {
  test("private mode: exact command line; the database URI is not on it", () => {
    expect(execStart(renderMlflowUnit(SCRIPT_OPTIONS))).toBe(
      "/opt/mlflow/venv/bin/mlflow server --host 0.0.0.0 --port 5000 --workers 2 --serve-artifacts " +
        "--artifacts-destination gs://acme-ml-prod-mlflow-artifacts/mlartifacts " +
        "--allowed-hosts localhost,localhost:*,127.0.0.1,127.0.0.1:*,0.0.0.0,0.0.0.0:*,10.20.0.2,10.20.0.2:5000 " +
        "--expose-prometheus /run/mlflow-metrics --cors-allowed-origins http://10.20.0.2:5000 --app-name basic-auth",
    );
  });
  test("public mode: the static IP (with and without port) is an allowed host and a CORS origin", () => {
    const args = serverArguments(PUBLIC_OPTIONS);
    expect(args[args.indexOf("--allowed-hosts") + 1].split(",")).toEqual(
      expect.arrayContaining(["localhost:*", "0.0.0.0:*", "10.20.0.2", "34.76.1.2", "34.76.1.2:5000"]),
    );
    expect(args[args.indexOf("--cors-allowed-origins") + 1]).toBe("http://10.20.0.2:5000,http://34.76.1.2:5000");
  });
  test("HTTPS: the domain with and without :443; the origin without the default port", () => {
    const args = serverArguments(HTTPS_OPTIONS);
    expect(args[args.indexOf("--allowed-hosts") + 1]).toBe("localhost,localhost:*,127.0.0.1,127.0.0.1:*,0.0.0.0,0.0.0.0:*,mlflow.example.com,mlflow.example.com:443");
    expect(args[args.indexOf("--cors-allowed-origins") + 1]).toBe("https://mlflow.example.com");
  });
  test("the reserved internal IP and the VM's internal DNS names are allowed hosts and CORS origins", () => {
    const script = vmScript(synthStack().json);
    expect(script).toMatch(/--allowed-hosts localhost,localhost:\*,127\.0\.0\.1,127\.0\.0\.1:\*,0\.0\.0\.0,0\.0\.0\.0:\*,\$\{google_compute_address\.Server_InternalAddress_[0-9A-F]+\.address\},/);
    expect(script).toContain(",mlflow-server.europe-west1-b.c.acme-ml-prod.internal,mlflow-server.europe-west1-b.c.acme-ml-prod.internal:5000,");
    expect(script).toContain(",mlflow-server.c.acme-ml-prod.internal,mlflow-server.c.acme-ml-prod.internal:5000 ");
    expect(script).toMatch(/--cors-allowed-origins http:\/\/\$\{google_compute_address\.Server_InternalAddress_[0-9A-F]+\.address\}:5000,/);
    expect(script).toContain(",http://mlflow-server.europe-west1-b.c.acme-ml-prod.internal:5000,http://mlflow-server.c.acme-ml-prod.internal:5000 ");
  });
  test("the stack's static IP reference goes into --allowed-hosts and the origins", () => {
    const script = vmScript(synthStack({ access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } }).json);
    expect(script).toContain(",${google_compute_address.Server_Address_A4786078.address},${google_compute_address.Server_Address_A4786078.address}:5000 ");
    expect(script).toContain(",http://${google_compute_address.Server_Address_A4786078.address}:5000 ");
  });
  test("port and workers", () => {
    const unit = renderMlflowUnit({ ...SCRIPT_OPTIONS, port: 8080, workers: 4 });
    expect(execStart(unit)).toContain("--port 8080 --workers 4 ");
  });
  test("basic auth off: no --app-name, no credential", () => {
    const unit = renderMlflowUnit({ ...SCRIPT_OPTIONS, basicAuth: false });
    expect(unit).not.toContain("--app-name");
    expect(unit).not.toContain("LoadCredential");
  });
  test("proxy multipart upload stays off (broken with Compute Engine credentials on GCS)", () => {
    expect(renderStartupScript(SCRIPT_OPTIONS)).not.toContain("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD");
  });
  test("a value that cannot go on a systemd command line is refused", () => {
    expect(() => renderMlflowUnit({ ...SCRIPT_OPTIONS, artifactsDestination: "gs://b/x y" })).toThrow(/cannot go into a systemd unit line/);
    expect(() => renderMlflowUnit({ ...SCRIPT_OPTIONS, artifactsDestination: "gs://b/100%" })).toThrow(/systemd/);
  });
});

describe("database and auth", () => {
  const script = renderStartupScript(SCRIPT_OPTIONS);
  const unit = renderMlflowUnit(SCRIPT_OPTIONS);
  test("no SQLite anywhere: tracking and auth data live in PostgreSQL", () => {
    for (const text of [script, unit, renderBasicAuthIni(SCRIPT_OPTIONS)]) expect(text).not.toMatch(/sqlite:/i);
    expect(renderBasicAuthIni(SCRIPT_OPTIONS)).toMatch(/^database_uri = @DATABASE_URI@$/m);
  });
  test("the URI names its driver (SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3) and verifies the server's CA", () => {
    expect(script).toContain('backend_uri="postgresql+psycopg2://');
    expect(script).toContain("?sslmode=verify-ca&sslrootcert=$DB_CA_FILE&connect_timeout=10\"");
    expect(script).not.toMatch(/postgresql:\/\//);
    expect(script).not.toContain("sslmode=require");
    expect(script).toContain(`\nDB_CA_CERT='${TEST_CA_PEM}'\n`);
    expect(script).toContain('write_file "$DB_CA_FILE" 0644 "$DB_CA_CERT"');
    // The mlflow user opens the CA by name; the directory lists nothing to it.
    expect(script).toContain('install -d -m 0711 -o root -g root "$CONFIG_DIR"');
  });
  test("the stack gives the VM the instance's server CA (a reference, not a value)", () => {
    expect(vmScript(synthStack().json)).toContain("DB_CA_CERT='${google_sql_database_instance.Database_B269D8BB.server_ca_cert[0].cert}'");
  });
  test("the server's environment: telemetry and the job runner off, bounded pools, backup settings", () => {
    expect(unitEnv(unit)).toEqual({
      MLFLOW_AUTH_CONFIG_PATH: "%d/basic_auth.ini",
      MLFLOW_DISABLE_TELEMETRY: "true",
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
      MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "2",
      MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "2",
      CLOUD_SQL_BACKUP_INSTANCE: "acme-ml-prod/mlflow-db",
      MLFLOW_BACKUP_RETRY_PAUSE_SECONDS: "300",
      TMPDIR: "/var/tmp",
    });
    expect(unitEnv(renderMlflowUnit({ ...SCRIPT_OPTIONS, enableJobExecution: true, backupInstance: undefined, poolSize: 3, maxOverflow: 1 })))
      .toMatchObject({ MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "true", CLOUD_SQL_BACKUP_INSTANCE: "", MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "3", MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "1" });
  });

  test("the schema is migrated before the server starts, tracking and auth", () => {
    const pre = unit.indexOf("ExecStartPre=/opt/mlflow/venv/bin/python /opt/mlflow/bin/mlflow-db-upgrade.py");
    expect(pre).toBeGreaterThan(0);
    expect(pre).toBeLessThan(unit.indexOf("ExecStart=/opt/mlflow/venv/bin/mlflow server"));
    const helper = readTemplate("mlflow-db-upgrade.py");
    expect(helper).toContain('cli.main(args=["db", "upgrade", URI]');
    expect(helper).toContain('commands.main(args=["db", "upgrade", "--url", URI]');
    // The backup comes first, and only for a schema behind the installed MLflow.
    expect(helper.indexOf("backup(f\"{' and '.join(behind)} schema behind\")")).toBeGreaterThan(0);
    expect(helper.indexOf("backup(f\"{' and '.join(behind)} schema behind\")")).toBeLessThan(helper.indexOf("upgrade_tracking_schema()\n    if auth"));
    expect(helper).toContain('"version_table": "alembic_version_auth"');
  });
  test("the unit restarts forever and reads secrets from root-only files", () => {
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=0$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/mlflow\/mlflow.env$/m);
    expect(unit).toMatch(/^LoadCredential=basic_auth.ini:\/etc\/mlflow\/basic_auth.ini$/m);
    expect(unit).toMatch(/^Environment=MLFLOW_AUTH_CONFIG_PATH=%d\/basic_auth.ini$/m);
    expect(unit).toMatch(/^User=mlflow$/m);
    expect(script).toContain('write_file "$ENV_FILE" 0600');
    expect(script).toContain('write_file "$AUTH_INI" 0600');
  });
  test("default permission and admin user name reach the INI", () => {
    const ini = renderBasicAuthIni({ defaultPermission: "NO_PERMISSIONS" });
    expect(ini).toMatch(/^default_permission = NO_PERMISSIONS$/m);
    expect(ini).toMatch(/^admin_username = admin$/m);
    expect(ini).toMatch(/^admin_password = @ADMIN_PASSWORD@$/m);
  });
  test("basic auth needs its two secrets", () => {
    expect(() => renderStartupScript({ ...SCRIPT_OPTIONS, adminPasswordSecret: undefined })).toThrow(/adminPasswordSecret/);
  });
});

describe("static checks of the rendered text", () => {
  const variants: Array<[string, StartupScriptOptions]> = [
    ["private", SCRIPT_OPTIONS],
    ["public", PUBLIC_OPTIONS],
    ["no basic auth", { ...SCRIPT_OPTIONS, basicAuth: false, adminPasswordSecret: undefined, flaskSecretKeySecret: undefined }],
    ["https", HTTPS_OPTIONS],
  ];
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-script-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each(variants)("%s: bash -n", (name, options) => {
    const file = path.join(dir, `${name}.sh`);
    fs.writeFileSync(file, renderStartupScript(options));
    execFileSync("bash", ["-n", file]);
  });

  test("the synthesized script, Terraform references stood in, passes bash -n", () => {
    const script = vmScript(synthStack().json).replace(/\$\{[a-z_]+\.[A-Za-z0-9_-]+(\.[a-z_]+(\[\d+\])?)+\}/g, "10.1.2.3");
    expect(script).not.toMatch(/\$\{google_/);
    const file = path.join(dir, "synth.sh");
    fs.writeFileSync(file, script);
    execFileSync("bash", ["-n", file]);
  });

  test.each(variants)("%s: shellcheck at warning level", (name, options) => {
    if (!tool("shellcheck")) return;
    const file = path.join(dir, `${name}-sc.sh`);
    fs.writeFileSync(file, renderStartupScript(options));
    const result = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  test.each(variants)("%s: systemd-analyze verify accepts the unit with no warning", (_name, options) => {
    if (!tool("systemd-analyze", "systemd")) return;
    expect(verifyMlflowUnit(renderMlflowUnit(options))).toEqual({ output: "", status: 0 });
  });

  test("the verify check can fail: an unknown key is reported", () => {
    if (!tool("systemd-analyze", "systemd")) return;
    const unit = renderMlflowUnit(SCRIPT_OPTIONS).replace("Restart=always", "Restart=always\nRestartt=always");
    expect(verifyMlflowUnit(unit).output).toContain("Unknown key 'Restartt'");
  });
});

describe("HTTPS: Caddy from its own repository, certificates on a persistent disk", () => {
  const script = renderStartupScript(HTTPS_OPTIONS);
  test("Caddy's apt repository with an ASCII-armored key and a pin on the 2.11 series", () => {
    expect(script).toContain("readonly CADDY_REPO_URL=https://dl.cloudsmith.io/public/caddy/stable");
    expect(script).toContain('"deb [signed-by=$CADDY_KEY_FILE] $CADDY_REPO_URL/deb/debian any-version main"');
    expect(script).toContain(`"Package: caddy"$'\\n'"Pin: version $CADDY_SERIES.*"$'\\n'"Pin-Priority: 1001"`);
    expect(script).toContain("readonly CADDY_SERIES=2.11");
  });
  test("the disk is mounted before Caddy is installed, and a disk with a file system is never formatted", () => {
    const main = script.slice(script.indexOf("main() {"));
    expect(main.indexOf("mount_caddy_data")).toBeLessThan(main.indexOf("install_os_packages"));
    expect(script).toContain("if ((rc == 2)); then # blkid: no file system found");
    expect(assignment(script, "CADDY_DATA_DEVICE")).toBe("caddy-data");
  });
  test("a domain without the data disk is refused", () => {
    expect(() => renderStartupScript({ ...HTTPS_OPTIONS, caddyDataDevice: undefined })).toThrow(/persistent disk/);
  });
});
