// The contract of an MlflowChecks rule, in the style of cdk-nag: a pure function from one
// synthesized resource (its type and its configuration exactly as cdk.tf.json will hold it)
// to compliant / non-compliant / not applicable. Rules never see constructs or tokens, so
// each can be tested with a few lines of JSON, and escape hatches (`addOverride`) are seen
// like any other setting.

/** `error` fails synth; `warning` is reported through cdktf Annotations and synth goes on. */
export type MlflowRuleLevel = "error" | "warning";

/** Outcome of one rule on one resource. */
export type MlflowCompliance = "compliant" | "non-compliant" | "not-applicable";

export interface MlflowRuleResult {
  readonly compliance: MlflowCompliance;
  /** What exactly was found (non-compliant), or why the value could not be checked. */
  readonly detail?: string;
  /**
   * True when the rule applies but the deciding value is a Terraform reference known only
   * at apply time; reported as an info annotation, never as a finding.
   */
  readonly notCheckable?: boolean;
}

/** One resource of the synthesized stack. */
export interface MlflowSynthesizedResource {
  /** Terraform resource type, e.g. `google_sql_database_instance`. */
  readonly type: string;
  /** Logical id in the stack, e.g. `Database_B269D8BB`. */
  readonly name: string;
  /**
   * The configuration as cdk.tf.json holds it: snake_case keys, references as `${…}`
   * strings, overrides applied, without the `//` metadata block.
   */
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * What the startup script of a VM shows about the `mlflow server` it runs. Some rules need
 * it to judge another resource (a firewall rule is only "MLflow open to the world" or
 * "passwords in clear" with the server's port and flags in view).
 */
export interface MlflowServerFacts {
  /** Terraform address of the VM (or instance template), e.g. `google_compute_instance.Server_7E7D21FA`. */
  readonly address: string;
  /** `--port`, or MLflow's default 5000; undefined when the script sets it from a variable. */
  readonly port?: number;
  /** `--host` is a loopback address (MLflow's default `127.0.0.1`): only a local proxy can reach it. */
  readonly loopbackOnly: boolean;
  /** `--app-name basic-auth`: clients send a user name and password with every request. */
  readonly basicAuth: boolean;
  /** MLflow itself terminates TLS (uvicorn/gunicorn certificate options). */
  readonly tls: boolean;
  /** Network tags firewall rules can target. */
  readonly networkTags: readonly string[];
  /** Email of the VM's service account, as written (often a reference). */
  readonly serviceAccountEmail?: string;
}

/** One role granted to members, as a policy document lists it. */
export interface MlflowIamBinding {
  readonly role: string;
  readonly members: readonly string[];
}

/** Facts about the whole stack that a rule may use next to the resource it judges. */
export interface MlflowStackFacts {
  /** Every VM or instance template in the stack whose startup script runs `mlflow server`. */
  readonly servers: readonly MlflowServerFacts[];
  /**
   * The bindings of each `data.google_iam_policy` of the stack, by its name: what an
   * `*_iam_policy` resource grants when its policy_data refers to one.
   * @default - none
   */
  readonly iamPolicies?: Readonly<Record<string, readonly MlflowIamBinding[]>>;
  /**
   * The day the checks run, as YYYY-MM-DD (UTC): rules about dates (a database version in
   * paid extended support) compare with it, and stay pure functions of their input.
   * @default - the rules that need it report nothing
   */
  readonly today?: string;
}

/** One policy rule. */
export interface MlflowRule {
  /** Stable id used in messages and suppressions, e.g. `MLF-SQL-PUBLIC-IP`. */
  readonly id: string;
  readonly level: MlflowRuleLevel;
  /** What the rule requires, in one line. */
  readonly title: string;
  /** Why it matters. */
  readonly why: string;
  /** What to change in this library's props (or in a hand-built stack). */
  readonly howToFix: string;
  /** Resource types the rule judges; it is not applicable to every other type. */
  readonly resourceTypes: readonly string[];
  /** Pure: the same resource and facts always give the same result. */
  check(resource: MlflowSynthesizedResource, facts: MlflowStackFacts): MlflowRuleResult;
}

export const compliant = (): MlflowRuleResult => ({ compliance: "compliant" });
export const nonCompliant = (detail: string): MlflowRuleResult => ({ compliance: "non-compliant", detail });
export const notApplicable = (detail?: string): MlflowRuleResult =>
  (detail === undefined ? { compliance: "not-applicable" } : { compliance: "not-applicable", detail });
/** The rule applies, but `what` is a reference resolved only at apply time. */
export const notCheckable = (what: string): MlflowRuleResult => ({
  compliance: "not-applicable",
  detail: `not checkable at synth: ${what} is a Terraform reference`,
  notCheckable: true,
});

/** Resource types that run a startup script and carry metadata and a service account. */
export const VM_TYPES = [
  "google_compute_instance",
  "google_compute_instance_template",
  "google_compute_region_instance_template",
] as const;
