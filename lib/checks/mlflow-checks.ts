// MlflowChecks: the policy pack, applied as a cdktf Aspect in the style of cdk-nag.
//
// When the checks run. cdktf 0.21 synthesizes a stack in this order
// (node_modules/cdktf/lib/synthesize/synthesizer.ts, StackSynthesizer.synthesize):
//   1. invokeAspects(stack): every aspect visits the tree top-down, parents before children,
//      the aspects of a scope in the order they were added;
//   2. stack.runAllValidations() (terraform-stack.ts) unless the App has skipValidation:
//      collects node.validate() of every construct and throws one Error listing all of them;
//   3. error annotations fail synth, unless CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS is set
//      (the cdktf CLI sets it when it runs the app, and reports annotations itself);
//   4. stack.toTerraform() writes cdk.tf.json.
// app.synth() and Testing.fullSynth(stack) run this StackSynthesizer (app.ts, testing/
// index.ts); Testing.synth(stack, runValidations) runs step 1, step 2 only when
// runValidations is true, never step 3, then toTerraform().
//
// So the aspect only marks which resources are in scope, and the rules run in a validation
// of the stack (step 2), on the stack's own stack.toTerraform() output. There every aspect
// has already run, so each resource is judged exactly as cdk.tf.json will hold it
// (including changes other aspects, addOverride or stack.addOverride made; a resource that
// exists only through stack.addOverride("resource.<type>.<name>", …) is judged too when the
// aspect covers the stack, reported by its address), and an error
// fails app.synth() (also under `cdktf synth`), Testing.fullSynth and
// Testing.synth(stack, true) alike, with one message listing every finding. Error
// annotations alone would not do: under the CLI they do not stop the app (step 3), and
// Testing.synth never looks at them. Warnings and suppressed findings are cdktf Annotations,
// added before step 3 collects them into manifest.json. Testing.synth(stack) without
// runValidations skips validations, and with them this pack.
import { IConstruct } from "constructs";
import { Annotations, IAspect, TerraformResource, TerraformStack } from "cdktf";
import { Validator, oneOf } from "../validation";
import { MlflowRule, MlflowServerFacts, MlflowStackFacts, MlflowSynthesizedResource } from "./rule";
import { MLFLOW_RULES } from "./rules";
import { JsonObject, block, isObject } from "./private/json";
import { serverFacts } from "./private/server";
import { iamPolicyFacts } from "./private/iam";

/** Node metadata type under which suppressions are kept on the construct they were made on. */
const SUPPRESSION_METADATA = "cdktf-mlflow-gcp/checks-suppression";
/** Per-stack state, shared by every MlflowChecks instance (one validation per stack). */
const STATE = Symbol.for("cdktf-mlflow-gcp/MlflowChecks");
/** Shortest reason accepted for a suppression. */
const MIN_REASON_LENGTH = 10;

interface Suppression {
  readonly ruleId: string;
  readonly reason: string;
}

interface StackState {
  /** Resources some MlflowChecks aspect visited. */
  readonly resources: Set<TerraformResource>;
  /**
   * Whether an aspect visited the stack itself: then resources in its JSON that no construct
   * stands for (added with stack.addOverride("resource.<type>.<name>", …)) are in scope too.
   */
  stackInScope: boolean;
}

/**
 * Applies the MlflowChecks rules (MLFLOW_RULES) to every Terraform resource below the scope
 * it is added to, as the stack's final JSON holds it; added to a whole stack, it also judges
 * resources that exist only through `stack.addOverride("resource.<type>.<name>", …)`.
 * `MlflowTrackingStack` adds it to itself; for a stack built from the sub-constructs, add it
 * yourself:
 *
 * ```ts
 * Aspects.of(stack).add(new MlflowChecks());
 * ```
 *
 * Findings of `error` rules fail synth with one message that lists each one (rule id,
 * resource address, construct path and whose resource it is, what was found, why it
 * matters, how to fix it);
 * findings of `warning` rules become cdktf warning annotations. The checks run among the
 * stack's validations, so an App with `skipValidation: true` skips them too.
 */
export class MlflowChecks implements IAspect {
  /**
   * Accepts the findings of one rule on `construct` and every resource below it, for a
   * written reason. The reason is recorded in the `//` block of each resource whose finding
   * it silences (in cdk.tf.json), and each silenced finding is reported as an info
   * annotation.
   *
   * @param construct a resource, a sub-construct (e.g. `stack.database`) or a whole stack
   *   (the scope of resources added with stack.addOverride)
   * @param ruleId a rule id from MLFLOW_RULES, e.g. `MLF-GCS-VERSIONING`
   * @param reason why the finding is acceptable here: at least 10 characters
   * @throws MlflowValidationError for an unknown rule id or a missing or too short reason
   */
  public static suppress(construct: IConstruct, ruleId: string, reason: string): void {
    const v = new Validator();
    const ids = oneOf(MLFLOW_RULES.map((r) => r.id));
    const expected = `a reason of at least ${MIN_REASON_LENGTH} characters saying why the finding is acceptable here`;
    // required() reports a missing value, check() a wrong one; never both for one value.
    if (ruleId) v.check("ruleId", ruleId, ids.test, ids.expected);
    else v.required("ruleId", ruleId, ids.expected);
    if (reason) v.check("reason", reason, (r: string) => typeof r === "string" && r.trim().length >= MIN_REASON_LENGTH, expected);
    else v.required("reason", reason, expected);
    v.throwIfInvalid(`MlflowChecks.suppress(${construct.node.path || "<app>"})`);
    construct.node.addMetadata(SUPPRESSION_METADATA, { ruleId, reason: reason.trim() } satisfies Suppression);
  }

  public visit(node: IConstruct): void {
    if (TerraformStack.isStack(node)) stateOf(node).stackInScope = true;
    if (!TerraformResource.isTerraformResource(node)) return;
    stateOf(TerraformStack.of(node)).resources.add(node);
  }
}

function stateOf(stack: TerraformStack): StackState {
  const holder = stack as unknown as { [STATE]?: StackState };
  const existing = holder[STATE];
  if (existing) return existing;
  const state: StackState = { resources: new Set(), stackInScope: false };
  Object.defineProperty(stack, STATE, { value: state, enumerable: false });
  stack.node.addValidation({ validate: () => runChecks(stack, state) });
  return state;
}

/**
 * Every resource as cdk.tf.json will hold it, from the stack's own Terraform JSON: escape
 * hatches on a resource (addOverride) and on the stack (stack.addOverride, including whole
 * resources added that way) are applied, and references are resolved exactly as in the file.
 */
function synthesizedResources(stackJson: JsonObject): MlflowSynthesizedResource[] {
  const out: MlflowSynthesizedResource[] = [];
  for (const [type, byName] of Object.entries(block(stackJson.resource) ?? {})) {
    if (!isObject(byName)) continue;
    for (const [name, config] of Object.entries(byName)) {
      if (!isObject(config)) continue;
      const withoutMetadata = { ...config };
      delete withoutMetadata["//"];
      out.push({ type, name, config: withoutMetadata });
    }
  }
  return out;
}

/** Where a finding sits, for messages, annotations and suppressions. */
interface Subject {
  readonly resource: MlflowSynthesizedResource;
  /** The construct behind it; undefined for a resource added with stack.addOverride. */
  readonly construct?: TerraformResource;
  readonly address: string;
}

/** The constructs a suppression can be on: the resource's scopes, or the stack (and above) for one without a construct. */
function scopesOf(subject: Subject, stack: TerraformStack): IConstruct[] {
  return subject.construct ? [...subject.construct.node.scopes].reverse() : [...stack.node.scopes].reverse();
}

/** The suppression of `ruleId` nearest to the resource (on it or on an enclosing construct). */
function suppressionOf(scopes: readonly IConstruct[], ruleId: string): { suppression: Suppression; scope: string } | undefined {
  for (const scope of scopes) {
    for (const entry of scope.node.metadata) {
      if (entry.type === SUPPRESSION_METADATA && (entry.data as Suppression).ruleId === ruleId) {
        return { suppression: entry.data as Suppression, scope: scope.node.path || "<app>" };
      }
    }
  }
  return undefined;
}

/** Adds an annotation once (validations may run more than once, e.g. two Testing.synth calls). */
function annotate(construct: IConstruct, level: "warning" | "info", message: string): void {
  const type = level === "warning" ? "@cdktf/warn" : "@cdktf/info";
  if (construct.node.metadata.some((m) => m.type === type && m.data === message)) return;
  if (level === "warning") Annotations.of(construct).addWarning(message);
  else Annotations.of(construct).addInfo(message);
}

/** Construct ids of this library's constructs, to tell its resources from the user's own. */
const LIBRARY_CONSTRUCTS = ["MlflowNetwork", "MlflowDatabase", "MlflowArtifactStore", "MlflowTrackingServer", "MlflowGeneratedSecret", "MlflowCloudRunServer"];

/**
 * Whose resource it is, for the finding: one of this library's constructs, one the user added
 * to the stack, or one added with stack.addOverride (no construct). A rule firing on the
 * user's own firewall rule or bucket must not read as if it were about the tracking server.
 */
function owner(subject: Subject): string {
  if (!subject.construct) return "added with stack.addOverride, no construct";
  const path = subject.construct.node.path;
  const parent = [...subject.construct.node.scopes].reverse().map(libraryClassOf).find((name) => name !== undefined);
  return parent ? `${path}, created by ${parent}` : `${path}, a resource you added to the stack`;
}

/** The library construct class a construct is (or extends), if any. */
function libraryClassOf(construct: IConstruct): string | undefined {
  for (let proto = Object.getPrototypeOf(construct); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (LIBRARY_CONSTRUCTS.includes(name)) return name;
  }
  return undefined;
}

function describe(rule: MlflowRule, subject: Subject, detail: string | undefined): string {
  return `${rule.id} (${rule.level}) on ${subject.address} [${owner(subject)}]: ${rule.title}${detail ? ` — found: ${detail}` : ""}` +
    `\n      why: ${rule.why}\n      how to fix: ${rule.howToFix}`;
}

/** Today as YYYY-MM-DD (UTC), for rules about dates. */
const today = () => new Date().toISOString().slice(0, 10);

/**
 * The Terraform JSON the checks read, kept for the toTerraform() call of the same synth.
 * cdktf's synthesizer runs the validations and then, with nothing in between that changes the
 * stack (custom synthesis and the annotation check; cdktf/lib/synthesize/synthesizer.js), calls
 * stack.toTerraform(): resolving the whole stack a second time is work already done. Kept only
 * when the checks changed nothing (no audit block was added), taken once, and dropped at the
 * end of the synchronous synth, so a later toTerraform() always resolves afresh.
 */
const CHECKED_JSON = new WeakMap<TerraformStack, JsonObject>();

/** The JSON the checks of this synth read, if it is still current; a second call gets nothing. */
export function takeCheckedTerraform(stack: TerraformStack): JsonObject | undefined {
  const json = CHECKED_JSON.get(stack);
  CHECKED_JSON.delete(stack);
  return json;
}

/**
 * The validation: runs every rule on every resource of the stack's final JSON that is in
 * scope (visited by an MlflowChecks aspect, or added with stack.addOverride to a stack the
 * aspect covers); returns the error findings as one message. One stack.toTerraform() per run.
 */
function runChecks(stack: TerraformStack, state: StackState): string[] {
  CHECKED_JSON.delete(stack);
  const stackJson = stack.toTerraform() as JsonObject;
  let changed = false;
  const resources = synthesizedResources(stackJson);
  // Construct order (stable messages); resources of a nested stack belong to that stack.
  const constructs = stack.node.findAll()
    .filter((c): c is TerraformResource => TerraformResource.isTerraformResource(c) && TerraformStack.of(c) === stack);
  const byAddress = new Map(resources.map((r) => [`${r.type}.${r.name}`, r]));
  const subjects: Subject[] = [];
  const claimed = new Set<string>();
  for (const construct of constructs) {
    const address = `${construct.terraformResourceType}.${construct.friendlyUniqueId}`;
    const resource = byAddress.get(address);
    if (!resource) continue; // moved away (moveTo): no resource block of its own
    claimed.add(address);
    if (state.resources.has(construct)) subjects.push({ resource, construct, address });
  }
  if (state.stackInScope) {
    for (const [address, resource] of byAddress) if (!claimed.has(address)) subjects.push({ resource, address });
  }
  // Facts come from every resource of the stack, also outside the checked scope: a firewall
  // rule in scope is judged against every MLflow server it can reach.
  const facts: MlflowStackFacts = {
    servers: resources.map(serverFacts).filter((f): f is MlflowServerFacts => f !== undefined),
    iamPolicies: iamPolicyFacts(block(stackJson.data)),
    today: today(),
  };

  const errors: string[] = [];
  for (const subject of subjects) {
    const { resource: res, address } = subject;
    const annotated: IConstruct = subject.construct ?? stack;
    const suppressed: Array<{ rule_id: string; reason: string; suppressed_on: string }> = [];
    for (const rule of MLFLOW_RULES) {
      if (!rule.resourceTypes.includes(res.type)) continue;
      const result = rule.check(res, facts);
      if (result.notCheckable) {
        annotate(annotated, "info", `${rule.id} on ${address}: ${result.detail}`);
        continue;
      }
      if (result.compliance !== "non-compliant") continue;
      const found = suppressionOf(scopesOf(subject, stack), rule.id);
      if (found) {
        suppressed.push({ rule_id: rule.id, reason: found.suppression.reason, suppressed_on: found.scope });
        annotate(annotated, "info", `${rule.id} on ${address} is suppressed (on ${found.scope}): ${found.suppression.reason}`);
      } else if (rule.level === "error") {
        errors.push(describe(rule, subject, result.detail));
      } else {
        annotate(annotated, "warning", describe(rule, subject, result.detail).replace(/\n\s+/g, " | "));
      }
    }
    // The audit trail in cdk.tf.json: which finding was accepted, why, and where. Only
    // resources with a suppressed finding get it, so other resources' JSON is unchanged.
    if (suppressed.length > 0) {
      if (subject.construct) subject.construct.addOverride("//.mlflow_checks", { suppressed });
      else stack.addOverride(`resource.${res.type}.${res.name}.//.mlflow_checks`, { suppressed });
      changed = true;
    }
  }
  if (errors.length === 0) {
    if (!changed) {
      CHECKED_JSON.set(stack, stackJson);
      queueMicrotask(() => CHECKED_JSON.delete(stack));
    }
    return [];
  }
  return [
    `MlflowChecks found ${errors.length} error${errors.length === 1 ? "" : "s"}. Fix each, or accept one with ` +
      "MlflowChecks.suppress(construct, ruleId, reason):\n    - " + errors.join("\n    - "),
  ];
}
