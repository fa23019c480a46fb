// The generated documentation stays current: API.md (npm run docs), the README architecture
// diagram (npm run diagram) and the README cost table (npm run costs) are regenerated in
// memory and compared with the checked-in text. Also: every optional prop of a public
// props/options interface documents its @default.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { API_MD, ApiModel, loadApi, renderApiMarkdown } from "../scripts/api-docs";
import { EXAMPLE_PROPS, README, SynthesizedStack, architectureGraph, diagramMarkdown, readBlock, synthesizeStack } from "../scripts/diagram";
import { CONFIGURATIONS, PriceList, costLines, costsMarkdown, loadPrices } from "../scripts/costs";

/** Fails with the command to run and the first differing line, instead of a huge diff. */
function expectCurrent(what: string, actual: string, expected: string, command: string): void {
  if (actual === expected) return;
  const a = actual.split("\n");
  const e = expected.split("\n");
  let i = 0;
  while (i < Math.max(a.length, e.length) && a[i] === e[i]) i++;
  throw new Error(`${what} is not current; run \`${command}\`.\nFirst difference at line ${i + 1}:\n  checked in: ${JSON.stringify(a[i])}\n  generated:  ${JSON.stringify(e[i])}`);
}

const svgOut = path.join(os.tmpdir(), `architecture-${process.pid}.svg`);
let model: ApiModel;
let stacks: SynthesizedStack[];
let prices: PriceList;
let readme: string;

beforeAll(() => {
  model = loadApi();
  stacks = CONFIGURATIONS.map((c) => synthesizeStack(c.props));
  prices = loadPrices();
  readme = fs.readFileSync(README, "utf8");
});

describe("API reference (API.md)", () => {
  test("is current", () => {
    expectCurrent("API.md", fs.readFileSync(API_MD, "utf8"), renderApiMarkdown(model), "npm run docs");
  });

  test("every optional prop of a public props/options interface has a @default", () => {
    // Project rule: `@default <value>` or `@default - <behaviour>` on each optional prop.
    expect(model.missingDefaults).toEqual([]);
  });

  test("documents every export of lib/index.ts, props with types and defaults", () => {
    const text = renderApiMarkdown(model);
    for (const entry of model.entries) expect(text).toContain(`\n### ${entry.name}\n`);
    expect(model.entries.map((e) => e.name)).toEqual(expect.arrayContaining(["MlflowTrackingStack", "MlflowTrackingStackProps", "renderStartupScript", "DEFAULT_MLFLOW_VERSION"]));
    expect(text).toContain('| `tier?` | `string` | `"db-g1-small"` |');
    expect(text).toContain("| `projectId` | `string` | *required* |");
  });
});

describe("architecture diagram (README)", () => {
  test("docs/architecture.svg is current (rendered in a separate process: the renderer is an ES module)", () => {
    const result = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/diagram.ts", "--svg", svgOut], {
      cwd: path.resolve(__dirname, ".."), encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(fs.readFileSync(svgOut, "utf8")).toBe(fs.readFileSync(path.resolve(__dirname, "..", "docs", "architecture.svg"), "utf8"));
    fs.rmSync(svgOut, { force: true });
  });

  test("the README block is current", () => {
    // The diagram is drawn from the example stack, the first cost configuration.
    expect(CONFIGURATIONS[0].props).toEqual(EXAMPLE_PROPS);
    expectCurrent("README.md diagram block", readBlock(readme, "diagram"), diagramMarkdown(stacks[0]), "npm run diagram");
  });

  test("is drawn from the synthesized resources, grouped by sub-construct", () => {
    const graph = architectureGraph(stacks[0]);
    const synthesized = Object.entries(stacks[0].resource).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`));
    expect(graph.nodes.map((n) => n.address).sort()).toEqual(synthesized.filter((a) => !/^(google_project_service|time_sleep)\./.test(a)).sort());
    expect([...new Set(graph.nodes.map((n) => n.group))].sort()).toEqual(["ArtifactStore", "Database", "Network", "Operations", "Server"]);
    expect(graph.omitted).toEqual({ google_project_service: 9, time_sleep: 1 });
    const vm = graph.nodes.find((n) => n.type === "google_compute_instance")!.address;
    const sql = graph.nodes.find((n) => n.type === "google_sql_database_instance")!.address;
    const nat = graph.nodes.find((n) => n.type === "google_compute_router_nat")!.address;
    expect(graph.edges).toContainEqual({ from: vm, to: sql, kind: "reference" });
    expect(graph.edges).toContainEqual({ from: vm, to: nat, kind: "depends_on" });
  });
});

describe("cost table (README)", () => {
  test("the README block is current", () => {
    expectCurrent("README.md costs block", readBlock(readme, "costs"), costsMarkdown(prices, stacks), "npm run costs");
  });

  test("every price records its SKU, unit, source, dates and whether it was verified", () => {
    for (const [id, price] of Object.entries(prices.prices)) {
      expect({ id, sku: price.sku.length > 0, usd: price.usd > 0, unit: price.unit.length > 0 }).toEqual({ id, sku: true, usd: true, unit: true });
      expect(() => new URL(price.source)).not.toThrow();
      expect(price.taken).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(price.sourceDate === null || /^\d{4}-\d{2}-\d{2}$/.test(price.sourceDate)).toBe(true);
      expect(typeof price.verified).toBe("boolean");
    }
  });

  test("unverified prices are flagged in the README, never shown as checked", () => {
    const block = readBlock(readme, "costs");
    for (const [id, price] of Object.entries(prices.prices)) {
      const row = block.split("\n").find((line) => line.startsWith(`| \`${id}\` |`));
      if (row === undefined) continue;
      expect(row.endsWith(price.verified ? "| yes |" : "| **no** |")).toBe(true);
      if (!price.verified) expect(block).toContain(`\`${id}\``);
    }
    if (Object.values(prices.prices).some((p) => !p.verified)) expect(block).toMatch(/† Includes a price that could \*\*not\*\* be confirmed/);
  });

  test("the lines follow the synthesized stacks", () => {
    const [privateMode, publicDomain, tutorial, cloudRun] = stacks.map((s) => costLines(s, prices));
    const rows = (lines: typeof privateMode) => lines.map((l) => `${l.row}: ${l.detail}`);
    expect(rows(privateMode)).toEqual(expect.arrayContaining([
      "Compute Engine VM: e2-medium", "VM boot disk: 20 GB pd-balanced", "Cloud NAT gateway: 1 VM",
      "Cloud SQL instance: db-g1-small, zonal", "Cloud SQL storage: 10 GB SSD", "Secret Manager: 3 secret versions",
    ]));
    expect(privateMode.some((l) => l.priceId === "network.ip.in-use")).toBe(false);
    expect(publicDomain.some((l) => l.priceId === "network.ip.in-use")).toBe(true);
    expect(publicDomain.some((l) => l.priceId.startsWith("network.nat."))).toBe(false);
    expect(rows(tutorial)).toContain("Compute Engine VM: e2-standard-2");
    // Operations: the Ops Agent's scrape on every VM, alert policies everywhere.
    expect(rows(privateMode)).toEqual(expect.arrayContaining([
      "Managed Service for Prometheus ¹: 300 series every 60 s", "Alert policies ³: 4 metric references", "Cloud Logging ¹: 1 GiB",
    ]));
    // Cloud Run: one minimum instance, MLflow (1 vCPU, 2 GiB) and the Caddy sidecar (1 vCPU,
    // 512 MiB) at the idle rate; gc daily; the cached images; no VM, disk or NAT.
    expect(rows(cloudRun)).toEqual(expect.arrayContaining([
      "Cloud Run service (idle minimum instances): 1 × 2 vCPU", "Cloud Run service (idle minimum instances): 1 × 2.5 GiB",
      "Cloud Run jobs (gc) ¹: 31 runs × 120 s × 1 vCPU", "Cloud Scheduler: 1 job", "Artifact Registry (cached images) ¹: 2 GB",
      "Alert policies ³: 3 metric references", "Cloud SQL instance: db-g1-small, zonal",
    ]));
    expect(cloudRun.find((l) => l.priceId === "run.idle.cpu")!.quantity).toBe(2 * 730 * 3600);
    expect(cloudRun.some((l) => /^(compute|network)\./.test(l.priceId))).toBe(false);
    expect(cloudRun.some((l) => l.priceId === "monitoring.prometheus.samples")).toBe(false);
  });

  test("an uptime check is priced where one exists", () => {
    const open = synthesizeStack({ projectId: "my-project", region: "europe-west1", access: { mode: "public", allowedSourceRanges: ["0.0.0.0/0"], domain: "mlflow.example.com" } });
    const line = costLines(open, prices).find((l) => l.row === "Uptime checks")!;
    expect(line).toMatchObject({ detail: "every 300 s from 6 locations", priceId: "monitoring.uptime.execution", quantity: (730 * 3600 / 300) * 6 });
  });

  test("a resource without a price is an error, not a zero", () => {
    const stack = JSON.parse(JSON.stringify(stacks[0])) as SynthesizedStack;
    const vm = Object.values(stack.resource.google_compute_instance)[0];
    vm.machine_type = "n2-standard-8";
    expect(() => costLines(stack, prices)).toThrow(/no price "compute\.instance\.n2-standard-8"/);
    // Instance-based billing (a container without cpu_idle) has other prices.
    const cloudRun = JSON.parse(JSON.stringify(stacks[3])) as SynthesizedStack;
    const service = Object.values<any>(cloudRun.resource.google_cloud_run_v2_service)[0];
    service.template.containers[0].resources.cpu_idle = false;
    expect(() => costLines(cloudRun, prices)).toThrow(/instance-based billing/);
  });
});
