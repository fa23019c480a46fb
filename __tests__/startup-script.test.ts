// The rendered startup script, unit file and INI: pins, flags, allowed hosts per mode, no
// SQLite, migrations before serving; checked by bash -n, shellcheck and systemd-analyze.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  renderStartupScript, renderMlflowUnit, renderBasicAuthIni, serverArguments, StartupScriptOptions,
} from "../lib";
import { readTemplate } from "../lib/template";
import { SCRIPT_OPTIONS, synthStack, vmScript, tool, verifyMlflowUnit } from "./helpers";

const PUBLIC_OPTIONS: StartupScriptOptions = {
  ...SCRIPT_OPTIONS,
  extraAllowedHosts: ["34.76.1.2", "34.76.1.2:5000"],
  corsAllowedOrigins: ["http://34.76.1.2:5000"],
};

/** `NAME=value` of a variable assignment line in the script. */
function assignment(script: string, name: string): string {
  const m = new RegExp(`^${name}=(.*)$`, "m").exec(script);
  if (!m) throw new Error(`no ${name}= in script`);
  return m[1];
}

function execStart(unit: string): string {
  return /^ExecStart=(.*)$/m.exec(unit)![1];
}


describe("pins", () => {
  test("default: mlflow[auth] 3.18.0 with pinned driver and GCS client", () => {
    expect(assignment(renderStartupScript(SCRIPT_OPTIONS), "PIP_REQUIREMENTS")).toBe(
      "('mlflow[auth]==3.18.0' psycopg2-binary==2.9.13 google-cloud-storage==3.17.1)",
    );
  });
  test("mlflowVersion is installed exactly; no auth extra without basic auth", () => {
    expect(assignment(renderStartupScript({ ...SCRIPT_OPTIONS, mlflowVersion: "3.9.1", basicAuth: false }), "PIP_REQUIREMENTS")).toBe(
      "(mlflow==3.9.1 psycopg2-binary==2.9.13 google-cloud-storage==3.17.1)",
    );
  });
  test("the stack's mlflowVersion reaches the VM", () => {
    expect(vmScript(synthStack({ mlflowVersion: "3.17.2" }).json)).toContain("'mlflow[auth]==3.17.2'");
  });
});

describe("mlflow server flags", () => {
  test("private mode: exact command line; the database URI is not on it", () => {
    expect(execStart(renderMlflowUnit(SCRIPT_OPTIONS))).toBe(
      "/opt/mlflow/venv/bin/mlflow server --host 0.0.0.0 --port 5000 --workers 2 --serve-artifacts " +
        "--artifacts-destination gs://acme-ml-prod-mlflow-artifacts/mlartifacts " +
        "--allowed-hosts localhost,localhost:*,127.0.0.1,127.0.0.1:*,@INTERNAL_IP@,@INTERNAL_IP@:* --app-name basic-auth",
    );
  });
  test("public mode: the static IP (with and without port) is an allowed host and the CORS origin", () => {
    const args = serverArguments(PUBLIC_OPTIONS);
    expect(args[args.indexOf("--allowed-hosts") + 1].split(",")).toEqual(
      expect.arrayContaining(["localhost:*", "@INTERNAL_IP@", "34.76.1.2", "34.76.1.2:5000"]),
    );
    expect(args[args.indexOf("--cors-allowed-origins") + 1]).toBe("http://34.76.1.2:5000");
  });
  test("the VM's internal DNS names (zonal and global) are allowed hosts", () => {
    const script = vmScript(synthStack().json);
    expect(script).toContain(",mlflow-server.europe-west1-b.c.acme-ml-prod.internal,mlflow-server.europe-west1-b.c.acme-ml-prod.internal:*,");
    expect(script).toContain(",mlflow-server.c.acme-ml-prod.internal,mlflow-server.c.acme-ml-prod.internal:* ");
  });
  test("the stack's static IP reference goes into --allowed-hosts", () => {
    const script = vmScript(synthStack({ access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } }).json);
    expect(script).toContain(",${google_compute_address.Server_Address_A4786078.address},${google_compute_address.Server_Address_A4786078.address}:5000 ");
    expect(script).toContain("--cors-allowed-origins http://${google_compute_address.Server_Address_A4786078.address}:5000");
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
    expect(() => renderMlflowUnit({ ...SCRIPT_OPTIONS, artifactsDestination: "gs://b/x y" })).toThrow(/cannot go into a systemd command line/);
    expect(() => renderMlflowUnit({ ...SCRIPT_OPTIONS, artifactsDestination: "gs://b/100%" })).toThrow(/systemd/);
  });
});

describe("database and auth", () => {
  const script = renderStartupScript(SCRIPT_OPTIONS);
  const unit = renderMlflowUnit(SCRIPT_OPTIONS);
  test("no SQLite anywhere: tracking and auth data live in PostgreSQL", () => {
    for (const text of [script, unit, renderBasicAuthIni(SCRIPT_OPTIONS)]) expect(text).not.toMatch(/sqlite:/i);
    expect(renderBasicAuthIni(SCRIPT_OPTIONS)).toMatch(/^database_uri = @DATABASE_URI@$/m);
    expect(script).toContain('backend_uri="postgresql://');
    expect(script).toContain("?sslmode=require&connect_timeout=10\"");
  });
  test("the schema is migrated before the server starts, tracking and auth", () => {
    const pre = unit.indexOf("ExecStartPre=/opt/mlflow/venv/bin/python /opt/mlflow/bin/mlflow-db-upgrade.py");
    expect(pre).toBeGreaterThan(0);
    expect(pre).toBeLessThan(unit.indexOf("ExecStart=/opt/mlflow/venv/bin/mlflow server"));
    const helper = readTemplate("mlflow-db-upgrade.py");
    expect(helper).toContain('cli.main(args=["db", "upgrade", URI]');
    expect(helper).toContain('commands.main(args=["db", "upgrade", "--url", URI]');
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
    const script = vmScript(synthStack().json).replace(/\$\{[a-z_]+\.[A-Za-z0-9_-]+\.[a-z_]+\}/g, "10.1.2.3");
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
    const unit = renderMlflowUnit(options).split("@INTERNAL_IP@").join("10.20.0.2");
    expect(verifyMlflowUnit(unit)).toEqual({ output: "", status: 0 });
  });

  test("the verify check can fail: an unknown key is reported", () => {
    if (!tool("systemd-analyze", "systemd")) return;
    const unit = renderMlflowUnit(SCRIPT_OPTIONS).replace("Restart=always", "Restart=always\nRestartt=always");
    expect(verifyMlflowUnit(unit).output).toContain("Unknown key 'Restartt'");
  });
});
