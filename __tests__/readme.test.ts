// Every TypeScript block in README.md is type-checked against the library and run, so the
// README cannot drift from the API.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const LIB = path.join(ROOT, "lib", "index.ts");

/** The ```ts blocks of the README, with the package import pointed at the sources. */
function readmeExamples(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1].replace(/from "cdktf-mlflow-gcp"/g, `from ${JSON.stringify(LIB.replace(/\.ts$/, ""))}`));
}

const examples = readmeExamples();

test("the README has TypeScript examples", () => {
  expect(examples.length).toBeGreaterThanOrEqual(3);
});

describe("README examples", () => {
  const genDir = path.join(ROOT, ".gen", "readme");
  const files = examples.map((_code, i) => path.join(genDir, `example-${i + 1}.ts`));
  beforeAll(() => {
    fs.mkdirSync(genDir, { recursive: true });
    examples.forEach((code, i) => fs.writeFileSync(files[i], code));
  });
  afterAll(() => fs.rmSync(genDir, { recursive: true, force: true }));

  test("type-check against the library (strict)", () => {
    const program = ts.createProgram(files, {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS,
      esModuleInterop: true, skipLibCheck: true, types: ["node"],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);
  });

  test.each(examples.map((code, i) => [i + 1, code]))("example %i synthesizes", (i, code) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `readme-${i}-`));
    const previous = process.env.CDKTF_OUTDIR;
    process.env.CDKTF_OUTDIR = outdir;
    try {
      const js = ts.transpileModule(code as string, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true } }).outputText;
      const run = new Function("require", "exports", js);
      // ts-jest's require resolves .ts sources, so the example runs against lib/ directly.
      run(require, {});
      // Every stack the example declares was written, and each holds resources.
      const declared = [...(code as string).matchAll(/new (?:MlflowTrackingStack|TerraformStack)\(app, "([^"]+)"/g)].map((m) => m[1]);
      const stacks = fs.readdirSync(path.join(outdir, "stacks")).sort();
      expect(stacks).toEqual([...declared].sort());
      const jsons = stacks.map((s) => JSON.parse(fs.readFileSync(path.join(outdir, "stacks", s, "cdk.tf.json"), "utf8")));
      for (const json of jsons) expect(Object.keys(json.resource ?? {}).length).toBeGreaterThan(0);
      // One MLflow server per example that builds one, none in the others (e.g. database only).
      const servers = jsons.reduce((n, json) => n + Object.keys(json.resource.google_compute_instance ?? {}).length +
        Object.keys(json.resource.google_cloud_run_v2_service ?? {}).length, 0);
      expect(servers).toBe(/new (MlflowTrackingStack|MlflowTrackingServer)\(/.test(code as string) ? 1 : 0);
    } finally {
      if (previous === undefined) delete process.env.CDKTF_OUTDIR;
      else process.env.CDKTF_OUTDIR = previous;
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
