// The generated documentation stays current: API.md (npm run docs), the README architecture
// diagram (npm run diagram) and the README cost table (npm run costs) are regenerated in
// memory and compared with the checked-in text. Also: every optional prop of a public
// props/options interface documents its @default.
import { spawnSync } from "child_process";
import * as ts from "typescript";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { API_MD, ApiModel, ENTRY, loadApi, renderApiMarkdown } from "../scripts/api-docs";
import {
  CLOUD_RUN_EXAMPLE_PROPS, DIAGRAMS, EXAMPLE_PROPS, README, SynthesizedStack, architectureGraph, diagramMarkdown, readBlock, synthesizeStack,
} from "../scripts/diagram";
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

/**
 * Every public member of the exported classes and interfaces, static ones included, read
 * with the TypeScript checker independently of the generator: `Class.member` /
 * `Class.static member`.
 */
function publicMembers(): string[] {
  const program = ts.createProgram([ENTRY], { strict: true, skipLibCheck: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const root = path.resolve(__dirname, "..");
  const own = (p: ts.Symbol) => (p.declarations ?? []).some((d) => {
    const file = d.getSourceFile().fileName;
    return file.startsWith(root) && !file.includes("node_modules");
  });
  const visible = (p: ts.Symbol) => !p.name.startsWith("_") && p.name !== "prototype" && (p.declarations ?? []).every((d) =>
    (ts.getCombinedModifierFlags(d as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0);
  const found: string[] = [];
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decl = symbol.declarations?.[0];
    if (!decl || !(ts.isClassDeclaration(decl) || ts.isInterfaceDeclaration(decl))) continue;
    for (const p of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
      if (own(p) && visible(p)) found.push(`${exported.name}.${p.name}`);
    }
    if (ts.isClassDeclaration(decl)) {
      for (const p of checker.getPropertiesOfType(checker.getTypeOfSymbolAtLocation(symbol, decl))) {
        if (own(p) && visible(p)) found.push(`${exported.name}.static ${p.name}`);
      }
    }
  }
  return found;
}

describe("API.md covers the whole public API", () => {
  test("every public member of every exported class and interface, static members included", () => {
    const text = fs.readFileSync(API_MD, "utf8");
    const sections = new Map(text.split("\n### ").slice(1).map((s) => [s.slice(0, s.indexOf("\n")), s]));
    const members = publicMembers();
    expect(members).toEqual(expect.arrayContaining([
      "MlflowChecks.static suppress", "MlflowArtifactStore.grantReadWrite", "IMlflowSecret.grantAccess",
      "MlflowTrackingStack.trackingUri", "MlflowDatabase.instance", "IMlflowNetwork.networkId",
    ]));
    const undocumented = members.filter((m) => {
      const [owner, member] = m.split(".");
      const name = member.replace(/^static /, "");
      const section = sections.get(owner) ?? "";
      const prefix = member.startsWith("static ") ? "static " : "";
      return !new RegExp(`\`${prefix}${name}[\`?(]`).test(section);
    });
    expect(undocumented).toEqual([]);
  });

  test("the README links it, and the package ships it", () => {
    expect(readme).toMatch(/\[API\.md\]\(API\.md\)/);
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "package.json"), "utf8"));
    expect(pkg.files).toContain("API.md");
  });
});

describe("architecture diagram (README)", () => {
  test.each([["docs/architecture.svg", []], ["docs/architecture-cloud-run.svg", ["--cloud-run"]]])(
    "%s is current (rendered in a separate process: the renderer is an ES module)", (file, flags) => {
      const result = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/diagram.ts", ...flags, "--svg", svgOut], {
        cwd: path.resolve(__dirname, ".."), encoding: "utf8",
      });
      expect(result.stderr).toBe("");
      expect(fs.readFileSync(svgOut, "utf8")).toBe(fs.readFileSync(path.resolve(__dirname, "..", file), "utf8"));
      fs.rmSync(svgOut, { force: true });
    });

  test("the Cloud Run block is current and draws the service, the job and their repositories", () => {
    const stack = synthesizeStack(CLOUD_RUN_EXAMPLE_PROPS);
    expectCurrent("README.md diagram-cloud-run block", readBlock(readme, "diagram-cloud-run"), diagramMarkdown(stack, DIAGRAMS[1].label), "npm run diagram");
    const types = architectureGraph(stack).nodes.map((n) => n.type);
    expect(types).toEqual(expect.arrayContaining(["google_cloud_run_v2_service", "google_cloud_run_v2_job", "google_artifact_registry_repository"]));
    expect(types).not.toContain("google_compute_instance");
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
    // No mode of the library's own servers gets one (none is open to the internet); MlflowOperations
    // creates one for a server of the user's own that is (__tests__/operations.test.ts).
    expect(stacks.some((s) => s.resource.google_monitoring_uptime_check_config !== undefined)).toBe(false);
    const open = JSON.parse(JSON.stringify(stacks[0])) as SynthesizedStack;
    open.resource.google_monitoring_uptime_check_config = { Own_UptimeCheck: { period: "300s", timeout: "10s" } };
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
