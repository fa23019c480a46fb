// Public entry point of cdktf-mlflow-gcp.
export { MlflowTrackingStack, MlflowTrackingStackProps, requiredApis } from "./mlflow-tracking-stack";
export {
  MlflowNetwork, MlflowNetworkProps, MlflowNetworkOptions, IMlflowNetwork, DEFAULT_SUBNET_CIDR,
} from "../constructs/network";
export { MlflowDatabase, MlflowDatabaseProps, MlflowDatabaseOptions, IMlflowBackendDatabase } from "../constructs/database";
export {
  MlflowArtifactStore, MlflowArtifactStoreProps, MlflowArtifactStoreOptions, IMlflowArtifactStore,
} from "../constructs/artifact-store";
export {
  MlflowTrackingServer, MlflowTrackingServerProps, MlflowServerOptions, MlflowAccessOptions, MlflowAuthOptions,
  IAP_TCP_FORWARDING_RANGE,
} from "../constructs/tracking-server";
export { MlflowGeneratedSecret, MlflowGeneratedSecretProps, IMlflowSecret } from "../constructs/generated-secret";
export { MlflowValidationError, ValidationProblem } from "./validation";
export {
  MlflowChecks, MLFLOW_RULES, MlflowRule, MlflowRuleLevel, MlflowCompliance, MlflowRuleResult, MlflowSynthesizedResource,
  MlflowStackFacts, MlflowServerFacts, MlflowIamBinding,
} from "./checks";
export {
  renderStartupScript, renderMlflowUnit, renderBasicAuthIni, renderCaddyfile, pipRequirements, allowedHosts, serverArguments,
  StartupScriptOptions, MlflowPermission, DEFAULT_MLFLOW_VERSION, PINNED_PYTHON_PACKAGES,
} from "./startup-script";
