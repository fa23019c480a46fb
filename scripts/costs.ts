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
];

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
    `¹ Billed per GB stored; the table assumes ${USAGE.backupGb} GB of Cloud SQL backups and ${USAGE.artifactGb} GB of artifacts.`,
    "Not included: network egress, Cloud NAT data processing ($0.045 per GiB, mostly package",
    "downloads when a VM is created), Cloud Storage and Secret Manager operations, logging and",
    "monitoring beyond the free allotments, and Cloud DNS (only with `access.dnsZone`). The Secret",
    "Manager free tier (6 active versions per billing account) would make that line free.",
    "",
    "² The layout of the usual hand-built setup (an `e2-standard-2` VM with a public IP serving",
    "plain HTTP, Cloud SQL `db-g1-small`), priced as this stack builds it: `server: { machineType:",
    "\"e2-standard-2\" }, access: { mode: \"public\", allowedSourceRanges: [...], allowPlaintextHttp: true }`.",
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
