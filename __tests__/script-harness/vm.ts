// A fake Compute Engine VM for running the startup script: a bubblewrap sandbox whose
// /etc, /opt and /var are directories of a temp "disk" (so they survive a reboot; /etc
// starts as the host's, read-only, see the constructor), with the host's /usr read-only,
// fresh /tmp, /run and /root on every boot, its own PID, IPC,
// UTS and network namespaces (only a loopback interface: nothing it runs can reach another
// machine, and its ports never collide with the host's), and the fakes of bin/ first on
// PATH. vm-init.sh is its first process; killing the sandbox is a power cut. See
// startup-script.exec.test.ts for why bubblewrap.
//
// Attached from outside, so they outlive the VM: a database (FakeCloudSql, a real
// PostgreSQL started inside the VM's network namespace at every boot, on the instance's
// private address) and persistent disks (FakeDisk: an image file at
// /dev/disk/by-id/google-NAME, formatted by the real mkfs.ext4; see bin/mount).
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FakeCloudSql, postgresBin } from "./cloudsql";

/** The harness directory (fakes, vm-init.sh); mounted read-only at /harness/src in the VM. */
export const HARNESS_DIR = __dirname;
/** What the fake metadata server answers. */
export const INTERNAL_IP = "10.20.0.2";
export const ACCESS_TOKEN = "ya29.fake-access-token-for-tests";
/** Packages of a fresh debian-12 GCE image that the script checks for (python3-venv is not one). */
export const IMAGE_PACKAGES = ["python3", "curl", "ca-certificates"];
/** Debian packages the fake venvs take the real SQLAlchemy, psycopg2 and alembic from (see venv/uv). */
export const DIST_PACKAGES = ["sqlalchemy", "psycopg2", "alembic", "mako", "markupsafe"];

/** One line of the call log: a fake's arguments, or an event of the fake MLflow. */
export interface Call {
  caller: "script" | "service" | "systemd" | "boot" | "dpkg" | "google" | "ops-agent-repo" | "test";
  cmd: string;
  argv: string[];
  [field: string]: any;
}

export interface JobResult {
  code: number;
  /** Standard output and error: what the serial console would show. */
  output: string;
  seconds: number;
}

const NAMESPACES = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"];

/** bwrap arguments for the host's /usr, read-only, and /bin, /lib ... as the host has them. */
function hostUsr(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const top of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    if (!fs.existsSync(top)) continue;
    if (fs.lstatSync(top).isSymbolicLink()) args.push("--symlink", fs.readlinkSync(top), top);
    else args.push("--ro-bind", top, top);
  }
  return args;
}

/** Why bubblewrap cannot run here, or undefined when it can. */
export function sandboxProblem(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (the fake VM runs the real useradd and setpriv)";
  const probe = spawnSync("bwrap", [...NAMESPACES, ...hostUsr(), "--proc", "/proc", "/usr/bin/true"], { encoding: "utf8" });
  if (probe.error) return `bwrap not found (apt-get install bubblewrap): ${probe.error.message}`;
  if (probe.status !== 0) return `bwrap cannot create a sandbox here: ${probe.stderr.trim()}`;
  for (const tool of ["/usr/bin/python3", "/usr/bin/curl", "/usr/sbin/useradd", "/usr/bin/setpriv", "/usr/sbin/ip", "/usr/bin/openssl",
    "/usr/sbin/mkfs.ext4", "/usr/sbin/blkid", "/usr/bin/mountpoint", "/usr/bin/mount", "/usr/bin/systemd-analyze"]) {
    if (!fs.existsSync(tool)) return `${tool} is missing`;
  }
  // The Ops Agent's configuration engine stand-in parses config.yaml with PyYAML.
  if (!fs.existsSync("/usr/lib/python3/dist-packages/yaml")) return "/usr/lib/python3/dist-packages/yaml is missing (python3-yaml)";
  if (!postgresBin()) return "PostgreSQL is not installed (apt-get install postgresql)";
  for (const pkg of DIST_PACKAGES) {
    if (!fs.existsSync(`/usr/lib/python3/dist-packages/${pkg}`)) return `/usr/lib/python3/dist-packages/${pkg} is missing (python3-sqlalchemy, python3-psycopg2, python3-alembic)`;
  }
  return undefined;
}

/**
 * A persistent disk: an image file (sparse; formatted by the real mkfs.ext4 in the VM) and,
 * next to it, the directory that stands for its file system's contents (bin/mount binds it
 * where the image would be mounted; bin/mkfs.ext4 empties it).
 */
export class FakeDisk {
  readonly dir: string;
  constructor(sizeMiB = 64) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-disk-"));
    fs.chmodSync(this.dir, 0o755);
    fs.writeFileSync(path.join(this.dir, "image"), "");
    fs.truncateSync(path.join(this.dir, "image"), sizeMiB * 1024 * 1024);
    fs.mkdirSync(path.join(this.dir, "files"), { mode: 0o755 });
  }

  /** Host path of a file on the disk's file system. */
  file(relative: string): string {
    return path.join(this.dir, "files", relative);
  }

  destroy(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface FakeVmOptions {
  /** The Cloud SQL instance the VM reaches at its private address. @default none */
  readonly database?: FakeCloudSql;
  /** Persistent disks by device name (/dev/disk/by-id/google-NAME). @default none */
  readonly disks?: Record<string, FakeDisk>;
  /** "PROJECT/INSTANCE" the fake Cloud SQL Admin API knows. @default `${projectId}/mlflow-db` */
  readonly cloudSqlInstance?: string;
  /** Packages the image has besides IMAGE_PACKAGES, with their version. @default none */
  readonly imagePackages?: Record<string, string>;
}

export class FakeVm {
  /** Host temp dir: disk/ (the VM's etc, opt, var) and state/ (the harness's). */
  readonly dir: string;
  readonly state: string;
  private readonly disk: string;
  private proc?: ChildProcess;
  private exited?: Promise<void>;
  private jobs = 0;

  /** A powered-off VM with a fresh disk; `secrets` are stored in the fake Secret Manager. */
  constructor(readonly projectId: string, secrets: Record<string, string>, readonly options: FakeVmOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-vm-"));
    this.disk = path.join(this.dir, "disk");
    this.state = path.join(this.dir, "state");
    // The image's /etc: this machine's, read-only, through symlinks into /harness/host-etc
    // (copying it takes a second on a slow disk), except what the script may write: the
    // user databases (copied, without any mlflow user; useradd creates its lock and backup
    // files), an empty systemd/system, and no mlflow/ or caddy/ (Debian's caddy package,
    // installed by the fake apt-get, would create the latter).
    const etc = path.join(this.disk, "etc");
    fs.mkdirSync(path.join(etc, "systemd/system"), { recursive: true });
    for (const entry of fs.readdirSync("/etc")) {
      const host = path.join("/etc", entry);
      if (["mlflow", "caddy", "systemd", "apt", "fstab", ".pwd.lock"].includes(entry) || /^(passwd|group|shadow|gshadow|subuid|subgid)-$/.test(entry)) continue;
      if (["passwd", "group", "shadow", "gshadow", "subuid", "subgid"].includes(entry)) {
        const lines = fs.readFileSync(host, "utf8").split("\n").filter((l) => !l.startsWith("mlflow:"));
        fs.writeFileSync(path.join(etc, entry), lines.join("\n"), { mode: fs.statSync(host).mode & 0o777 });
      } else if (fs.lstatSync(host).isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(host), path.join(etc, entry));
      } else {
        fs.symlinkSync(`/harness/host-etc/${entry}`, path.join(etc, entry));
      }
    }
    // A Debian 12 image's apt configuration (writable: the script adds Caddy's repository)
    // and its fstab (the root file system; the sandbox's own here).
    for (const dir of ["sources.list.d", "preferences.d", "keyrings", "trusted.gpg.d", "apt.conf.d"]) {
      fs.mkdirSync(path.join(etc, "apt", dir), { recursive: true });
    }
    fs.writeFileSync(path.join(etc, "apt/sources.list.d/debian.sources"), [
      "Types: deb", "URIs: https://deb.debian.org/debian", "Suites: bookworm bookworm-updates bookworm-backports",
      "Components: main", "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg", "",
    ].join("\n"));
    fs.writeFileSync(path.join(etc, "fstab"), [
      "# /etc/fstab: static file system information.",
      "UUID=6e1c1a3d-0000-4000-8000-00000000f00d / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1",
      "",
    ].join("\n"));
    for (const dir of ["opt", "var/lib/fake-dpkg", "var/log", "var/tmp"]) fs.mkdirSync(path.join(this.disk, dir), { recursive: true });
    fs.chmodSync(path.join(this.disk, "var/tmp"), 0o1777);
    const image = { ...Object.fromEntries(IMAGE_PACKAGES.map((p) => [p, "image"])), ...(options.imagePackages ?? {}) };
    fs.writeFileSync(path.join(this.disk, "var/lib/fake-dpkg/installed"), Object.keys(image).map((p) => `${p}\n`).join(""));
    fs.writeFileSync(path.join(this.disk, "var/lib/fake-dpkg/versions"), Object.entries(image).map(([p, v]) => `${p} ${v}\n`).join(""));
    // Harness state; log/ and db/ are written by the service's user too.
    for (const dir of ["log", "control", "agent", "google", `secret-manager/${projectId}`]) {
      fs.mkdirSync(path.join(this.state, dir), { recursive: true, mode: 0o755 });
    }
    fs.chmodSync(path.join(this.state, "log"), 0o777);
    fs.writeFileSync(path.join(this.state, "google/cloudsql-instance"), options.cloudSqlInstance ?? `${projectId}/mlflow-db`);
    for (const log of ["calls.jsonl", "journal.log"]) {
      fs.writeFileSync(path.join(this.state, "log", log), "");
      fs.chmodSync(path.join(this.state, "log", log), 0o666);
    }
    for (const [name, value] of Object.entries(secrets)) this.setSecret(name, value);
  }

  /** Stores (or with undefined, deletes) a secret in the fake Secret Manager. */
  setSecret(name: string, value: string | undefined): void {
    const file = path.join(this.state, "secret-manager", this.projectId, name);
    if (value === undefined) fs.rmSync(file, { force: true });
    else fs.writeFileSync(file, value, { mode: 0o644 });
  }

  /**
   * Switches a control file of the fakes on or off (e.g. "apt-down", "pypi-down"), or writes
   * it with the given content (e.g. "uploaded-after", "clock-speedup").
   */
  control(name: string, on: boolean | string): void {
    const file = path.join(this.state, "control", name);
    if (on === false) fs.rmSync(file, { force: true });
    else fs.writeFileSync(file, on === true ? "" : on);
  }

  /** Starts the VM: boots (enabled units start) and waits for its agent. */
  async boot(): Promise<void> {
    if (this.proc) throw new Error("already running");
    fs.rmSync(path.join(this.state, "agent"), { recursive: true, force: true });
    fs.mkdirSync(path.join(this.state, "agent"));
    this.jobs = 0;
    const args = ["--die-with-parent", ...NAMESPACES, "--hostname", "mlflow-server", ...hostUsr()];
    for (const dir of ["etc", "opt", "var"]) args.push("--bind", path.join(this.disk, dir), `/${dir}`);
    args.push("--perms", "1777", "--tmpfs", "/tmp", "--tmpfs", "/run", "--perms", "0700", "--tmpfs", "/root");
    args.push("--proc", "/proc", "--dev", "/dev");
    args.push("--perms", "0755", "--dir", "/harness", "--ro-bind", "/etc", "/harness/host-etc");
    args.push("--ro-bind", HARNESS_DIR, "/harness/src", "--bind", this.state, "/harness/state");
    const db = this.options.database;
    if (db) args.push("--bind", db.dir, "/harness/cloudsql", "--ro-bind", db.templateData, "/harness/cloudsql-template");
    for (const [name, disk] of Object.entries(this.options.disks ?? {})) {
      args.push("--bind", disk.dir, `/harness/disks/${name}`, "--bind", path.join(disk.dir, "image"), `/dev/disk/by-id/google-${name}`);
    }
    args.push("--remount-ro", "/", "/harness/src/vm-init.sh");
    const proc = spawn("bwrap", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr!.on("data", (d) => (stderr += d));
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on("exit", () => resolve()));
    await this.waitFor(() => fs.existsSync(path.join(this.state, "agent/booted")) || proc.exitCode !== null, 30, "boot");
    if (proc.exitCode !== null) throw new Error(`the VM did not boot: ${stderr}`);
    const failed = path.join(this.state, "agent/boot-failed");
    if (fs.existsSync(failed)) {
      const why = fs.readFileSync(failed, "utf8").trim();
      const apiLog = path.join(this.state, "log/google-apis.log");
      const logs = [this.options.database?.log() ?? "", fs.existsSync(apiLog) ? fs.readFileSync(apiLog, "utf8") : ""].join("\n");
      await this.powerOff();
      throw new Error(`the VM did not boot: ${why}\n${logs.slice(-3000)}`);
    }
  }

  /** Power cut: every process of the VM dies at once; the disk stays. */
  async powerOff(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill("SIGKILL");
    await this.exited;
    this.proc = undefined;
  }

  /**
   * Runs a script (text starting with #!) on the VM as the guest agent runs startup scripts.
   * A job still running when the VM powers off ends with code -1 (killed).
   */
  startJob(script: string): Promise<JobResult> {
    const n = ++this.jobs;
    const base = path.join(this.state, "agent", String(n));
    fs.writeFileSync(`${base}.tmp`, script);
    fs.renameSync(`${base}.tmp`, `${base}.sh`);
    const started = Date.now();
    const proc = this.proc;
    return this.waitFor(() => fs.existsSync(`${base}.rc`) || this.proc !== proc, 60, `job ${n}`).then(() => ({
      code: fs.existsSync(`${base}.rc`) ? Number(fs.readFileSync(`${base}.rc`, "utf8")) : -1,
      output: fs.existsSync(`${base}.out`) ? fs.readFileSync(`${base}.out`, "utf8") : "",
      seconds: (Date.now() - started) / 1000,
    }));
  }

  /** Runs shell commands on the VM (with the fakes on PATH), e.g. a health check. */
  sh(commands: string): Promise<JobResult> {
    return this.startJob(`#!/bin/bash\n${commands}\n`);
  }

  /** `systemctl is-active UNIT` on the VM, e.g. "active", "inactive", "failed" (recorded as the test's call, not the script's). */
  async unitState(unit: string): Promise<string> {
    return (await this.sh(`FAKE_CALLER=test systemctl is-active ${unit}`)).output.trim();
  }

  /**
   * Lets time pass until TIMER elapses (bin/systemctl __elapse: the harness's way, recorded
   * as "timer elapsed" by systemd) and, unless `wait` is false, waits until the service it
   * started has ended; returns that service's state.
   */
  async elapse(timer: string, wait = true): Promise<string> {
    const service = timer.replace(/\.timer$/, ".service");
    const stopped = (): number => this.journal().split(`systemd[fake]: Stopped ${service}.`).length;
    const before = stopped();
    const result = await this.sh(`systemctl __elapse ${timer} 2>&1`);
    if (result.code !== 0) throw new Error(`systemctl __elapse ${timer} failed: ${result.output}`);
    if (!wait) return "";
    await this.waitFor(() => stopped() > before, 60, `${service} to end`);
    for (;;) { // the state changes right after the journal's last line
      const state = await this.unitState(service);
      if (!["activating", "active", "deactivating"].includes(state)) return state;
    }
  }

  /** Stops the database (clients get "Connection refused"), or starts it, optionally plaintext-only. */
  async database(state: "down" | "up" | "up-plaintext"): Promise<void> {
    const verb = state === "down" ? "stop" : state === "up" ? "start" : "start plaintext";
    const result = await this.sh(`/harness/src/fake-cloudsql ${verb} 2>&1`);
    if (result.code !== 0) throw new Error(`fake-cloudsql ${verb} failed: ${result.output}`);
  }

  /**
   * Every call the fakes recorded, in order. The fakes append while tests poll: a last line
   * without its newline is still being written, and is left for the next read.
   */
  calls(): Call[] {
    const lines = fs.readFileSync(path.join(this.state, "log/calls.jsonl"), "utf8").split("\n");
    lines.pop(); // "" after the last complete line, or the one being written
    return lines.filter(Boolean).map((l) => JSON.parse(l) as Call);
  }

  /** What mlflow.service printed, and what the fake service manager logged. */
  journal(): string {
    return fs.readFileSync(path.join(this.state, "log/journal.log"), "utf8");
  }

  /** Every log the harness keeps (call log, journal, job outputs, the fake Google APIs'), for leak checks. */
  allLogs(): string {
    const agent = path.join(this.state, "agent");
    const jobs = fs.readdirSync(agent).filter((f) => f.endsWith(".out")).map((f) => fs.readFileSync(path.join(agent, f), "utf8"));
    const apiLog = path.join(this.state, "log/google-apis.log");
    return [fs.readFileSync(path.join(this.state, "log/calls.jsonl"), "utf8"), this.journal(), ...jobs,
      fs.existsSync(apiLog) ? fs.readFileSync(apiLog, "utf8") : ""].join("\n");
  }

  /** Host path of a path on the VM's disk (/etc, /opt or /var). */
  file(vmPath: string): string {
    if (!/^\/(etc|opt|var)(\/|$)/.test(vmPath)) throw new Error(`${vmPath} is not on the VM's disk`);
    return path.join(this.disk, vmPath);
  }

  read(vmPath: string): string {
    return fs.readFileSync(this.file(vmPath), "utf8");
  }

  exists(vmPath: string): boolean {
    return fs.existsSync(this.file(vmPath));
  }

  async destroy(): Promise<void> {
    await this.powerOff();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Polls until `done()` (every 10 ms), failing after `seconds` with the journal's tail. */
  async waitFor(done: () => boolean, seconds: number, what: string): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; journal:\n${this.journal().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
