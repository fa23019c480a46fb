// The template renderer: placeholders, shell quoting (executed by bash) and Terraform escaping.
import { execFileSync } from "child_process";
import { renderTemplate, shellQuote, escapeTerraformTemplate, TemplateError } from "../lib/template";
import { newApp } from "./helpers";
import { TerraformStack, TerraformOutput, Testing } from "cdktf";
import { StorageBucket } from "@cdktf/provider-google/lib/storage-bucket";

describe("renderTemplate", () => {
  test("fills every placeholder, quoting values as shell words", () => {
    expect(renderTemplate("A={{A}} B=({{B}}) C={{C}}", { A: "x y", B: ["p q", "r"], C: 5 })).toBe("A='x y' B=('p q' r) C=5");
  });
  test("a placeholder without a value fails, naming it", () => {
    expect(() => renderTemplate("{{A}} {{MISSING}}", { A: "1" }, { name: "t.sh" })).toThrow(/t\.sh: no value for placeholder\(s\) \{\{MISSING\}\}/);
  });
  test("a value no placeholder uses fails, naming it", () => {
    expect(() => renderTemplate("{{A}}", { A: "1", EXTRA: "2" })).toThrow(TemplateError);
    expect(() => renderTemplate("{{A}}", { A: "1", EXTRA: "2" })).toThrow(/unknown placeholder\(s\) EXTRA/);
  });
  test("quote: false inserts values verbatim", () => {
    expect(renderTemplate("x={{A}}", { A: "a b" }, { quote: false })).toBe("x=a b");
  });
});

describe("shellQuote: bash reads back exactly the value", () => {
  const hostile = [
    "plain", "with space", "it's", "$(touch /tmp/pwned)", "`id`", "a;b", "x\ny", "${HOME}", "%{x}", "", "\\", "\"quoted\"", "*", "-n",
  ];
  test.each(hostile)("%j", (value) => {
    const script = `v=${shellQuote(value)}; printf '%s' "$v"`;
    expect(execFileSync("bash", ["-c", script], { encoding: "utf8" })).toBe(value);
  });
});

describe("escapeTerraformTemplate", () => {
  test("escapes ${ and %{ in literal text", () => {
    expect(escapeTerraformTemplate("a ${HOME} %{if x} $x %d")).toBe("a $${HOME} %%{if x} $x %d");
  });
  test("keeps cdktf tokens live", () => {
    const app = newApp();
    const stack = new TerraformStack(app, "s");
    const bucket = new StorageBucket(stack, "b", { name: "n", location: "EU" });
    new TerraformOutput(stack, "o", { value: escapeTerraformTemplate(`${bucket.name} \${LOCAL} %{x}`) });
    const json = JSON.parse(Testing.synth(stack));
    expect(json.output.o.value).toBe("${google_storage_bucket.b.name} $${LOCAL} %%{x}");
  });
});
