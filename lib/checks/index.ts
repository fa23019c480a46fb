// The MlflowChecks policy pack: the aspect, its rules and the rule contract.
export { MlflowChecks } from "./mlflow-checks";
export { MLFLOW_RULES } from "./rules";
export {
  MlflowRule, MlflowRuleLevel, MlflowCompliance, MlflowRuleResult, MlflowSynthesizedResource, MlflowStackFacts,
  MlflowServerFacts, MlflowIamBinding,
} from "./rule";
