// MLF-RUN-INGRESS: a Cloud Run service reachable from the internet has Identity-Aware Proxy in
// front of it; otherwise it takes traffic from the VPC only.
import { MlflowRule, compliant, nonCompliant, notCheckable } from "./rule";
import { bool, isReference } from "./private/json";

export const runIngress: MlflowRule = {
  id: "MLF-RUN-INGRESS",
  level: "error",
  title: "A Cloud Run service open to all ingress has IAP in front of it",
  why: 'With ingress "all" and no IAP, the run.app URL takes requests from anywhere on the internet, and only the invoker IAM check (or the application itself) stands between the MLflow server and the world.',
  howToFix: 'Use access.mode "iap" (iap_enabled = true) or "internal" (ingress = INGRESS_TRAFFIC_INTERNAL_ONLY); for a load balancer in front, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER.',
  resourceTypes: ["google_cloud_run_v2_service"],
  check(resource) {
    const ingress = resource.config.ingress ?? "INGRESS_TRAFFIC_ALL"; // the API's default
    if (isReference(ingress)) return notCheckable("ingress");
    if (ingress !== "INGRESS_TRAFFIC_ALL") return compliant();
    const iap = bool(resource.config.iap_enabled);
    if (iap === "reference") return notCheckable("iap_enabled");
    return iap === true ? compliant() : nonCompliant(`ingress is ${resource.config.ingress === undefined ? "not set (all traffic)" : "INGRESS_TRAFFIC_ALL"} and iap_enabled is not true`);
  },
};
