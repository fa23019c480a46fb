// Public mode with a domain: the startup script puts Caddy (from Caddy's own apt repository,
// version checked) in front of MLflow and keeps Caddy's certificates on a persistent disk
// that it formats only when blank, so a replaced VM does not ask Let's Encrypt again. Run
// with `npm run test:script` (see startup-script.exec.test.ts for the harness).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderCaddyfile, StartupScriptOptions } from "../lib";
import {
  backupRequests, bootedVm, byScript, describeVm, expectNoSecretInLogs, expectServing, last, mode, newDisk, options, runScript,
  schemaSteps, serverEvents,
} from "./script-harness/exec-helpers";
import { Call, FakeDisk } from "./script-harness/vm";

const HTTPS: Partial<StartupScriptOptions> = {
  domain: "mlflow.example.com",
  bindAddress: "127.0.0.1",
  caddyDataDevice: "caddy-data",
  endpoints: [{ scheme: "https", host: "mlflow.example.com", port: 443 }],
};
const DEVICE = "/dev/disk/by-id/google-caddy-data";
const CADDYFILE = "/etc/caddy/Caddyfile";
const CERTIFICATE = ".local/share/caddy/certificates/acme-v02.api.letsencrypt.org-directory/mlflow.example.com/mlflow.example.com.crt";
const KEY_FILE = "/etc/apt/keyrings/caddy-stable.asc";
const SOURCES_FILE = "/etc/apt/sources.list.d/caddy-stable.list";
const PREFERENCES_FILE = "/etc/apt/preferences.d/caddy-stable";

const caddyRuns = (calls: Call[]): string[][] => calls.filter((c) => c.cmd === "caddy" && c.argv[0] === "run").map((c) => c.argv);
const certificates = (calls: Call[]): string[][] => calls.filter((c) => c.cmd === "caddy certificate").map((c) => c.argv);

/** The UUID of the disk image's file system, by the real blkid on the host. */
function diskUuid(disk: FakeDisk): string {
  return spawnSync("blkid", ["-s", "UUID", "-o", "value", `${disk.dir}/image`], { encoding: "utf8" }).stdout.trim();
}

describeVm("the fakes themselves", () => {
  test("apt-get installs Caddy 2.11 only from the repository its last update saw (signed, pins honoured), else Debian's 2.6.2", async () => {
    const { vm } = await bootedVm();
    const reset = "sed -i '/^caddy/d' /var/lib/fake-dpkg/installed /var/lib/fake-dpkg/versions; rm -f /etc/apt/sources.list.d/caddy* /etc/apt/preferences.d/*";
    const repo = `curl -fsSL -o ${KEY_FILE} https://dl.cloudsmith.io/public/caddy/stable/gpg.key && chmod 0644 ${KEY_FILE} && ` +
      `echo "deb [signed-by=KEY] https://dl.cloudsmith.io/public/caddy/stable/deb/debian any-version main" > ${SOURCES_FILE}`;
    const install = "apt-get install -y -q caddy >/dev/null 2>&1; caddy version";
    const run = async (commands: string): Promise<string> => (await vm.sh(`${reset}\n${commands} 2>&1`)).output.trim();
    expect(await run("caddy version; echo rc=$?")).toBe("bash: caddy: command not found\nrc=127");
    expect(await run(`apt-get update -q >/dev/null; ${install}`)).toBe("2.6.2");
    // Added after the last update: apt does not know it yet.
    expect(await run(`apt-get update -q >/dev/null; ${repo.replace("KEY", KEY_FILE)}; ${install}`)).toBe("2.6.2");
    expect(await run(`${repo.replace("KEY", KEY_FILE)}; apt-get update -q >/dev/null; ${install}`)).toMatch(/^v2\.11\.4 h1:/);
    // Installed (Debian's), then a newer candidate: `install` upgrades it (apt-get(8), "install").
    expect(await run(`apt-get update -q >/dev/null; ${install}; ${repo.replace("KEY", KEY_FILE)}; apt-get update -q >/dev/null; ${install}`))
      .toMatch(/^2\.6\.2\nv2\.11\.4 h1:/);
    // An armored key in a .gpg file is not a keyring apt reads: the repository is unsigned.
    expect(await run(`${repo.replace("KEY", "/etc/apt/keyrings/caddy.gpg")}; cp ${KEY_FILE} /etc/apt/keyrings/caddy.gpg; apt-get update -q; echo rc=$?`))
      .toMatch(/E: The repository 'https:\/\/dl\.cloudsmith\.io\/public\/caddy\/stable\/deb\/debian any-version InRelease' is not signed\.\s+rc=100$/);
    // A pin chooses among the versions available.
    const pin = `printf 'Package: caddy\\nPin: version 2.6.*\\nPin-Priority: 1001\\n' > /etc/apt/preferences.d/caddy`;
    expect(await run(`${repo.replace("KEY", KEY_FILE)}; ${pin}; apt-get update -q >/dev/null; ${install}`)).toBe("2.6.2");
  });
});

describeVm("public with a domain: Caddy in front of MLflow, its certificates on a persistent disk", () => {
  test("first boot on a blank disk formats and mounts it, installs Caddy 2.11 from its repository, stores the certificate there; a reboot mounts it at boot and changes nothing", async () => {
    const opts = options(HTTPS);
    const disk = newDisk();
    const t = await bootedVm({ disks: { "caddy-data": disk } });
    const { vm } = t;
    await runScript(vm, opts);
    let calls = vm.calls();

    // The blank disk: probed, formatted once, in fstab (the image's own entry kept), mounted.
    expect(byScript(calls, "blkid")).toEqual([["-p", DEVICE], ["-s", "UUID", "-o", "value", DEVICE]]);
    expect(byScript(calls, "mkfs.ext4")).toEqual([["-q", "-L", "caddy-data", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0,discard", DEVICE]]);
    expect(vm.read("/etc/fstab").split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([
      "UUID=6e1c1a3d-0000-4000-8000-00000000f00d / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1",
      `UUID=${diskUuid(disk)} /var/lib/caddy ext4 discard,defaults,nofail 0 2`,
    ]);
    expect(byScript(calls, "mount")).toEqual([["/var/lib/caddy"]]);

    // Caddy's repository, then one apt run that installs 2.11 from it.
    expect(vm.read(KEY_FILE)).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----\n[\s\S]*-----END PGP PUBLIC KEY BLOCK-----\n$/);
    expect(mode(vm, KEY_FILE)).toBe("644 uid=0");
    expect(vm.read(SOURCES_FILE)).toBe(`deb [signed-by=${KEY_FILE}] https://dl.cloudsmith.io/public/caddy/stable/deb/debian any-version main\n`);
    expect(vm.read(PREFERENCES_FILE)).toBe("Package: caddy\nPin: version 2.11.*\nPin-Priority: 1001\n");
    expect(byScript(calls, "apt-get")).toEqual([
      ["update", "-q", "-oDPkg::Lock::Timeout=300"],
      ["install", "-y", "-q", "--no-install-recommends", "-oDPkg::Lock::Timeout=300", "python3-venv", "caddy"],
    ]);
    expect(vm.read("/var/lib/fake-dpkg/versions")).toContain("caddy 2.11.4\n");
    expect(vm.read("/etc/passwd")).toMatch(/^caddy:x:\d+:\d+:Caddy web server:\/var\/lib\/caddy:\/usr\/sbin\/nologin$/m);

    // Configured and restarted with the site; the certificate is stored on the disk.
    expect(vm.read(CADDYFILE)).toBe(`${renderCaddyfile(opts).trimEnd()}\n`);
    expect(mode(vm, CADDYFILE)).toBe("644 uid=0");
    expect(byScript(calls, "systemctl")).toEqual(expect.arrayContaining([["enable", "caddy.service"], ["restart", "caddy.service"]]));
    expect(certificates(calls)).toEqual([["mlflow.example.com", "obtained"]]);
    expect(fs.existsSync(disk.file(CERTIFICATE))).toBe(true);
    const certificate = fs.readFileSync(disk.file(CERTIFICATE), "utf8");
    // MLflow listens on loopback only and accepts the domain as host and CORS origin.
    await expectServing(t, opts, opts.mlflowVersion);
    expect(last(serverEvents(calls, "listening")).argv).toEqual(expect.arrayContaining(["--host", "127.0.0.1", "--cors-allowed-origins", "https://mlflow.example.com"]));

    const caddyfile = vm.read(CADDYFILE);
    await vm.powerOff();
    const mark = vm.calls().length;
    await vm.boot();
    await runScript(vm, opts);
    calls = vm.calls().slice(mark);
    // Mounted by the boot (fstab), before the units start; the script finds it mounted.
    expect(calls.filter((c) => c.caller === "boot" && c.cmd === "mount").map((c) => c.argv)).toEqual([["/var/lib/caddy"]]);
    for (const cmd of ["mkfs.ext4", "mount", "apt-get"]) expect(byScript(calls, cmd)).toEqual([]);
    expect(byScript(calls, "mountpoint")).toEqual([["-q", "/var/lib/caddy"]]);
    expect(vm.read(CADDYFILE)).toBe(caddyfile);
    // Then it must stay active for CADDY_SETTLE_SECONDS (one check a second).
    expect(byScript(calls, "systemctl").filter((argv) => argv.includes("caddy.service"))).toEqual([
      ["enable", "caddy.service"], ["start", "caddy.service"], ...Array(5).fill(["is-active", "--quiet", "caddy.service"]),
    ]);
    // Started once, by systemd at boot (the unit is enabled); the script's start is a no-op.
    expect(caddyRuns(calls)).toEqual([["run", "--environ", "--config", CADDYFILE]]);
    expect(certificates(calls)).toEqual([["mlflow.example.com", "loaded"]]);
    expect(fs.readFileSync(disk.file(CERTIFICATE), "utf8")).toBe(certificate);
    expectNoSecretInLogs(vm);
  });

  test("Caddy cannot load its configuration (a port in use: Caddy 2.11.3+ reports readiness, then exits 1): MLflow and the Ops Agent are still set up, then the script fails naming Caddy; the next run starts it", async () => {
    const opts = options(HTTPS);
    const t = await bootedVm({ disks: { "caddy-data": newDisk() } });
    const { vm } = t;
    vm.control("caddy-load-fails", true);
    // A slower clock than the default: Caddy's exit must land within the settle checks here
    // too, as it does within milliseconds on a VM.
    vm.control("clock-speedup", "10");
    const result = await runScript(vm, opts, 3);
    expect(byScript(vm.calls(), "systemctl")).toEqual(expect.arrayContaining([["restart", "caddy.service"]]));
    expect(result.output).toContain("mlflow-startup: ERROR: caddy.service is not running, so https://mlflow.example.com is down (see: journalctl -u caddy.service)");
    expect(result.output).not.toContain("WARNING: the Ops Agent");
    expect(result.output).toContain("mlflow-startup: MLflow is healthy on port");
    expect(result.output).toContain("mlflow-startup: ERROR: MLflow is healthy on 127.0.0.1, but Caddy does not serve https://mlflow.example.com (see: journalctl -u caddy.service)");
    expect(result.output).not.toContain("mlflow-startup: done");
    expect((await vm.sh("systemctl is-active caddy.service")).output.trim()).toBe("failed");
    await expectServing(t, opts, opts.mlflowVersion);

    vm.control("caddy-load-fails", false);
    const mark = vm.calls().length;
    const again = await runScript(vm, opts);
    expect(again.output).toContain("mlflow-startup: done");
    expect(byScript(vm.calls().slice(mark), "systemctl")).toEqual(expect.arrayContaining([["start", "caddy.service"]]));
    expect((await vm.sh("systemctl is-active caddy.service")).output.trim()).toBe("active");
  });

  test("a replaced VM (new boot disk, same persistent disk and database) does not format the disk and keeps the certificate", async () => {
    const opts = options(HTTPS);
    const disk = newDisk();
    const first = await bootedVm({ disks: { "caddy-data": disk } });
    await runScript(first.vm, opts);
    const certificate = fs.readFileSync(disk.file(CERTIFICATE), "utf8");
    await first.vm.destroy(); // the old VM and its boot disk are gone

    const t = await bootedVm({ database: first.db, disks: { "caddy-data": disk } });
    const { vm } = t;
    await runScript(vm, opts);
    const calls = vm.calls();
    expect(byScript(calls, "blkid")[0]).toEqual(["-p", DEVICE]);
    expect(byScript(calls, "mkfs.ext4")).toEqual([]);
    expect(byScript(calls, "mount")).toEqual([["/var/lib/caddy"]]);
    expect(vm.read("/etc/fstab")).toContain(`UUID=${diskUuid(disk)} /var/lib/caddy ext4 discard,defaults,nofail 0 2\n`);
    // Caddy finds its certificate (the new VM's caddy user owns the data again).
    expect(certificates(calls).map((c) => c[1])).toEqual(["loaded"]);
    expect(fs.readFileSync(disk.file(CERTIFICATE), "utf8")).toBe(certificate);
    // The database was kept too: its schema is current, nothing is backed up or migrated.
    expect(schemaSteps(calls)).toEqual([]);
    expect(backupRequests(calls)).toEqual([]);
    await expectServing(t, opts, opts.mlflowVersion);
  });

  test("an image that already has Debian's Caddy 2.6.2: the script refuses it", async () => {
    const { vm } = await bootedVm({ disks: { "caddy-data": newDisk() }, imagePackages: { caddy: "2.6.2-5" } });
    const result = await runScript(vm, options(HTTPS), 1);
    expect(result.output).toContain("mlflow-startup: ERROR: caddy 2.6.2 is installed, older than the 2.11 series of Caddy's repository");
    expect(byScript(vm.calls(), "apt-get").flat()).not.toContain("caddy");
    expect(caddyRuns(vm.calls())).toEqual([]);
  });

  test("a disk that cannot be read (blkid -p exits 2 for that too) is never formatted: the script fails naming it", async () => {
    const disk = newDisk();
    // A device whose reads fail: a directory where the disk's image is (reading it: EISDIR;
    // the real blkid -p exits 2 on it, as on a device it cannot read).
    fs.rmSync(path.join(disk.dir, "image"));
    fs.mkdirSync(path.join(disk.dir, "image"));
    const { vm } = await bootedVm({ disks: { "caddy-data": disk } });
    const result = await runScript(vm, options(HTTPS), 1);
    expect(result.output).toContain(`mlflow-startup: ERROR: cannot read the disk ${DEVICE}: not formatting it`);
    expect(byScript(vm.calls(), "mkfs.ext4")).toEqual([]);
    expect(byScript(vm.calls(), "blkid")).toEqual([]);
  });

  test("the persistent disk is not attached: the script waits for it, then fails naming it", async () => {
    const { vm } = await bootedVm();
    const result = await runScript(vm, options(HTTPS), 1);
    expect(result.output).toContain(`mlflow-startup: ERROR: the persistent disk for Caddy's certificates (${DEVICE}) is not attached`);
    expect(byScript(vm.calls(), "sleep").length).toBe(30);
    expect(byScript(vm.calls(), "apt-get")).toEqual([]);
  });
});
