// MLF-FW-MLFLOW-WORLD: the MLflow server answers on its port with the tracking API, the UI
// and artifact downloads; public mode opens it to listed ranges, never to everyone.
import { MlflowRule } from "./rule";
import { allowsTcpPort, checkWorldIngress, ingressRule, mlflowPortsReached } from "./private/network";

export const fwMlflowWorld: MlflowRule = {
  id: "MLF-FW-MLFLOW-WORLD",
  level: "error",
  title: "No firewall rule opens the MLflow port to the whole internet",
  why: "The MLflow port serves the tracking API, the UI and every artifact (through --serve-artifacts); open to the whole internet (0.0.0.0/0, ::/0, or ranges that cover it together) it is one leaked or default password (or, without basic auth, nothing at all) away from the whole model history.",
  howToFix: 'Use access.mode "private" (IAP tunnel), or public mode with access.allowedSourceRanges listing only your offices, VPN egress or CI runners.',
  resourceTypes: ["google_compute_firewall"],
  check(resource, facts) {
    // The ports of the MLflow servers this rule reaches (MLflow's default port when the
    // stack shows no MLflow server).
    const parsed = ingressRule(resource.config);
    const ports = typeof parsed === "object" ? mlflowPortsReached(parsed, facts) : [];
    const openPort = typeof parsed === "object" ? ports.find((p) => allowsTcpPort(parsed, p) === true) : undefined;
    return checkWorldIngress(
      resource.config,
      (rule) => openPort !== undefined || (ports.some((p) => allowsTcpPort(rule, p) === "reference") ? "reference" : false),
      `tcp/${openPort} (the MLflow port)`,
    );
  },
};
