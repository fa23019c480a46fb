// The README's facts come from the code or are checked against it: the generated blocks
// (install commands, the validation error, the APIs) are current, and the numbers and names
// written in prose (resource count, Node.js version, outputs and their attributes, gcloud
// commands, ignored files) match what the code and package.json say.
import * as fs from "fs";
import * as path from "path";
import { MlflowValidationError } from "../lib";
import { BLOCKS, VALIDATION_EXAMPLE, peerInstallArguments, validationMessage } from "../scripts/readme-facts";
import { readBlock } from "../scripts/diagram";
import { synthStack } from "./helpers";
import { App } from "cdktf";
import { MlflowTrackingStack } from "../lib";

const ROOT = path.resolve(__dirname, "..");
const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** The README without its generated blocks (they are checked against their generators). */
const prose = readme.replace(/<!-- ([\w-]+):start -->[\s\S]*?<!-- \1:end -->/g, "");

describe("generated README blocks are current (npm run docs)", () => {
  test.each(Object.keys(BLOCKS))("%s", (name) => {
    const expected = BLOCKS[name]();
    if (readBlock(readme, name) !== expected) {
      throw new Error(`README.md block "${name}" is not current; run \`npm run docs\`.\nExpected:\n${expected}`);
    }
  });

  test("the validation example is the real error of those props", () => {
    let thrown: unknown;
    try {
      new MlflowTrackingStack(new App(), VALIDATION_EXAMPLE.id, VALIDATION_EXAMPLE.props);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(MlflowValidationError);
    expect((thrown as Error).message).toBe(validationMessage());
    expect(readBlock(readme, "validation-error")).toContain((thrown as Error).message);
    expect((thrown as MlflowValidationError).problems.map((p) => p.path)).toEqual(["database.tier", "access.allowedSourceRanges", "access.allowPlaintextHttp"]);
  });

  test("the install commands name every required peer at its pinned version", () => {
    const block = readBlock(readme, "install");
    const required = Object.keys(pkg.peerDependencies).filter((n) => !pkg.peerDependenciesMeta?.[n]?.optional);
    expect(peerInstallArguments().map((a) => a.replace(/@[^@]*$/, ""))).toEqual(required);
    for (const name of required) {
      expect(block.match(new RegExp(`${name.replace(/[/.]/g, "\\$&")}@${pkg.peerDependencies[name].replace(/[.^]/g, "\\$&")}`, "g"))).toHaveLength(3);
    }
    // The git URL is a pattern to fill in, never an invented address.
    expect(block).toContain("git+https://<your-git-host>/<path>/cdktf-mlflow-gcp.git#v");
    expect(readme).not.toMatch(/github\.com\/[^/\s)]+\/cdktf-mlflow-gcp/);
  });
});

describe("numbers and names in the prose", () => {
  test("every resource count stated is the default stack's", () => {
    const { json } = synthStack();
    const total = Object.values(json.resource).reduce((n, byName) => n + Object.keys(byName).length, 0);
    const stated = [...prose.matchAll(/\b(\d+) resources\b/g)].map((m) => Number(m[1]));
    expect(stated.length).toBeGreaterThan(0);
    expect(stated.every((n) => n === total)).toBe(true);
  });

  test("the Node.js version is the one package.json's engines require", () => {
    const minimum = /^>=\s*(\d+\.\d+)/.exec(pkg.engines.node)![1];
    expect(prose).toContain(`Node.js ${minimum} or newer`);
    expect(prose).not.toMatch(/Node\.js 1[0-9] or newer/);
  });

  test("every output is listed with its attribute", () => {
    const outputs = new Set<string>();
    for (const props of [{}, { access: { mode: "public" as const, domain: "mlflow.example.com", allowedSourceRanges: ["203.0.113.0/24"] } }]) {
      for (const id of Object.keys(synthStack(props).json.output)) outputs.add(id);
    }
    for (const id of outputs) {
      const attribute = id.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
      expect({ id, output: prose.includes(`\`${id}\``), attribute: prose.includes(`\`stack.${attribute}\``) })
        .toEqual({ id, output: true, attribute: true });
    }
  });

  test("every gcloud command carries --project (gcloud ignores GOOGLE_CLOUD_PROJECT)", () => {
    // Commands in sh blocks (continuation lines joined) and in inline code.
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\\\n\s*/g, " "));
    const fromBlocks = blocks.flatMap((b) => b.split("\n")).filter((l) => /^\s*gcloud /.test(l));
    const inline = [...readme.matchAll(/`(gcloud [^`]+)`/g)].map((m) => m[1].replace(/\s+/g, " "));
    const commands = [...fromBlocks, ...inline]
      // `gcloud auth …` and `gcloud config …` act on local credentials and settings, not on a project.
      .filter((c) => !/^\s*gcloud (auth|config) /.test(c));
    expect(commands.length).toBeGreaterThanOrEqual(8);
    expect(commands.filter((c) => !/ --project[= ]/.test(c))).toEqual([]);
  });

  test("the deploy steps set the IAP members", () => {
    const deploy = readme.slice(readme.indexOf("## Deploy\n"), readme.indexOf("\n## ", readme.indexOf("## Deploy\n") + 1));
    expect(deploy).toMatch(/MLFLOW_IAP_MEMBERS=\S+/);
  });

  test(".gitignore keeps state and synth output out of git", () => {
    const ignore = fs.readFileSync(path.join(ROOT, ".gitignore"), "utf8").split("\n");
    expect(ignore).toEqual(expect.arrayContaining(["*.tfstate*", "cdktf.out/"]));
  });
});
