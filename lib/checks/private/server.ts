// What a VM's startup script shows about MLflow: whether it runs `mlflow server` and with
// which flags, and which MLflow packages it installs with which version specifiers. Read
// from the text as Terraform will hand it to the VM (the script of this library embeds the
// systemd unit with the full `mlflow server` command line; a hand-written script usually
// calls `mlflow server` directly).
import { MlflowServerFacts, MlflowSynthesizedResource, VM_TYPES } from "../rule";
import { JsonObject, block, stringList, stringMap } from "./json";

/** The startup scripts of a VM or template: `metadata_startup_script` and `metadata.startup-script`. */
export function startupScripts(config: JsonObject): string[] {
  const scripts: string[] = [];
  if (typeof config.metadata_startup_script === "string") scripts.push(config.metadata_startup_script);
  const metadata = stringMap(config.metadata);
  if (metadata?.["startup-script"] !== undefined) scripts.push(metadata["startup-script"]);
  return scripts;
}

/** MLflow's default `--port`. */
export const MLFLOW_DEFAULT_PORT = 5000;

/** The value of a command-line option (`--port 5000`, `--port=5000`, `-p 5000`), quotes removed. */
function option(line: string, names: string[]): string | undefined {
  for (const name of names) {
    const m = new RegExp(`(?:^|\\s)${name}(?:\\s+|=)['"]?([^\\s'"]+)`).exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Facts already read, per resource object of one check run: the pack reads them for every
 * resource and MLF-MLFLOW-VERSION-PINNED again for each VM, and a VM's script is long.
 */
const FACTS = new WeakMap<MlflowSynthesizedResource, MlflowServerFacts | undefined>();

/** Facts about the `mlflow server` a VM runs; undefined when its scripts start no MLflow server. */
export function serverFacts(resource: MlflowSynthesizedResource): MlflowServerFacts | undefined {
  if (!(VM_TYPES as readonly string[]).includes(resource.type)) return undefined;
  if (FACTS.has(resource)) return FACTS.get(resource);
  const facts = readServerFacts(resource);
  FACTS.set(resource, facts);
  return facts;
}

function readServerFacts(resource: MlflowSynthesizedResource): MlflowServerFacts | undefined {
  const config = resource.config as JsonObject;
  for (const script of startupScripts(config)) {
    // The command itself, not a comment or a message that mentions it.
    // (A cheap substring test first: the scripts run to hundreds of lines.)
    const line = script.split("\n")
      .filter((l) => l.includes("server") && l.includes("mlflow") && !/^\s*(#|echo\b|log\b|printf\b)/.test(l))
      .map((l) => /(?:^|[\s/])mlflow\s+server\b.*/.exec(l)?.[0])
      .find((l): l is string => l !== undefined);
    if (line === undefined) continue;
    const portText = option(line, ["--port", "-p"]);
    const host = option(line, ["--host", "-h"]) ?? "127.0.0.1";
    const email = block(config.service_account)?.email;
    return {
      address: `${resource.type}.${resource.name}`,
      port: portText === undefined ? MLFLOW_DEFAULT_PORT : /^\d+$/.test(portText) ? Number(portText) : undefined,
      loopbackOnly: /^(127\.|localhost$|::1$|\[::1\]$)/.test(host),
      basicAuth: option(line, ["--app-name"]) === "basic-auth",
      // uvicorn (--uvicorn-opts "--ssl-certfile …") or gunicorn (--gunicorn-opts "--certfile …").
      tls: /--ssl-certfile|--certfile/.test(line),
      networkTags: stringList(config.tags),
      serviceAccountEmail: typeof email === "string" ? email : undefined,
    };
  }
  return undefined;
}

/** One MLflow requirement found in a script, e.g. `mlflow[auth]==3.18.0`. */
export interface MlflowRequirement {
  readonly text: string;
  /**
   * Everything after the name and extras: `==3.18.0`, `>=2`, "" for none, or `@ <url>` for a
   * direct reference (a VCS URL or an archive, PEP 440 "direct references").
   */
  readonly specifier: string;
}

/**
 * A URL that installs MLflow itself: the mlflow/mlflow repository (git+https://github.com/
 * mlflow/mlflow…, its archives), `#egg=mlflow`, or a file named mlflow-<version>.
 */
const MLFLOW_URL = /^(?:-e)?(?:(?:git|hg|svn|bzr)\+)?(?:https?|ssh|git|file):\/\/\S*(?:github\.com[/:]mlflow\/mlflow\b|[#&]egg=mlflow(?:-skinny)?\b|\/mlflow(?:[-_]skinny)?-\d)/i;

/** Lines that install Python packages: pip, pip3, python -m pip, uv pip, uv add, pipx, poetry add. */
const INSTALL_LINE = /\b(pip3?|pipx)\s+install\b|\buv\s+(pip\s+install|add)\b|\bpoetry\s+add\b/;
/**
 * The package names, mlflow-skinny in any spelling pip takes for it: names compare with runs
 * of "-", "_" and "." as one "-", case-insensitively (PEP 503, "Normalized Names"). The
 * optional part is tried first: "mlflow-skinny<4" is mlflow-skinny, not mlflow with "-skinny<4".
 */
const MLFLOW_NAME = String.raw`mlflow(?:[-_.]+skinny)?`;
const MLFLOW_PACKAGE = new RegExp(String.raw`^(${MLFLOW_NAME})(\[[^\]]*\])?(.*)$`, "i");
const VERSION_OPERATOR = /^(===|==|~=|!=|>=|<=|>|<|@)/;
/** What a line needs besides an install verb to hold a requirement (see mlflowRequirements). */
const REQUIREMENT_HINT = new RegExp(String.raw`://|@|${MLFLOW_NAME}[[=~!<>]`, "i");

/**
 * Every MLflow requirement a script installs. A word with a version operator or extras
 * (`mlflow>=2`, `mlflow[auth]`) counts wherever it is (a requirements list, a heredoc); a bare
 * `mlflow` counts only on an install line, since the word also names the user, the service
 * and the command.
 */
export function mlflowRequirements(script: string): MlflowRequirement[] {
  const found: MlflowRequirement[] = [];
  for (const line of script.split("\n")) {
    // Every requirement (a package name or a URL) spells "mlflow"; most lines do not. Of
    // those that do (the library's own script: ~200 of ~1,200), only lines that could hold a
    // requirement go on to the word-by-word reading below, which would find nothing in the
    // rest: a URL needs "://", PEP 508 `mlflow @ <url>` an "@", a specifier or extras follow
    // the name directly (words split at blanks), and a bare name counts on an install line.
    if (!/mlflow/i.test(line) || !(REQUIREMENT_HINT.test(line) || INSTALL_LINE.test(line))) continue;
    // On an install line, a bare `mlflow` counts only after the install verb: before it,
    // it is a user (`sudo -u mlflow pip install …`), not a package.
    const verb = INSTALL_LINE.exec(line);
    const packagesFrom = verb ? verb.index + verb[0].length : line.length;
    let offset = 0;
    const words: Array<{ word: string; start: number }> = [];
    for (const raw of line.split(/([\s'"()`;]+)/)) {
      const start = offset;
      offset += raw.length;
      if (/^[\s'"()`;]*$/.test(raw)) continue;
      // A trailing comma ends an item of a Python or TOML list; commas inside [extras] stay.
      words.push({ word: raw.replace(/,+$/, ""), start });
    }
    for (let i = 0; i < words.length; i++) {
      const { word, start } = words[i];
      if (MLFLOW_URL.test(word)) {
        found.push({ text: word, specifier: `@ ${word.replace(/^-e/, "")}` });
        continue;
      }
      const m = MLFLOW_PACKAGE.exec(word);
      if (!m) continue;
      // PEP 508 "mlflow @ <url>": one requirement, judged by its URL.
      if (m[3] === "" && words[i + 1]?.word === "@" && words[i + 2] !== undefined) {
        found.push({ text: `${word} @ ${words[i + 2].word}`, specifier: `@ ${words[i + 2].word}` });
        i += 2;
        continue;
      }
      const specifier = m[3];
      if (specifier !== "" && !VERSION_OPERATOR.test(specifier)) continue; // mlflow-server, mlflow.service …
      if (specifier === "" && m[2] === undefined && start < packagesFrom) continue;
      found.push({ text: word, specifier });
    }
  }
  return found;
}

/**
 * Whether a specifier pins one exact release: `==X.Y.Z` (a pre- or post-release suffix is
 * fine). `==` followed by a shell variable or a Terraform reference is exact too, but its
 * value is unknown at synth; it counts as pinned. A direct reference is pinned only when it
 * cannot move: a VCS URL at a full 40-hex commit, or a release file (mlflow-X.Y.Z…whl or
 * .tar.gz, immutable on PyPI) or an archive with a #sha256= hash; a branch, a tag or an
 * archive of a branch is not.
 */
export function isExactPin(specifier: string): boolean {
  if (specifier.startsWith("@")) {
    const url = specifier.slice(1).trim();
    if (/^(?:git|hg|svn|bzr)\+/.test(url)) return /@[0-9a-f]{40}(?:[#&]|$)/i.test(url);
    return /[#&]sha256=[0-9a-f]{64}/i.test(url) || /\/mlflow(?:[-_]skinny)?-\d+\.\d+\.\d+[^/]*\.(?:whl|tar\.gz)(?:[#?]|$)/i.test(url);
  }
  const m = /^={2,3}\s*(.+)$/.exec(specifier);
  if (!m) return false;
  const version = m[1];
  if (/^\$/.test(version)) return true;
  return /^\d+\.\d+\.\d+([a-z0-9.+!-]*)$/i.test(version) && !version.includes("*");
}
