// README blocks that state facts of the code, generated from it so they cannot drift:
//   install           the install commands, with the peer dependencies package.json pins
//   validation-error  what a bad configuration gets: the real MlflowValidationError message
//   required-apis     the APIs a stack built from the sub-constructs enables (requiredApis)
//
//   npm run docs                                   rewrite API.md and these README blocks
//   ts-node scripts/readme-facts.ts --check        exit 1 when a block is not current
//   ts-node scripts/readme-facts.ts --print        print the blocks
import * as fs from "fs";
import * as path from "path";
import { App } from "cdktf";
import { MlflowTrackingStack, MlflowTrackingStackProps, requiredApis } from "../lib";
import { ROOT, readBlock, replaceBlock, README } from "./diagram";

interface PackageJson {
  name: string;
  version: string;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as PackageJson;

/** `cdktf@0.21.0 constructs@^10.4.2 …`: the required peers at the versions package.json accepts. */
export function peerInstallArguments(p: PackageJson = pkg): string[] {
  return Object.entries(p.peerDependencies)
    .filter(([name]) => !p.peerDependenciesMeta?.[name]?.optional)
    .map(([name, range]) => `${name}@${range}`);
}

export function installMarkdown(p: PackageJson = pkg): string {
  // Quoted where a shell could read a character of the range (^, ~, >, *) specially.
  const peers = peerInstallArguments(p).map((a) => (/[^\w@./-]/.test(a) ? `"${a}"` : a)).join(" ");
  const optional = Object.entries(p.peerDependencies).filter(([name]) => p.peerDependenciesMeta?.[name]?.optional);
  const lines = [
    "```sh",
    "# From git: npm clones the repository at the tag (or commit) after `#` and runs its `prepare`",
    "# script, which installs the build tools (devDependencies, from the npm registry) and builds dist/.",
    `npm install "git+https://<your-git-host>/<path>/${p.name}.git#v${p.version}" \\`,
    `  ${peers}`,
    "",
    "# From a tarball: `npm pack` in a checkout of this repository builds it and writes the file.",
    `npm install ./${p.name}-${p.version}.tgz \\`,
    `  ${peers}`,
    "",
    "# Once the package is published on the npm registry:",
    `npm install ${p.name} \\`,
    `  ${peers}`,
    "```",
  ];
  for (const [name, range] of optional) {
    const feature = OPTIONAL_PEER_FEATURES[name];
    if (feature === undefined) throw new Error(`scripts/readme-facts.ts: say which feature needs the optional peer ${name}`);
    lines.push("", `Optional peer \`${name}@${range}\`: ${feature}`);
  }
  return lines.join("\n");
}

/**
 * What each optional peer dependency is for, in the README's install block. `cdktf init`'s
 * TypeScript template sets skipLibCheck (hashicorp/terraform-cdk,
 * packages/@cdktf/cli-core/templates/typescript/tsconfig.json).
 */
const OPTIONAL_PEER_FEATURES: Record<string, string> = {
  "@cdktf/provider-google-beta":
    'the [Cloud Run](#cloud-run) kind (`server.kind: "cloud-run"`) needs it; without it that kind ' +
    "fails validation with a message that gives the install command. A TypeScript app that sets `skipLibCheck: false` " +
    "needs it for the library's declaration files whichever kind it uses (`cdktf init` sets `skipLibCheck: true`).",
};

/** The bad props the README shows, and the stack id they are given to. */
export const VALIDATION_EXAMPLE: { id: string; props: MlflowTrackingStackProps } = {
  id: "mlflow",
  props: { projectId: "my-project", region: "europe-west1", database: { tier: "db-perf-optimized-N-2" }, access: { mode: "public" } },
};

/** A props object as a TypeScript literal on one line: `{ database: { tier: "x" } }`. */
function literal(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(literal).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${literal(v)}`).join(", ")} }`;
  }
  return JSON.stringify(value);
}

/** The message MlflowTrackingStack throws for the example (fails if it does not throw). */
export function validationMessage(example = VALIDATION_EXAMPLE): string {
  try {
    new MlflowTrackingStack(new App({ skipValidation: true }), example.id, example.props);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("the README's validation example no longer fails validation");
}

export function validationMarkdown(example = VALIDATION_EXAMPLE): string {
  return [
    `For example, \`new MlflowTrackingStack(app, "${example.id}", ${literal(example.props)})\` stops with:`,
    "",
    "```text",
    validationMessage(example),
    "```",
  ].join("\n");
}

export function requiredApisMarkdown(): string {
  const privateApis = requiredApis("private");
  const publicApis = requiredApis("public");
  const onlyPrivate = privateApis.filter((a) => !publicApis.includes(a));
  const onlyDns = requiredApis("public", true).filter((a) => !publicApis.includes(a));
  return [
    "```sh",
    `gcloud services enable ${privateApis.join(" ")} --project=my-project`,
    "```",
    "",
    `\`requiredApis(mode, dnsZone)\` returns this list: \`requiredApis("private")\` above; public mode leaves out ` +
      `${onlyPrivate.map((a) => `\`${a}\``).join(", ")}, and a DNS zone adds ${onlyDns.map((a) => `\`${a}\``).join(", ")}.`,
  ].join("\n");
}

export const BLOCKS: Record<string, () => string> = {
  install: () => installMarkdown(),
  "validation-error": () => validationMarkdown(),
  "required-apis": () => requiredApisMarkdown(),
};

if (require.main === module) {
  const argv = process.argv.slice(2);
  let readme = fs.readFileSync(README, "utf8");
  let status = 0;
  for (const [name, generate] of Object.entries(BLOCKS)) {
    const content = generate();
    if (argv.includes("--print")) {
      process.stdout.write(`<!-- ${name} -->\n${content}\n`);
    } else if (argv.includes("--check")) {
      if (readBlock(readme, name) !== content) {
        process.stderr.write(`README.md: the ${name} block is not current; run \`npm run docs\`\n`);
        status = 1;
      }
    } else {
      readme = replaceBlock(readme, name, content);
    }
  }
  if (!argv.includes("--print") && !argv.includes("--check")) {
    const changed = fs.readFileSync(README, "utf8") !== readme;
    if (changed) fs.writeFileSync(README, readme);
    process.stdout.write(`README.md: ${Object.keys(BLOCKS).join(", ")} blocks ${changed ? "updated" : "already current"}\n`);
  }
  process.exitCode = status;
}
