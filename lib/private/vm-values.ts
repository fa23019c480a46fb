// Value rules for the VM: which boot images the startup script can run on, and which ports
// the VM itself already uses (so `server.port` cannot collide with them).

/**
 * Ports that something on the VM listens on, with who. `server.port` must differ from each,
 * in every mode: Caddy's ports are taken once a domain is added, and a later change of
 * access must not turn into a port clash. Each below 1024 is also refused as privileged; the
 * list gives the reason. Not here: the metadata server (169.254.169.254:80) is a remote
 * address, not a listener on the VM, and MLflow's job runner (MLFLOW_SERVER_ENABLE_JOB_EXECUTION,
 * huey with its store in /dev/shm) opens no port. Add the Ops Agent's local ports here when the
 * `operations` prop installs it.
 */
export const RESERVED_PORTS: Readonly<Record<number, string>> = {
  22: "sshd listens on 22 (SSH through IAP)",
  80: "Caddy listens on 80 for the ACME HTTP-01 challenge and the redirect to HTTPS (with access.domain)",
  443: "Caddy listens on 443 for HTTPS (with access.domain)",
  // caddyserver/website docs/caddyfile/options.md: the admin endpoint defaults to localhost:2019.
  2019: "Caddy's admin endpoint listens on localhost:2019 (with access.domain)",
  // GoogleCloudPlatform/ops-agent confgenerator/otel (MetricsPort = 20201) and
  // confgenerator/fluentbit (MetricsPort = 20202): the Ops Agent's own metrics endpoints.
  20201: "the Ops Agent's metrics collector serves its own metrics on 20201",
  20202: "the Ops Agent's logging agent (Fluent Bit) serves its own metrics on 20202",
};

/**
 * Public image projects whose images are not Debian. The startup script installs Debian
 * packages with apt (python3-venv, curl, ca-certificates, caddy) and is tested on Debian's
 * package set only (templates/startup-script.sh, __tests__/script-harness).
 */
const NON_DEBIAN_PROJECTS: Readonly<Record<string, string>> = {
  "ubuntu-os-cloud": "Ubuntu", "ubuntu-os-pro-cloud": "Ubuntu Pro", "ubuntu-os-accelerator-images": "Ubuntu",
  "centos-cloud": "CentOS", "rhel-cloud": "Red Hat Enterprise Linux", "rhel-sap-cloud": "Red Hat Enterprise Linux for SAP",
  "rocky-linux-cloud": "Rocky Linux", "almalinux-cloud": "AlmaLinux", "oracle-linux-cloud": "Oracle Linux",
  "suse-cloud": "SUSE Linux Enterprise", "suse-sap-cloud": "SUSE Linux Enterprise for SAP", "opensuse-cloud": "openSUSE",
  "fedora-cloud": "Fedora", "fedora-coreos-cloud": "Fedora CoreOS", "cos-cloud": "Container-Optimized OS",
  "windows-cloud": "Windows Server", "windows-sql-cloud": "Windows Server with SQL Server", "freebsd-org-cloud-dev": "FreeBSD",
};

/** Image families Compute Engine resolves without a project (TPG resolves e.g. "debian-12" to debian-cloud). */
const FAMILY_PREFIXES_OF: Readonly<Record<string, string>> = {
  ubuntu: "ubuntu-os-cloud", centos: "centos-cloud", rhel: "rhel-cloud", rocky: "rocky-linux-cloud", sles: "suse-cloud",
  opensuse: "opensuse-cloud", cos: "cos-cloud", windows: "windows-cloud", fedora: "fedora-coreos-cloud", debian: "debian-cloud",
};

/** Machine series with Arm (aarch64) CPUs: they boot only arm64 images, and x86 series only x86 images. */
const ARM_SERIES = ["t2a", "c4a", "n4a"];

const IMAGE_NAME = "[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?";
const FORMS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => { project?: string; name: string }]> = [
  // Self link, projects/<p>/global/images/[family/]<name>, global/images/[family/]<name>, family/<name>
  [new RegExp(`^(?:https://(?:www|compute)\\.googleapis\\.com/compute/(?:v1|beta)/)?projects/([a-z][-a-z0-9]*)/global/images/(?:family/)?(${IMAGE_NAME})$`), (m) => ({ project: m[1], name: m[2] })],
  [new RegExp(`^global/images/(?:family/)?(${IMAGE_NAME})$`), (m) => ({ name: m[1] })],
  [new RegExp(`^family/(${IMAGE_NAME})$`), (m) => ({ name: m[1] })],
  // <project>/<family or image>
  [new RegExp(`^([a-z][-a-z0-9]*)/(${IMAGE_NAME})$`), (m) => ({ project: m[1], name: m[2] })],
  // <family or image>
  [new RegExp(`^(${IMAGE_NAME})$`), (m) => ({ name: m[1] })],
];

const SUPPORTED = 'a Debian 12 or 13 image: "debian-cloud/debian-12" (the default), "debian-cloud/debian-13", their "-arm64" families for Arm machine types, a dated image of those families (e.g. "debian-cloud/debian-12-bookworm-v20250610"), or your own image built on them';

/**
 * Why an image cannot run the startup script, or undefined. Debian 12 (bookworm) and 13
 * (trixie) are accepted: both have python3-venv, caddy and systemd as the script uses them.
 * Debian 11 is not: its Python 3.9 is older than MLflow 3 supports (MLflow dropped Python 3.9,
 * mlflow/mlflow#16346). Ubuntu and the other public families are not Debian and are refused;
 * an image of your own project is accepted (the README says it must be Debian 12 or 13 based).
 * With a literal `machineType`, the image's CPU architecture must match it.
 */
export function bootImageProblem(image: string, machineType?: string): string | undefined {
  let parsed: { project?: string; name: string } | undefined;
  for (const [pattern, read] of FORMS) {
    const m = pattern.exec(image);
    if (m) { parsed = read(m); break; }
  }
  if (!parsed) {
    return `${SUPPORTED}; written as "<project>/<family or image>", "projects/<project>/global/images/[family/]<name>" or its self link`;
  }
  const { name } = parsed;
  const project = parsed.project ?? FAMILY_PREFIXES_OF[name.split("-")[0]];
  if (project !== undefined && project in NON_DEBIAN_PROJECTS) {
    return `${SUPPORTED}; ${NON_DEBIAN_PROJECTS[project]} is not Debian: the startup script installs Debian packages with apt (python3-venv, caddy) and is tested on Debian 12 and 13 only`;
  }
  if (project === "debian-cloud") {
    const m = /^debian-(\d+)(?:-([a-z]+))?(?:-(arm64))?(?:-v\d{8}.*)?$/.exec(name);
    if (!m) return SUPPORTED;
    const release = Number(m[1]);
    if (release <= 11) {
      return `${SUPPORTED}; Debian ${release} ships Python ${release === 11 ? "3.9" : "3.7 or older"}, older than MLflow 3 supports (Python 3.10 or newer, mlflow/mlflow#16346)`;
    }
    if (release > 13) return `${SUPPORTED}; Debian ${release} is not tested with the startup script yet`;
    const arm = m[3] === "arm64" || /arm64/.test(name);
    const series = machineType?.split("-")[0];
    if (series !== undefined && /^[a-z][a-z0-9]*$/.test(series)) {
      const armMachine = ARM_SERIES.includes(series);
      if (arm && !armMachine) return `${SUPPORTED}; ${image} is an arm64 image, but machine type ${machineType} has x86 CPUs (use an Arm series: ${ARM_SERIES.join(", ")})`;
      if (!arm && armMachine) return `${SUPPORTED}; machine type ${machineType} has Arm CPUs and boots only arm64 images (e.g. "debian-cloud/${name.replace(/^(debian-\d+).*$/, "$1")}-arm64")`;
    }
  }
  return undefined;
}
