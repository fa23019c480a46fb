// Public entry point of cdktf-mlflow-gcp.
export {
  MlflowTrackingStack, MlflowTrackingStackProps, MlflowServerOptions, requiredApis, API_SETTLE_DURATION,
} from "./mlflow-tracking-stack";
export {
  MlflowNetwork, MlflowNetworkProps, MlflowNetworkOptions, IMlflowNetwork, IMlflowPrivateServicesNetwork, DEFAULT_SUBNET_CIDR,
} from "../constructs/network";
export { MlflowDatabase, MlflowDatabaseProps, MlflowDatabaseOptions, IMlflowBackendDatabase } from "../constructs/database";
export {
  MlflowArtifactStore, MlflowArtifactStoreProps, MlflowArtifactStoreOptions, IMlflowArtifactStore,
} from "../constructs/artifact-store";
export {
  MlflowTrackingServer, MlflowTrackingServerProps, MlflowVmServerOptions, IAP_TCP_FORWARDING_RANGE, TUNNEL_LOCAL_PORT,
  HYPERDISK_ONLY_SERIES, diskTypeFor,
} from "../constructs/tracking-server";
export {
  MlflowCloudRunServer, MlflowCloudRunServerProps, MlflowCloudRunServerOptions, CADDY_IMAGE, CLOUD_RUN_CPU_MEMORY,
  DEFAULT_MAX_INSTANCES, renderCloudRunCaddyfile,
} from "../constructs/cloud-run-server";
export {
  MlflowServerBase, MlflowServerBaseProps, IMlflowServer, MlflowServerKind, MlflowAccessMode, MlflowAccessOptions,
  MlflowAuthOptions, MlflowOperationsOptions, BACKUP_PERMISSIONS, MlflowHealthTarget, MlflowUptimeCheckTarget, MlflowGcTarget, MlflowProxyTarget, MlflowVmUnitTarget,
} from "../constructs/server-base";
export { MlflowGeneratedSecret, MlflowGeneratedSecretProps, IMlflowSecret } from "../constructs/generated-secret";
export {
  MlflowOperations, MlflowOperationsProps, DATABASE_CONNECTIONS_ALERT_RATIO, SERVER_ERRORS_ALERT_THRESHOLD,
} from "../constructs/operations";
export { MlflowValidationError, ValidationProblem } from "./validation";
export {
  MlflowChecks, MLFLOW_RULES, MlflowRule, MlflowRuleLevel, MlflowCompliance, MlflowRuleResult, MlflowSynthesizedResource,
  MlflowStackFacts, MlflowServerFacts, MlflowIamBinding,
} from "./checks";
export {
  renderStartupScript, renderMlflowUnit, renderBasicAuthIni, renderCaddyfile, serverArguments, unitEnvironment, StartupScriptOptions,
  renderGcUnit, renderGcTimer, gcUnitEnvironment, renderOpsAgentConfig, OPS_AGENT_VERSION, LOGGED_UNITS,
} from "./startup-script";
export { DEFAULT_GC_SCHEDULE, DEFAULT_GC_OLDER_THAN } from "./operations";
export { toOnCalendar, cronProblem } from "./schedule";
export {
  DEFAULT_MLFLOW_VERSION, PINNED_PYTHON_PACKAGES, DEFAULT_DEPENDENCY_CUTOFF, UV_VERSION, DATABASE_DRIVER, MlflowPermission,
  ServerEndpoint, pythonRequirements, allowedHosts, corsOrigins, serverEnvironment,
} from "./server-runtime";
export {
  planConnections, defaultMaxConnections, enginesPerServerProcess, ConnectionDemand, ConnectionPlan,
  SUPERUSER_RESERVED_CONNECTIONS, ADMIN_HEADROOM_CONNECTIONS, MAX_CONNECTIONS_PER_ENGINE, SERVER_COMMAND_CONNECTIONS,
} from "./connection-budget";
