// Generates API.md, the API reference, from the TSDoc comments of everything lib/index.ts
// exports, with the TypeScript compiler API. Output is deterministic: sections in a fixed
// order, entries sorted by name, members in declaration order.
//
//   npm run docs              rewrite API.md
//   npm run docs -- --check   exit 1 when API.md is not current, or when an optional prop of
//                             a public props/options interface has no @default tag
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

export const ROOT = path.resolve(__dirname, "..");
export const ENTRY = path.join(ROOT, "lib", "index.ts");
export const API_MD = path.join(ROOT, "API.md");

export interface ApiMember {
  name: string;
  kind: "property" | "method";
  /** Type of a property; full signature of a method. */
  type: string;
  optional: boolean;
  readonly: boolean;
  /** A static member of a class (`MlflowChecks.suppress`). */
  static?: boolean;
  /** Text of the @default tag, if any. */
  defaultValue?: string;
  doc: string;
}

export interface ApiParameter {
  name: string;
  type: string;
  optional: boolean;
  initializer?: string;
  doc: string;
}

export interface ApiEntry {
  name: string;
  kind: "class" | "interface" | "function" | "constant" | "type";
  /** Source file, relative to the repository root. */
  file: string;
  doc: string;
  /** Class: extends; interface: extended interfaces. */
  heritage: string[];
  implementsList: string[];
  /** Class constructor, function parameters. */
  parameters: ApiParameter[];
  /** Function: return type; constant: declared type (inferred one without initializer); type alias: its definition. */
  returns?: string;
  /** Constant: its initializer. */
  value?: string;
  members: ApiMember[];
  /** Interface: the properties it inherits, by declaring interface. */
  inherited: Array<{ from: string; names: string[] }>;
}

export interface ApiModel {
  entries: ApiEntry[];
  /** `Interface.prop` of every optional prop of a props/options interface without @default. */
  missingDefaults: string[];
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();
const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join("/");

function docOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
}

function tagOf(symbol: ts.Symbol, checker: ts.TypeChecker, name: string): string | undefined {
  const tag = symbol.getJsDocTags(checker).find((t) => t.name === name);
  return tag === undefined ? undefined : oneLine(ts.displayPartsToString(tag.text));
}

/** A method's @param and @throws tags as one line: "`member`: …; `scope`: …. Throws …". */
function methodTagDocs(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const parts: string[] = [];
  const throws: string[] = [];
  for (const tag of symbol.getJsDocTags(checker)) {
    if (tag.name === "param" && tag.text) {
      const name = tag.text.find((p) => p.kind === "parameterName")?.text ?? "";
      const text = oneLine(tag.text.filter((p) => p.kind !== "parameterName").map((p) => p.text).join("")).replace(/^- /, "");
      parts.push(`\`${name}\`: ${text.replace(/\.$/, "")}`);
    } else if (tag.name === "throws" && tag.text) {
      throws.push(oneLine(ts.displayPartsToString(tag.text)).replace(/\.$/, ""));
    }
  }
  return [parts.length > 0 ? `${parts.join("; ")}.` : "", ...throws.map((t) => `Throws ${t}.`)].filter((t) => t !== "").join(" ");
}

function paramDocs(node: ts.Node): Map<string, string> {
  const docs = new Map<string, string>();
  for (const tag of ts.getJSDocTags(node)) {
    if (ts.isJSDocParameterTag(tag) && ts.isIdentifier(tag.name)) {
      docs.set(tag.name.text, oneLine(ts.getTextOfJSDocComment(tag.comment) ?? "").replace(/^- /, ""));
    }
  }
  return docs;
}

function isPublic(node: ts.Node): boolean {
  const flags = ts.getCombinedModifierFlags(node as ts.Declaration);
  if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
  const name = (node as ts.NamedDeclaration).name;
  return !(name && ts.isPrivateIdentifier(name)) && !(name && ts.isIdentifier(name) && name.text.startsWith("_"));
}

function typeText(node: ts.Node & { type?: ts.TypeNode }, checker: ts.TypeChecker): string {
  if (node.type) return oneLine(node.type.getText());
  const type = checker.getTypeAtLocation(node);
  return checker.typeToString(checker.getBaseTypeOfLiteralType(type));
}

function parameters(params: ts.NodeArray<ts.ParameterDeclaration>, checker: ts.TypeChecker, docs: Map<string, string>): ApiParameter[] {
  return params.map((p) => ({
    name: p.name.getText(),
    type: typeText(p, checker),
    optional: p.questionToken !== undefined || p.initializer !== undefined,
    initializer: p.initializer ? oneLine(p.initializer.getText()) : undefined,
    doc: docs.get(p.name.getText()) ?? "",
  }));
}

function signature(node: ts.SignatureDeclaration, checker: ts.TypeChecker): string {
  const params = node.parameters.map((p) => {
    const type = typeText(p, checker);
    const init = p.initializer ? ` = ${oneLine(p.initializer.getText())}` : "";
    return `${p.name.getText()}${p.questionToken ? "?" : ""}: ${type}${init}`;
  });
  let returns: string;
  if (node.type) returns = oneLine(node.type.getText());
  else {
    const sig = checker.getSignatureFromDeclaration(node);
    returns = sig ? checker.typeToString(checker.getReturnTypeOfSignature(sig)) : "void";
  }
  return `(${params.join(", ")}): ${returns}`;
}

function heritage(node: ts.ClassDeclaration | ts.InterfaceDeclaration, token: ts.SyntaxKind): string[] {
  return (node.heritageClauses ?? []).filter((h) => h.token === token).flatMap((h) => h.types.map((t) => oneLine(t.getText())));
}

function classMembers(node: ts.ClassDeclaration, checker: ts.TypeChecker): ApiMember[] {
  const members: ApiMember[] = [];
  for (const member of node.members) {
    if (!member.name || !isPublic(member)) continue;
    const symbol = checker.getSymbolAtLocation(member.name);
    if (!symbol) continue;
    const isStatic = (ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static) !== 0;
    const base = {
      name: member.name.getText(), doc: docOf(symbol, checker), defaultValue: tagOf(symbol, checker, "default"),
      ...(isStatic ? { static: true } : {}),
    };
    if (ts.isPropertyDeclaration(member)) {
      members.push({
        ...base, kind: "property", type: typeText(member, checker), optional: member.questionToken !== undefined,
        readonly: (ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Readonly) !== 0,
      });
    } else if (ts.isGetAccessorDeclaration(member)) {
      const hasSetter = node.members.some((m) => ts.isSetAccessorDeclaration(m) && m.name.getText() === base.name);
      members.push({ ...base, kind: "property", type: typeText(member, checker), optional: false, readonly: !hasSetter });
    } else if (ts.isMethodDeclaration(member)) {
      const doc = [base.doc, methodTagDocs(symbol, checker)].filter((d) => d !== "").join(" ");
      members.push({ ...base, doc, kind: "method", type: signature(member, checker), optional: false, readonly: false });
    }
  }
  return members;
}

function interfaceMembers(node: ts.InterfaceDeclaration, checker: ts.TypeChecker): ApiMember[] {
  const members: ApiMember[] = [];
  for (const member of node.members) {
    if (!member.name) continue;
    const symbol = checker.getSymbolAtLocation(member.name);
    if (!symbol) continue;
    const base = {
      name: member.name.getText(), doc: docOf(symbol, checker), defaultValue: tagOf(symbol, checker, "default"),
      optional: member.questionToken !== undefined,
    };
    if (ts.isPropertySignature(member)) {
      members.push({
        ...base, kind: "property", type: typeText(member, checker),
        readonly: (ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Readonly) !== 0,
      });
    } else if (ts.isMethodSignature(member)) {
      const doc = [base.doc, methodTagDocs(symbol, checker)].filter((d) => d !== "").join(" ");
      members.push({ ...base, doc, kind: "method", type: signature(member, checker), readonly: false });
    }
  }
  return members;
}

function inheritedMembers(node: ts.InterfaceDeclaration | ts.ClassDeclaration, checker: ts.TypeChecker): Array<{ from: string; names: string[] }> {
  const own = new Set(node.members.map((m) => m.name?.getText()));
  const byOwner = new Map<string, string[]>();
  const isPublic = (d: ts.Declaration) =>
    (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
  for (const prop of checker.getPropertiesOfType(checker.getTypeAtLocation(node))) {
    if (own.has(prop.name) || prop.name.startsWith("_")) continue;
    const declaration = prop.declarations?.[0];
    if (!declaration || !isPublic(declaration) || declaration.getSourceFile().fileName.includes("node_modules")) continue;
    const owner = declaration.parent;
    const ownerName = owner && (ts.isInterfaceDeclaration(owner) || ts.isClassDeclaration(owner)) && owner.name ? owner.name.text : "?";
    byOwner.set(ownerName, [...(byOwner.get(ownerName) ?? []), prop.name]);
  }
  return [...byOwner.entries()].map(([from, names]) => ({ from, names }));
}

/**
 * An undocumented class attribute named like a prop of the constructor's `props` holds the
 * value the construct chose for that prop: say so, with the prop's default.
 */
function describeResolvedProps(members: ApiMember[], ctor: ts.ConstructorDeclaration | undefined, checker: ts.TypeChecker): ApiMember[] {
  const propsParam = ctor?.parameters.find((p) => p.name.getText() === "props");
  if (!propsParam) return members;
  const props = new Map(checker.getPropertiesOfType(checker.getTypeAtLocation(propsParam)).map((p) => [p.name, p]));
  return members.map((member) => {
    const prop = props.get(member.name);
    if (member.kind !== "property" || member.doc !== "" || !prop) return member;
    // Only when the attribute has the prop's type (`stack.network` is a construct, not the option).
    const propType = checker.typeToString(checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(prop, propsParam!)));
    if (propType !== member.type) return member;
    const fallback = tagOf(prop, checker, "default");
    const shown = fallback === undefined ? "" : fallback.startsWith("- ") ? ` (default: ${fallback.slice(2)})` : ` (default \`${fallback}\`)`;
    return { ...member, doc: `The value used for \`props.${member.name}\`${shown}.` };
  });
}

/** Optional props without @default, of every exported props/options interface (inherited ones included). */
function findMissingDefaults(interfaces: ts.InterfaceDeclaration[], checker: ts.TypeChecker): string[] {
  const missing = new Set<string>();
  for (const node of interfaces) {
    if (!/(Props|Options)$/.test(node.name.text)) continue;
    for (const prop of checker.getPropertiesOfType(checker.getTypeAtLocation(node))) {
      const decl = prop.declarations?.[0];
      if (!decl || !ts.isPropertySignature(decl) || decl.questionToken === undefined) continue;
      if (tagOf(prop, checker, "default") !== undefined) continue;
      const owner = ts.isInterfaceDeclaration(decl.parent) ? decl.parent.name.text : node.name.text;
      missing.add(`${owner}.${prop.name}`);
    }
  }
  return [...missing].sort();
}

/** Reads the public API (everything lib/index.ts exports) with the TypeScript compiler. */
export function loadApi(entry: string = ENTRY): ApiModel {
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, strict: true, skipLibCheck: true, noEmit: true, types: [],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`cannot read the exports of ${entry}`);
  const entries: ApiEntry[] = [];
  const interfaces: ts.InterfaceDeclaration[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decl = symbol.declarations?.[0];
    if (!decl) continue;
    const common = {
      name: exported.name, file: rel(decl.getSourceFile().fileName), doc: docOf(symbol, checker),
      heritage: [] as string[], implementsList: [] as string[], parameters: [] as ApiParameter[],
      members: [] as ApiMember[], inherited: [] as Array<{ from: string; names: string[] }>,
    };
    if (ts.isClassDeclaration(decl)) {
      const ctor = decl.members.find(ts.isConstructorDeclaration);
      entries.push({
        ...common, kind: "class",
        heritage: heritage(decl, ts.SyntaxKind.ExtendsKeyword),
        implementsList: heritage(decl, ts.SyntaxKind.ImplementsKeyword),
        parameters: ctor ? parameters(ctor.parameters, checker, paramDocs(ctor)) : [],
        members: describeResolvedProps(classMembers(decl, checker), ctor, checker),
        inherited: inheritedMembers(decl, checker),
      });
    } else if (ts.isInterfaceDeclaration(decl)) {
      interfaces.push(decl);
      entries.push({
        ...common, kind: "interface",
        heritage: heritage(decl, ts.SyntaxKind.ExtendsKeyword),
        members: interfaceMembers(decl, checker),
        inherited: inheritedMembers(decl, checker),
      });
    } else if (ts.isFunctionDeclaration(decl)) {
      entries.push({
        ...common, kind: "function",
        parameters: parameters(decl.parameters, checker, paramDocs(decl)),
        returns: signature(decl, checker).replace(/^\(.*\): /s, ""),
      });
    } else if (ts.isVariableDeclaration(decl)) {
      entries.push({
        ...common, kind: "constant",
        // The initializer shows the value; a type only when declared (or nothing else is known).
        returns: decl.type || !decl.initializer ? typeText(decl, checker) : undefined,
        value: decl.initializer ? decl.initializer.getText().trim() : undefined,
      });
    } else if (ts.isTypeAliasDeclaration(decl)) {
      entries.push({ ...common, kind: "type", returns: oneLine(decl.type.getText()) });
    }
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries, missingDefaults: findMissingDefaults(interfaces, checker) };
}

// ---- Markdown -------------------------------------------------------------------------

const anchor = (name: string) => `#${name.toLowerCase()}`;
/** Escapes a table cell: pipes, and line breaks collapsed. */
const cell = (text: string) => oneLine(text).replace(/\|/g, "\\|");

/** A type as code, linked when it is (an array of) a documented name. */
function typeRef(type: string, names: Set<string>): string {
  const bare = type.replace(/^readonly\s+/, "").replace(/(\[\])+$/, "");
  if (names.has(bare)) return type === bare ? `[\`${bare}\`](${anchor(bare)})` : `[\`${type}\`](${anchor(bare)})`;
  return `\`${cell(type)}\``;
}

/** `@default - text` is prose; any other @default is a literal value. */
function defaultCell(member: ApiMember): string {
  if (!member.optional) return member.defaultValue !== undefined ? `\`${cell(member.defaultValue)}\`` : "*required*";
  if (member.defaultValue === undefined) return "**no @default**";
  if (member.defaultValue.startsWith("- ")) return cell(member.defaultValue.slice(2));
  return `\`${cell(member.defaultValue)}\``;
}

function section(entry: ApiEntry): string {
  if (entry.kind === "class") return "Classes";
  if (entry.kind === "interface") return /(Props|Options)$/.test(entry.name) ? "Props and options" : "Interfaces";
  if (entry.kind === "function") return "Functions";
  if (entry.kind === "constant") return "Constants";
  return "Types";
}

const SECTIONS = ["Classes", "Props and options", "Interfaces", "Functions", "Constants", "Types"];

/** A parameter table when any parameter is documented; else links to documented parameter types. */
function parameterTable(params: ApiParameter[], names: Set<string>): string[] {
  if (params.some((p) => p.doc !== "")) {
    return [
      "| parameter | type | description |", "|---|---|---|",
      ...params.map((p) => `| \`${p.name}\` | ${typeRef(p.type, names)} | ${cell(p.doc)} |`),
      "",
    ];
  }
  const linked = params.filter((p) => names.has(p.type.replace(/^readonly\s+/, "").replace(/(\[\])+$/, "")));
  return linked.length === 0 ? [] : [linked.map((p) => `\`${p.name}\`: ${typeRef(p.type, names)}`).join(" · "), ""];
}

function renderEntry(entry: ApiEntry, names: Set<string>): string[] {
  const out: string[] = [`### ${entry.name}`, ""];
  const facts = [`*${entry.kind}*`];
  if (entry.heritage.length > 0) facts.push(`extends ${entry.heritage.map((h) => typeRef(h, names)).join(", ")}`);
  if (entry.implementsList.length > 0) facts.push(`implements ${entry.implementsList.map((h) => typeRef(h, names)).join(", ")}`);
  facts.push(`defined in [\`${entry.file}\`](${entry.file})`);
  out.push(facts.join(" · "), "");
  if (entry.doc) out.push(entry.doc, "");

  if (entry.kind === "class") {
    const params = entry.parameters.map((p) => `${p.name}${p.optional && !p.initializer ? "?" : ""}: ${p.type}${p.initializer ? ` = ${p.initializer}` : ""}`);
    out.push("```ts", `new ${entry.name}(${params.join(", ")})`, "```", "");
    out.push(...parameterTable(entry.parameters, names));
    const props = entry.members.filter((m) => m.kind === "property");
    if (props.length > 0) {
      out.push("| attribute | type | description |", "|---|---|---|");
      for (const m of props) {
        out.push(`| \`${m.static ? "static " : ""}${m.name}${m.optional ? "?" : ""}\`${m.readonly ? "" : " (mutable)"} | ${typeRef(m.type, names)} | ${cell(m.doc)} |`);
      }
      out.push("");
    }
  }
  if (entry.kind === "interface") {
    const props = entry.members.filter((m) => m.kind === "property");
    // Props and options have defaults; contracts (IMlflow…) and result types only have fields.
    const withDefaults = section(entry) === "Props and options" || props.some((m) => m.defaultValue !== undefined);
    if (props.length > 0 && withDefaults) {
      out.push("| property | type | default | description |", "|---|---|---|---|");
      for (const m of props) {
        out.push(`| \`${m.name}${m.optional ? "?" : ""}\` | ${typeRef(m.type, names)} | ${defaultCell(m)} | ${cell(m.doc)} |`);
      }
      out.push("");
    } else if (props.length > 0) {
      out.push("| property | type | description |", "|---|---|---|");
      for (const m of props) out.push(`| \`${m.name}${m.optional ? "?" : ""}\` | ${typeRef(m.type, names)} | ${cell(m.doc)} |`);
      out.push("");
    }
  }
  for (const inherited of entry.inherited) {
    const from = names.has(inherited.from) ? `[\`${inherited.from}\`](${anchor(inherited.from)})` : `\`${inherited.from}\``;
    out.push(`Inherited from ${from}: ${inherited.names.map((n) => `\`${n}\``).join(", ")}.`, "");
  }
  const methods = entry.members.filter((m) => m.kind === "method");
  if (methods.length > 0) {
    out.push("| method | description |", "|---|---|");
    for (const m of methods) out.push(`| \`${cell(`${m.static ? "static " : ""}${m.name}${m.type}`)}\` | ${cell(m.doc)} |`);
    out.push("");
  }
  if (entry.kind === "function") {
    const params = entry.parameters.map((p) => `${p.name}${p.optional && !p.initializer ? "?" : ""}: ${p.type}${p.initializer ? ` = ${p.initializer}` : ""}`);
    out.push("```ts", `function ${entry.name}(${params.join(", ")}): ${entry.returns}`, "```", "");
    out.push(...parameterTable(entry.parameters, names));
  }
  if (entry.kind === "constant") {
    const type = entry.returns !== undefined ? `: ${entry.returns}` : "";
    out.push("```ts", `const ${entry.name}${type}${entry.value !== undefined ? ` = ${entry.value}` : ""}`, "```", "");
  }
  if (entry.kind === "type") out.push("```ts", `type ${entry.name} = ${entry.returns}`, "```", "");
  return out;
}

/** API.md for a model. */
export function renderApiMarkdown(model: ApiModel): string {
  const names = new Set(model.entries.map((e) => e.name));
  const out: string[] = [
    "# API reference",
    "",
    "<!-- Generated by `npm run docs` (scripts/api-docs.ts) from the TSDoc comments of lib/index.ts",
    "     and what it exports. Do not edit by hand: change the comments and run `npm run docs`. -->",
    "",
    "Everything the package `cdktf-mlflow-gcp` exports. Optional props show their default; a",
    "default in code font is the literal value, one in plain text describes the behaviour.",
    "",
  ];
  const grouped = SECTIONS.map((title) => ({ title, entries: model.entries.filter((e) => section(e) === title) })).filter((g) => g.entries.length > 0);
  for (const group of grouped) {
    out.push(`- **${group.title}**: ${group.entries.map((e) => `[${e.name}](${anchor(e.name)})`).join(", ")}`);
  }
  out.push("");
  for (const group of grouped) {
    out.push(`## ${group.title}`, "");
    for (const entry of group.entries) out.push(...renderEntry(entry, names));
  }
  return `${out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}

/** The API.md text for the current sources. */
export function generateApiDocs(model: ApiModel = loadApi()): string {
  return renderApiMarkdown(model);
}

if (require.main === module) {
  const model = loadApi();
  const text = generateApiDocs(model);
  let status = 0;
  if (model.missingDefaults.length > 0) {
    process.stderr.write(`Optional props without @default:\n${model.missingDefaults.map((m) => `  - ${m}`).join("\n")}\n`);
    status = 1;
  }
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(API_MD) ? fs.readFileSync(API_MD, "utf8") : "";
    if (current !== text) {
      process.stderr.write("API.md is not current; run `npm run docs`\n");
      status = 1;
    }
  } else {
    const changed = !fs.existsSync(API_MD) || fs.readFileSync(API_MD, "utf8") !== text;
    if (changed) fs.writeFileSync(API_MD, text);
    process.stdout.write(`API.md ${changed ? "written" : "already current"} (${model.entries.length} exports)\n`);
  }
  process.exitCode = status;
}
