// Provider classes that only some configurations use (a server kind, an access mode, an
// option), loaded on first use instead of at import time. Each provider module takes
// milliseconds to load (measured on Node 20:
// dns-record-set 4.0 ms, compute-address 1.1, iap-tunnel-instance-iam-member 1.0,
// data-google-compute-subnetwork 0.8, compute-instance-iam-member 0.7), and the default
// stack needs none of these. Node caches the modules, so calling a loader twice is free.
/* eslint-disable @typescript-eslint/no-require-imports */

export const loadDnsRecordSet = () =>
  require("@cdktf/provider-google/lib/dns-record-set") as typeof import("@cdktf/provider-google/lib/dns-record-set");

export const loadComputeAddress = () =>
  require("@cdktf/provider-google/lib/compute-address") as typeof import("@cdktf/provider-google/lib/compute-address");

export const loadIapTunnelInstanceIamMember = () =>
  require("@cdktf/provider-google/lib/iap-tunnel-instance-iam-member") as typeof import("@cdktf/provider-google/lib/iap-tunnel-instance-iam-member");

export const loadComputeInstanceIamMember = () =>
  require("@cdktf/provider-google/lib/compute-instance-iam-member") as typeof import("@cdktf/provider-google/lib/compute-instance-iam-member");

export const loadDataGoogleComputeSubnetwork = () =>
  require("@cdktf/provider-google/lib/data-google-compute-subnetwork") as typeof import("@cdktf/provider-google/lib/data-google-compute-subnetwork");

export const loadServiceAccountIamMember = () =>
  require("@cdktf/provider-google/lib/service-account-iam-member") as typeof import("@cdktf/provider-google/lib/service-account-iam-member");

export const loadDnsManagedZone = () =>
  require("@cdktf/provider-google/lib/dns-managed-zone") as typeof import("@cdktf/provider-google/lib/dns-managed-zone");

export const loadComputeDisk = () =>
  require("@cdktf/provider-google/lib/compute-disk") as typeof import("@cdktf/provider-google/lib/compute-disk");

// The Cloud Run kind: google-beta resources (an optional peer dependency; loaded only for this kind).

/** The optional peer dependency the Cloud Run kind needs, as package.json pins it. */
export const BETA_PROVIDER_PACKAGE = "@cdktf/provider-google-beta@16.12.1";

/**
 * Whether this app has the google-beta bindings installed. Without them the Cloud Run kind
 * fails validation with an install command instead of a bare "Cannot find module".
 */
export function betaProviderInstalled(): boolean {
  try {
    loadBetaProvider();
    return true;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "MODULE_NOT_FOUND" && err.message.includes("@cdktf/provider-google-beta")) return false;
    throw e;
  }
}

export const loadBetaProvider = () =>
  require("@cdktf/provider-google-beta/lib/provider") as typeof import("@cdktf/provider-google-beta/lib/provider");

export const loadBetaCloudRunService = () =>
  require("@cdktf/provider-google-beta/lib/google-cloud-run-v2-service") as typeof import("@cdktf/provider-google-beta/lib/google-cloud-run-v2-service");

export const loadBetaCloudRunJob = () =>
  require("@cdktf/provider-google-beta/lib/google-cloud-run-v2-job") as typeof import("@cdktf/provider-google-beta/lib/google-cloud-run-v2-job");

export const loadBetaProjectServiceIdentity = () =>
  require("@cdktf/provider-google-beta/lib/google-project-service-identity") as typeof import("@cdktf/provider-google-beta/lib/google-project-service-identity");

export const loadIapWebCloudRunServiceIamMember = () =>
  require("@cdktf/provider-google/lib/iap-web-cloud-run-service-iam-member") as typeof import("@cdktf/provider-google/lib/iap-web-cloud-run-service-iam-member");

export const loadIapSettings = () =>
  require("@cdktf/provider-google/lib/iap-settings") as typeof import("@cdktf/provider-google/lib/iap-settings");

export const loadArtifactRegistryRepository = () =>
  require("@cdktf/provider-google/lib/artifact-registry-repository") as typeof import("@cdktf/provider-google/lib/artifact-registry-repository");

export const loadDataGoogleProject = () =>
  require("@cdktf/provider-google/lib/data-google-project") as typeof import("@cdktf/provider-google/lib/data-google-project");

export const loadCloudRunV2ServiceIamMember = () =>
  require("@cdktf/provider-google/lib/cloud-run-v2-service-iam-member") as typeof import("@cdktf/provider-google/lib/cloud-run-v2-service-iam-member");

// The Cloud Run kind's gc: a GA job run by Cloud Scheduler.
export const loadCloudRunV2Job = () =>
  require("@cdktf/provider-google/lib/cloud-run-v2-job") as typeof import("@cdktf/provider-google/lib/cloud-run-v2-job");

export const loadCloudRunV2JobIamMember = () =>
  require("@cdktf/provider-google/lib/cloud-run-v2-job-iam-member") as typeof import("@cdktf/provider-google/lib/cloud-run-v2-job-iam-member");

export const loadCloudSchedulerJob = () =>
  require("@cdktf/provider-google/lib/cloud-scheduler-job") as typeof import("@cdktf/provider-google/lib/cloud-scheduler-job");

// Monitoring (MlflowOperations): uptime checks exist only where the checkers can reach the server.
export const loadMonitoringUptimeCheckConfig = () =>
  require("@cdktf/provider-google/lib/monitoring-uptime-check-config") as typeof import("@cdktf/provider-google/lib/monitoring-uptime-check-config");
