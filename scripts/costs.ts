// Computes the README's monthly cost table FROM THE SYNTHESIZED STACK (machine type, tier,
// disk sizes, which resources exist) and the checked-in price list docs/prices.json, and
// writes it into README.md between <!-- costs:start --> and <!-- costs:end -->.
//
//   npm run costs              rewrite the README block
//   npm run costs -- --check   exit 1 when the README block is not current
//   npm run costs -- --print   print the block instead of writing it
//
// A resource this script cannot price (an unknown machine type, tier, disk type, storage
// class or region) is an error, never a silent zero: add its price to docs/prices.json.
import * as fs from "fs";
import * as path from "path";
import { MlflowTrackingStackProps } from "../lib";
import { firesIn } from "../lib/schedule";
import { ROOT, SynthesizedStack, synthesizeStack, runReadmeGenerator } from "./diagram";

export const PRICES_JSON = path.join(ROOT, "docs", "prices.json");

export interface Price {
  sku: string;
  unit: string;
  usd: number;
  source: string;
  sourceDate: string | null;
  taken: string;
  verified: boolean;
  note?: string;
}

export interface PriceList {
  region: string;
  regionName: string;
  currency: string;
  hoursPerMonth: number;
  prices: Record<string, Price>;
}

/** Usage the stack does not determine: the table shows these example quantities. */
export const USAGE = {
  /** GB stored in the artifact bucket. */
  artifactGb: 10,
  /** GB of Cloud SQL backups (14 daily backups and 7 days of logs of a small database). */
  backupGb: 10,
  /** GB of images cached by the Artifact Registry remote repositories (the official MLflow image and Caddy). */
  artifactRegistryGb: 2,
  /** GiB of logs a month (the server's journal or Cloud Run's request and container logs). */
  logGib: 1,
  /**
   * Time series MLflow's /metrics exports (request counters and latency histograms by
   * method and status, buckets counted one by one, plus the scrape's own series).
   */
  prometheusSeries: 300,
  /** Seconds one gc job execution runs (starting the private server, then gc). */
  gcJobSeconds: 120,
  /** Checker locations an uptime check runs from (all regions). */
  uptimeCheckerLocations: 6,
};

/** The configurations of the table, as stack props (the project id does not matter). */
export const CONFIGURATIONS: Array<{ title: string; props: MlflowTrackingStackProps }> = [
  { title: "Default (private, IAP)", props: { projectId: "my-project", region: "europe-west1" } },
  {
    title: "Public with a domain (HTTPS)",
    props: {
      projectId: "my-project",
      region: "europe-west1",
      access: { mode: "public", domain: "mlflow.example.com", allowedSourceRanges: ["203.0.113.0/24"] },
    },
  },
  {
    title: "Tutorial layout ²",
    props: {
      projectId: "my-project",
      region: "europe-west1",
      server: { machineType: "e2-standard-2" },
      access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true },
    },
  },
  { title: "Cloud Run (IAP)", props: { projectId: "my-project", region: "europe-west1", server: { kind: "cloud-run" } } },
];

export interface CostLine {
  /** Row of the table this line belongs to. */
  row: string;
  /** What was priced, e.g. `e2-medium` or `20 GB`. */
  detail: string;
  priceId: string;
  quantity: number;
  monthlyUsd: number;
}

export function loadPrices(file: string = PRICES_JSON): PriceList {
  return JSON.parse(fs.readFileSync(file, "utf8")) as PriceList;
}

/** Rows in table order. */
export const ROWS = [
  "Compute Engine VM",
  "VM boot disk",
  "Persistent disk (Caddy's certificates)",
  "Static external IPv4 (in use by the VM)",
  "Cloud NAT gateway",
  "Cloud NAT external IPv4",
  "Cloud SQL instance",
  "Cloud SQL storage",
  "Cloud SQL backups ¹",
  "Cloud Storage (artifacts) ¹",
  "Secret Manager",
  "Cloud Run service (idle minimum instances)",
  "Cloud Run jobs (gc) ¹",
  "Artifact Registry (cached images) ¹",
  "Cloud Scheduler",
  "Cloud Logging ¹",
  "Managed Service for Prometheus ¹",
  "Uptime checks",
  "Alert policies ³",
];

/** GiB of a Kubernetes-style memory quantity ("2Gi", "512Mi"). */
function gib(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi)$/.exec(String(quantity));
  if (!m) throw new Error(`cannot read the memory quantity ${JSON.stringify(quantity)}`);
  return Number(m[1]) / (m[2] === "Mi" ? 1024 : 1);
}

/** vCPUs and GiB of all containers of a Cloud Run task or revision (sidecars are billed too). */
function containerSize(containers: any[]): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of containers) {
    const limits = block(c.resources)?.limits ?? {};
    cpu += Number(limits.cpu ?? 1);
    memory += gib(limits.memory ?? "512Mi");
  }
  return { cpu, memory };
}

const round = (n: number) => Math.round(n * 100) / 100;

function resources(stack: SynthesizedStack, type: string): any[] {
  return Object.values(stack.resource[type] ?? {});
}

/** Terraform JSON writes a nested block as an object or a one-element list. */
function block(value: any): any {
  return Array.isArray(value) ? value[0] : value;
}

function regionOf(stack: SynthesizedStack): string {
  const google = (stack.provider as Record<string, any[]> | undefined)?.google?.[0];
  if (!google?.region) throw new Error("the stack has no google provider region");
  return google.region;
}

/** Every priced line of a synthesized stack. */
export function costLines(stack: SynthesizedStack, prices: PriceList): CostLine[] {
  const region = regionOf(stack);
  if (region !== prices.region) {
    throw new Error(`docs/prices.json holds ${prices.region} prices; the stack is in ${region}`);
  }
  const lines: CostLine[] = [];
  const add = (row: string, detail: string, priceId: string, quantity: number) => {
    const price = prices.prices[priceId];
    if (!price) throw new Error(`docs/prices.json has no price "${priceId}" (for ${row}: ${detail})`);
    lines.push({ row, detail, priceId, quantity, monthlyUsd: quantity * price.usd });
  };
  const hours = prices.hoursPerMonth;

  const instances = resources(stack, "google_compute_instance");
  let vmsWithoutExternalIp = 0;
  for (const vm of instances) {
    add("Compute Engine VM", vm.machine_type, `compute.instance.${vm.machine_type}`, hours);
    const disk = block(block(vm.boot_disk)?.initialize_params) ?? {};
    const diskType = disk.type ?? "pd-standard";
    const size = disk.size ?? 10;
    add("VM boot disk", `${size} GB ${diskType}`, `compute.disk.${diskType}`, size);
    const interfaces: any[] = vm.network_interface ?? [];
    const external = interfaces.flatMap((nic) => nic.access_config ?? []).length;
    if (external > 0) add("Static external IPv4 (in use by the VM)", `${external} address${external > 1 ? "es" : ""}`, "network.ip.in-use", external * hours);
    else vmsWithoutExternalIp++;
  }
  for (const disk of resources(stack, "google_compute_disk")) {
    add("Persistent disk (Caddy's certificates)", `${disk.size} GB ${disk.type}`, `compute.disk.${disk.type}`, disk.size);
  }
  // A reserved external address is billed as "in use" only while a VM holds it (counted
  // above); internal addresses are free (cloud.google.com/vpc/network-pricing, "IP addresses").
  const interfaces = JSON.stringify(instances.map((vm) => vm.network_interface ?? []));
  for (const [key, address] of Object.entries<any>(stack.resource.google_compute_address ?? {})) {
    if (address.address_type === "INTERNAL") continue;
    if (!interfaces.includes(`\${google_compute_address.${key}.`)) {
      throw new Error(`google_compute_address.${key} is not attached to a VM: an unused address has its own price`);
    }
  }

  for (const nat of resources(stack, "google_compute_router_nat")) {
    // Every VM without an external IP in the served subnetwork uses the gateway.
    add("Cloud NAT gateway", `${vmsWithoutExternalIp} VM`, "network.nat.gateway", vmsWithoutExternalIp * hours);
    const ips = nat.nat_ip_allocate_option === "MANUAL_ONLY" ? (nat.nat_ips ?? []).length : 1;
    add("Cloud NAT external IPv4", nat.nat_ip_allocate_option === "MANUAL_ONLY" ? `${ips} reserved` : `${ips} automatic`, "network.nat.ip", ips * hours);
  }

  for (const db of resources(stack, "google_sql_database_instance")) {
    const settings = block(db.settings);
    const availability = String(settings.availability_type ?? "ZONAL").toLowerCase();
    add("Cloud SQL instance", `${settings.tier}, ${availability}`, `sql.instance.${settings.tier}.${availability}`, hours);
    const diskType = settings.disk_type === "PD_HDD" ? "hdd" : "ssd";
    add("Cloud SQL storage", `${settings.disk_size ?? 10} GB ${diskType.toUpperCase()}`, `sql.storage.${diskType}.${availability}`, settings.disk_size ?? 10);
    if (block(settings.backup_configuration)?.enabled) add("Cloud SQL backups ¹", `${USAGE.backupGb} GB`, "sql.backup", USAGE.backupGb);
  }

  for (const bucket of resources(stack, "google_storage_bucket")) {
    const storageClass = String(bucket.storage_class ?? "STANDARD").toLowerCase();
    add("Cloud Storage (artifacts) ¹", `${USAGE.artifactGb} GB ${storageClass}`, `storage.${storageClass}.${String(bucket.location).toLowerCase()}`, USAGE.artifactGb);
  }

  // Active versions are billed per replica location: automatic replication counts as one
  // location, user-managed replication as one per replica (cloud.google.com/secret-manager/pricing).
  const secrets = stack.resource.google_secret_manager_secret ?? {};
  let versions = 0;
  for (const version of resources(stack, "google_secret_manager_secret_version")) {
    if (version.enabled === false) continue;
    const secretKey = /^\$\{google_secret_manager_secret\.([\w-]+)\.id\}$/.exec(String(version.secret))?.[1];
    const replication = block(secretKey ? secrets[secretKey]?.replication : undefined);
    const replicas = replication?.user_managed ? (block(replication.user_managed).replicas ?? []).length : 1;
    versions += replicas;
  }
  if (versions > 0) add("Secret Manager", `${versions} secret versions`, "secretmanager.version", versions);

  // Cloud Run with request-based billing (every container cpu_idle): minimum instances are
  // billed at the idle rate while no request is served; time serving requests depends on use.
  const seconds = hours * 3600;
  const services = resources(stack, "google_cloud_run_v2_service");
  for (const service of services) {
    const template = block(service.template);
    const containers: any[] = template.containers ?? [];
    if (!containers.every((c) => block(c.resources)?.cpu_idle === true)) {
      throw new Error("a Cloud Run service with instance-based billing: its price is not in docs/prices.json");
    }
    const min = block(template.scaling)?.min_instance_count ?? 0;
    const { cpu, memory } = containerSize(containers);
    add("Cloud Run service (idle minimum instances)", `${min} × ${cpu} vCPU`, "run.idle.cpu", min * cpu * seconds);
    add("Cloud Run service (idle minimum instances)", `${min} × ${round(memory)} GiB`, "run.idle.memory", min * memory * seconds);
  }
  // gc: one execution of the job per firing of its Cloud Scheduler job.
  const jobs = stack.resource.google_cloud_run_v2_job ?? {};
  for (const scheduler of resources(stack, "google_cloud_scheduler_job")) {
    add("Cloud Scheduler", "1 job", "scheduler.job", 1);
    const jobKey = /\$\{google_cloud_run_v2_job\.([\w-]+)\.name\}/.exec(String(block(scheduler.http_target)?.uri))?.[1];
    const job = jobKey ? jobs[jobKey] : undefined;
    if (!job) throw new Error(`google_cloud_scheduler_job ${scheduler.name} runs no job of this stack`);
    const { cpu, memory } = containerSize(block(block(job.template).template).containers ?? []);
    const runs = firesIn(scheduler.schedule, hours);
    const jobSeconds = runs * USAGE.gcJobSeconds;
    add("Cloud Run jobs (gc) ¹", `${runs} runs × ${USAGE.gcJobSeconds} s × ${cpu} vCPU`, "run.job.cpu", jobSeconds * cpu);
    add("Cloud Run jobs (gc) ¹", `${runs} runs × ${USAGE.gcJobSeconds} s × ${round(memory)} GiB`, "run.job.memory", jobSeconds * memory);
  }
  if (resources(stack, "google_artifact_registry_repository").length > 0) {
    add("Artifact Registry (cached images) ¹", `${USAGE.artifactRegistryGb} GB`, "artifactregistry.storage", USAGE.artifactRegistryGb);
  }

  // Operations: the server's logs, the Ops Agent's scrape of MLflow's metrics (VM), uptime
  // checks, alert policies.
  if (instances.length + services.length > 0) add("Cloud Logging ¹", `${USAGE.logGib} GiB`, "logging.storage", USAGE.logGib);
  for (const vm of instances) {
    const interval = /scrape_interval: (\d+)s/.exec(String(vm.metadata_startup_script ?? ""))?.[1];
    if (!interval) continue;
    const samples = USAGE.prometheusSeries * (seconds / Number(interval));
    add("Managed Service for Prometheus ¹", `${USAGE.prometheusSeries} series every ${interval} s`, "monitoring.prometheus.samples", samples / 1e6);
  }
  for (const check of resources(stack, "google_monitoring_uptime_check_config")) {
    const period = Number(String(check.period ?? "60s").replace(/s$/, ""));
    const executions = (seconds / period) * USAGE.uptimeCheckerLocations;
    add("Uptime checks", `every ${period} s from ${USAGE.uptimeCheckerLocations} locations`, "monitoring.uptime.execution", executions);
  }
  const references = resources(stack, "google_monitoring_alert_policy")
    .flatMap((p) => p.conditions ?? [])
    .filter((c: any) => block(c.condition_threshold)?.filter || block(c.condition_absent)?.filter).length;
  if (references > 0) add("Alert policies ³", `${references} metric references`, "monitoring.alerting.metric-reference", references);
  return lines;
}

/** `owner/repo` for a GitHub file, `host/path` for a web page. */
function sourceName(source: string): string {
  const url = new URL(source);
  if (url.host === "github.com") return url.pathname.split("/").slice(1, 3).join("/");
  return `${url.host}${url.pathname}`;
}

const usd = (value: number) => `$${value.toFixed(2)}`;
const unitPrice = (price: Price) => `$${String(price.usd)}/${price.unit}`;

/** The README block: one column per configuration, then the prices used and their sources. */
export function costsMarkdown(
  prices: PriceList = loadPrices(),
  stacks: SynthesizedStack[] = CONFIGURATIONS.map((c) => synthesizeStack(c.props)),
): string {
  const perConfig = stacks.map((stack) => costLines(stack, prices));
  const used = new Set(perConfig.flat().map((l) => l.priceId));
  const unverified = [...used].filter((id) => !prices.prices[id].verified).sort();
  const mark = (line: CostLine) => (prices.prices[line.priceId].verified ? "" : " †");
  const rows = ROWS.filter((row) => perConfig.some((lines) => lines.some((l) => l.row === row)));
  const unknownRows = perConfig.flat().map((l) => l.row).filter((row) => !ROWS.includes(row));
  if (unknownRows.length > 0) throw new Error(`rows missing from ROWS: ${unknownRows.join(", ")}`);

  const out: string[] = [
    `Monthly list prices in ${prices.regionName} (\`${prices.region}\`), ${prices.currency}, ${prices.hoursPerMonth} hours a month, before`,
    "free tiers, discounts and taxes; computed by `npm run costs` from the synthesized stack",
    "(machine type, tier, disk sizes, which resources exist) and [`docs/prices.json`](docs/prices.json).",
    "",
    `| resource | ${CONFIGURATIONS.map((c) => c.title).join(" | ")} |`,
    `|---|${CONFIGURATIONS.map(() => "---:").join("|")}|`,
  ];
  for (const row of rows) {
    const cells = perConfig.map((lines) => {
      const matching = lines.filter((l) => l.row === row);
      if (matching.length === 0) return "—";
      return matching.map((l) => `${l.detail}: ${usd(l.monthlyUsd)}${mark(l)}`).join("<br>");
    });
    out.push(`| ${row} | ${cells.join(" | ")} |`);
  }
  const totals = perConfig.map((lines) => lines.reduce((sum, l) => sum + l.monthlyUsd, 0));
  const anyUnverified = perConfig.map((lines) => lines.some((l) => !prices.prices[l.priceId].verified));
  out.push(`| **total per month** | ${totals.map((t, i) => `**${usd(t)}**${anyUnverified[i] ? " †" : ""}`).join(" | ")} |`);
  out.push(
    "",
    `¹ Billed by use; the table assumes ${USAGE.backupGb} GB of Cloud SQL backups, ${USAGE.artifactGb} GB of artifacts, ${USAGE.artifactRegistryGb} GB of cached`,
    `images, ${USAGE.logGib} GiB of logs a month, ${USAGE.prometheusSeries} time series of MLflow metrics, and gc runs of ${USAGE.gcJobSeconds} s (as many as its schedule fires).`,
    "Free allotments would make several lines free: logging (50 GiB per project), Cloud Scheduler (3 jobs per",
    "billing account), Artifact Registry (0.5 GB), Secret Manager (6 active versions per billing account).",
    "Not included: network egress, Cloud NAT data processing ($0.045 per GiB, mostly package",
    "downloads when a VM is created), Cloud Storage and Secret Manager operations, Cloud Run's",
    "time serving requests (billed by use at the active rate, with 2 million requests a month free),",
    "the migration job (runs only when the version changes), the Ops Agent's host metrics (within",
    "the free allotment of non-Google metrics), and Cloud DNS (only with `access.dnsZone`).",
    "",
    "² The layout of the usual hand-built setup (an `e2-standard-2` VM with a public IP serving",
    "plain HTTP, Cloud SQL `db-g1-small`), priced as this stack builds it: `server: { machineType:",
    "\"e2-standard-2\" }, access: { mode: \"public\", allowedSourceRanges: [...], allowPlaintextHttp: true }`.",
    "",
    "³ Alerting is free today; Google announced a charge per metric reference in an alerting policy",
    "starting no sooner than 1 September 2027, which this line shows.",
  );
  if (unverified.length > 0) {
    out.push(
      "",
      `† Includes a price that could **not** be confirmed from a source for ${prices.region} (${unverified.map((id) => `\`${id}\``).join(", ")}):`,
      "a best estimate, marked `\"verified\": false` in `docs/prices.json`. Check the",
      "[Google Cloud pricing calculator](https://cloud.google.com/products/calculator) before relying on it.",
    );
  }
  out.push(
    "",
    "Prices used (\"verified\": read from the source named; the Compute Engine and Cloud Storage",
    "figures come from a public export of Google's Cloud Billing Catalog, dated below):",
    "",
    "| price | SKU | list price | source (data as of) | verified |",
    "|---|---|---:|---|---|",
  );
  for (const id of [...used].sort()) {
    const price = prices.prices[id];
    out.push(`| \`${id}\` | ${price.sku} | ${unitPrice(price)} | [${sourceName(price.source)}](${price.source}) (${price.sourceDate ?? "undated"}; taken ${price.taken}) | ${price.verified ? "yes" : "**no**"} |`);
  }
  return out.join("\n");
}

if (require.main === module) {
  process.exitCode = runReadmeGenerator("costs", () => costsMarkdown(), "npm run costs", process.argv.slice(2));
}
