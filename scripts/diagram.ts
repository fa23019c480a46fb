// Renders the architecture as a Mermaid flowchart FROM THE SYNTHESIZED STACK and writes it
// into README.md between <!-- diagram:start --> and <!-- diagram:end -->.
//
//   npm run diagram              rewrite the README block
//   npm run diagram -- --check   exit 1 when the README block is not current
//   npm run diagram -- --print   print the block instead of writing it
//   npm run diagram -- --svg [FILE]  render only the SVG (default docs/architecture.svg)
//   (plain `npm run diagram` writes the README block and docs/architecture.svg; --check checks both)
//
// Nodes are the synthesized resources (short type + construct path), edges are references
// (`${type.name.…}` inside a resource's configuration) and depends_on entries, subgraphs are
// the sub-constructs (second segment of each resource's metadata path). The project APIs
// (google_project_service) and the wait after enabling them (time_sleep) are left out: every
// other resource depends on them.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { App } from "cdktf";
import { MlflowTrackingStack, MlflowTrackingStackProps } from "../lib";

export const ROOT = path.resolve(__dirname, "..");
export const README = path.join(ROOT, "README.md");

/** Terraform JSON as cdktf writes it (metadata `//` blocks included). */
export interface SynthesizedStack {
  resource: Record<string, Record<string, any>>;
  data?: Record<string, Record<string, any>>;
  [key: string]: unknown;
}

/** Props of the example the README documents (the default, private stack). */
export const EXAMPLE_PROPS: MlflowTrackingStackProps = { projectId: "my-project", region: "europe-west1" };
/** Props of the Cloud Run example (iap mode), drawn as the second diagram. */
export const CLOUD_RUN_EXAMPLE_PROPS: MlflowTrackingStackProps = {
  ...EXAMPLE_PROPS, server: { kind: "cloud-run" }, access: { mode: "iap", iapMembers: ["group:ml-team@example.com"] },
};

/**
 * Synthesizes an MlflowTrackingStack exactly as `cdktf synth` does (App.synth into a
 * temporary directory, validations and MlflowChecks included) and returns its cdk.tf.json,
 * metadata included.
 */
export function synthesizeStack(props: MlflowTrackingStackProps = EXAMPLE_PROPS): SynthesizedStack {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-docs-"));
  try {
    const app = new App({ outdir });
    new MlflowTrackingStack(app, "mlflow", props);
    app.synth();
    return JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "mlflow", "cdk.tf.json"), "utf8")) as SynthesizedStack;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** Resource types that are not drawn (and not followed as edges). */
export const OMITTED_TYPES = ["google_project_service", "time_sleep"];

export interface DiagramNode {
  /** Terraform address: `type.name` or `data.type.name`. */
  address: string;
  type: string;
  /** Sub-construct (second metadata path segment), or "" for resources of the stack itself. */
  group: string;
  /** Construct path below the sub-construct, e.g. `Password/Value`. */
  localPath: string;
}

export interface DiagramEdge {
  from: string;
  to: string;
  /** `reference`: the configuration reads an attribute; `depends_on`: ordering only. */
  kind: "reference" | "depends_on";
}

export interface ArchitectureGraph {
  nodes: DiagramNode[];
  edges: DiagramEdge[];
  omitted: Record<string, number>;
}

/** Every `${…}` interpolation body in a JSON text (Terraform's `$${` escape is skipped). */
function interpolations(text: string): string[] {
  const bodies: string[] = [];
  for (let i = text.indexOf("${"); i !== -1; i = text.indexOf("${", i + 2)) {
    if (i > 0 && text[i - 1] === "$") continue;
    let depth = 0;
    let j = i + 1;
    for (; j < text.length; j++) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}" && --depth === 0) break;
    }
    bodies.push(text.slice(i + 2, j));
  }
  return bodies;
}

/** The resources, references and dependencies of a synthesized stack. */
export function architectureGraph(stack: SynthesizedStack): ArchitectureGraph {
  const nodes: DiagramNode[] = [];
  const configs = new Map<string, any>();
  const omitted: Record<string, number> = {};
  const blocks: Array<[string, Record<string, Record<string, any>> | undefined]> = [["", stack.resource], ["data.", stack.data]];
  for (const [prefix, byType] of blocks) {
    for (const [type, byName] of Object.entries(byType ?? {})) {
      for (const [name, config] of Object.entries(byName)) {
        if (OMITTED_TYPES.includes(type)) {
          omitted[type] = (omitted[type] ?? 0) + 1;
          continue;
        }
        const segments: string[] = String(config?.["//"]?.metadata?.path ?? `${name}`).split("/");
        const address = `${prefix}${type}.${name}`;
        nodes.push({
          address,
          type: `${prefix}${type}`,
          group: segments.length > 2 ? segments[1] : "",
          localPath: segments.length > 2 ? segments.slice(2).join("/") : segments[segments.length - 1],
        });
        configs.set(address, config);
      }
    }
  }
  const known = new Set(nodes.map((n) => n.address));
  const edges = new Map<string, DiagramEdge>();
  const reference = /(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+/g;
  for (const node of nodes) {
    const { "//": _metadata, depends_on: dependsOn, ...rest } = configs.get(node.address) ?? {};
    for (const body of interpolations(JSON.stringify(rest))) {
      for (const match of body.match(reference) ?? []) {
        if (known.has(match) && match !== node.address) {
          edges.set(`${node.address} ${match}`, { from: node.address, to: match, kind: "reference" });
        }
      }
    }
    for (const entry of (dependsOn ?? []) as string[]) {
      const target = entry.replace(/^\$\{(.*)\}$/, "$1");
      const key = `${node.address} ${target}`;
      if (known.has(target) && !edges.has(key)) edges.set(key, { from: node.address, to: target, kind: "depends_on" });
    }
  }
  const byAddress = (a: { address: string }, b: { address: string }) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);
  return {
    nodes: nodes.sort((a, b) => (a.group === b.group ? byAddress(a, b) : a.group < b.group ? -1 : 1)),
    edges: [...edges.values()].sort((a, b) => (a.from === b.from ? (a.to < b.to ? -1 : 1) : a.from < b.from ? -1 : 1)),
    omitted,
  };
}

/** A Mermaid node id: the Terraform address with only id-safe characters. */
function nodeId(address: string): string {
  return address.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Short label: the type without the `google_` prefix, then the construct path. */
function nodeLabel(node: DiagramNode): string {
  const type = node.type.replace(/^(data\.)?google_/, "$1");
  return `${type}<br/>${node.localPath}`;
}

/** The Mermaid `flowchart` of a synthesized stack. */
export function mermaidFlowchart(graph: ArchitectureGraph): string {
  const lines = ["flowchart LR"];
  const groups = [...new Set(graph.nodes.map((n) => n.group))];
  for (const group of groups) {
    const members = graph.nodes.filter((n) => n.group === group);
    const indent = group === "" ? "  " : "    ";
    if (group !== "") lines.push(`  subgraph ${group}["${group}"]`);
    for (const node of members) lines.push(`${indent}${nodeId(node.address)}["${nodeLabel(node)}"]`);
    if (group !== "") lines.push("  end");
  }
  for (const edge of graph.edges) {
    lines.push(`  ${nodeId(edge.from)} ${edge.kind === "reference" ? "-->" : "-.->"} ${nodeId(edge.to)}`);
  }
  return lines.join("\n");
}

/** The README block (without the markers). */
export function diagramMarkdown(stack: SynthesizedStack = synthesizeStack(), label = "Default stack (VM kind, private mode)"): string {
  const graph = architectureGraph(stack);
  const omitted = Object.entries(graph.omitted)
    .map(([type, count]) => `${count} \`${type}\``)
    .join(", ");
  const caption = [
    `${label}: ${graph.nodes.length} resources, each labelled with its type (without`,
    "`google_`) and construct path, framed by sub-construct. An arrow A → B: A's configuration",
    "references B (solid) or A has a `depends_on` on B (dotted).",
  ];
  if (omitted) caption.push(`Not drawn: the project APIs and the wait for them to settle (${omitted}), on which every other resource depends.`);
  return [...caption, "", "```mermaid", mermaidFlowchart(graph), "```"].join("\n");
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceBlock(document: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
  return `${document.slice(0, from + start.length)}\n${content}\n${document.slice(to)}`;
}

/** The text between the markers, as written by replaceBlock. */
export function readBlock(document: string, name: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
  return document.slice(from + start.length, to).replace(/^\n/, "").replace(/\n$/, "");
}

/** Shared command line of the README generators: write, `--check` or `--print`. */
export function runReadmeGenerator(name: string, generate: () => string, command: string, argv: string[]): number {
  const content = generate();
  if (argv.includes("--print")) {
    process.stdout.write(`${content}\n`);
    return 0;
  }
  const readme = fs.readFileSync(README, "utf8");
  if (argv.includes("--check")) {
    if (readBlock(readme, name) === content) return 0;
    process.stderr.write(`README.md: the ${name} block is not current; run \`${command}\`\n`);
    return 1;
  }
  const updated = replaceBlock(readme, name, content);
  if (updated !== readme) fs.writeFileSync(README, updated);
  process.stdout.write(`README.md: ${name} block ${updated !== readme ? "updated" : "already current"}\n`);
  return 0;
}

/** Where the rendered diagram is checked in (the README links it). */
export const SVG_FILE = path.join(ROOT, "docs", "architecture.svg");

/** The diagrams of the README: its block, its SVG, the stack drawn and the caption's label. */
export const DIAGRAMS = [
  { block: "diagram", svg: SVG_FILE, props: EXAMPLE_PROPS, label: "Default stack (VM kind, private mode)" },
  { block: "diagram-cloud-run", svg: path.join(ROOT, "docs", "architecture-cloud-run.svg"), props: CLOUD_RUN_EXAMPLE_PROPS, label: "Cloud Run kind (iap mode)" },
] as const;

/**
 * Renders the flowchart to SVG with `beautiful-mermaid` (a dev dependency: pure JavaScript,
 * no browser; its own layout, so it differs from GitHub's rendering of the Mermaid block).
 * It is ESM-only, hence the file-URL import. Deterministic: the same chart gives the same bytes.
 */
export async function renderSvg(chart: string): Promise<string> {
  const entry = path.join(ROOT, "node_modules", "beautiful-mermaid", "dist", "index.js");
  if (!fs.existsSync(entry)) {
    throw new Error("the SVG needs the beautiful-mermaid dev dependency: run npm ci");
  }
  const importEsm = new Function("url", "return import(url)") as (url: string) => Promise<any>;
  const { renderMermaidSVG } = await importEsm(pathToFileURL(entry).href);
  // Explicit colours and a system font: no CSS colour derivation, no web-font download.
  const svg: string = renderMermaidSVG(chart, {
    bg: "#FFFFFF", fg: "#27272A", line: "#71717A", accent: "#2563EB", muted: "#71717A", surface: "#F4F4F5", border: "#A1A1AA",
    font: "system-ui, sans-serif",
  });
  const local = svg.replace(/^\s*@import url\([^)]*\);\n/m, "");
  return local.endsWith("\n") ? local : `${local}\n`;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const fail = (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  };
  const svgAt = argv.indexOf("--svg");
  for (const diagram of DIAGRAMS) {
    const stack = synthesizeStack(diagram.props);
    const chart = mermaidFlowchart(architectureGraph(stack));
    if (svgAt !== -1) {
      // --svg FILE renders the first diagram only (the test renders each in a separate process).
      const which = argv.includes("--cloud-run") ? "diagram-cloud-run" : "diagram";
      if (diagram.block !== which) continue;
      const file = argv[svgAt + 1] && !argv[svgAt + 1].startsWith("--") ? argv[svgAt + 1] : diagram.svg;
      renderSvg(chart).then((svg) => {
        fs.writeFileSync(file, svg);
        process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
      }, fail);
      continue;
    }
    const rc = runReadmeGenerator(diagram.block, () => diagramMarkdown(stack, diagram.label), "npm run diagram", argv);
    if (rc !== 0) process.exitCode = rc;
    if (!argv.includes("--print")) {
      renderSvg(chart).then((svg) => {
        const current = fs.existsSync(diagram.svg) && fs.readFileSync(diagram.svg, "utf8") === svg;
        if (argv.includes("--check")) {
          if (!current) {
            process.stderr.write(`${path.relative(ROOT, diagram.svg)} is not current; run \`npm run diagram\`\n`);
            process.exitCode = 1;
          }
        } else if (!current) {
          fs.writeFileSync(diagram.svg, svg);
          process.stdout.write(`${path.relative(ROOT, diagram.svg)} updated\n`);
        }
      }, fail);
    }
  }
}
