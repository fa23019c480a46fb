// The rules of `mlflowVersion` and the `server`, `access` and `auth` options, run by
// MlflowTrackingStack and by MlflowTrackingServer on its own (constructs/tracking-server.ts
// delegates here).
import type { MlflowServerValidationInput, MlflowVmServerOptions } from "../../constructs/tracking-server";
import type { MlflowCloudRunServerOptions } from "../../constructs/cloud-run-server";
import type { MlflowAccessOptions, MlflowAuthOptions, MlflowOperationsOptions } from "../../constructs/server-base";
import { validateRuntimeOptions } from "../../constructs/server-base";
import {
  DNS_ZONE, DOMAIN, MACHINE_TYPE, SOURCE_RANGE_EXPECTED, Validator, checkMembers, intRange, isToken, oneOf,
} from "../validation";
import { ShapeFields, boolean, listOf, number, object, openObject, string } from "./shape";
import { Cidr } from "./ip";
import { blockOrReason, clientRangeProblem, worldCoverageProblem } from "./network-values";
import { RESERVED_PORTS, bootImageProblem } from "./vm-values";
import { DECIDES_RESOURCES } from "./validate-network";

/** Every option of either server kind: the `server` prop is told apart by `kind`. */
type AnyServerOptions = Omit<MlflowVmServerOptions, "kind"> & Omit<MlflowCloudRunServerOptions, "kind"> & { readonly kind?: string };

export const SERVER_OPTIONS_FIELDS: ShapeFields<AnyServerOptions> = {
  kind: string(DECIDES_RESOURCES),
  machineType: string(),
  bootImage: string(),
  bootDiskSizeGb: number(),
  port: number(),
  workers: number(),
  enableJobExecution: boolean(),
  image: string(),
  minInstances: number(),
  maxInstances: number(),
  cpu: string(),
  memory: string(),
  deletionProtection: boolean(),
};
export const ACCESS_OPTIONS_FIELDS: ShapeFields<MlflowAccessOptions> = {
  mode: string(DECIDES_RESOURCES),
  iapMembers: listOf(string(), "one IAP grant is created per member, so the list must be known at synth"),
  allowedSourceRanges: listOf(string()),
  internalSourceRanges: listOf(string()),
  domain: string("it is written into the Caddyfile and the startup script at synth"),
  dnsZone: string(),
  privateDns: boolean(DECIDES_RESOURCES),
  allowPlaintextHttp: boolean(DECIDES_RESOURCES),
  adminMembers: listOf(string(), "one grant is created per member, so the list must be known at synth"),
  invokerMembers: listOf(string(), "one grant is created per member, so the list must be known at synth"),
  programmaticClientIds: listOf(string()),
};
export const AUTH_OPTIONS_FIELDS: ShapeFields<MlflowAuthOptions> = {
  basicAuth: boolean(DECIDES_RESOURCES),
  defaultPermission: string(),
  allowUnauthenticatedAccess: boolean(DECIDES_RESOURCES),
};
export const OPERATIONS_OPTIONS_FIELDS: ShapeFields<MlflowOperationsOptions> = {
  backupBeforeUpgrade: boolean(DECIDES_RESOURCES),
  gcSchedule: string("the VM's gc timer is written at synth"),
  gcOlderThan: string(),
  uptimeCheck: boolean(DECIDES_RESOURCES),
  alertEmails: listOf(string(), "one notification channel is created per address, so the list must be known at synth"),
};
/** The `server`, `access`, `auth` and `operations` props of MlflowTrackingStack. */
export const SERVER_OPTIONS = object("the server options", SERVER_OPTIONS_FIELDS);
export const ACCESS_OPTIONS = object("the access options", ACCESS_OPTIONS_FIELDS);
export const AUTH_OPTIONS = object("the auth options", AUTH_OPTIONS_FIELDS);
export const OPERATIONS_OPTIONS = object("the operations options", OPERATIONS_OPTIONS_FIELDS);
const PORT = intRange(1024, 65535);

/** Why a port is not one `mlflow server` may listen on, or undefined. */
export function portProblem(port: number): string | undefined {
  const reserved = RESERVED_PORTS[port];
  if (!PORT.test(port)) return `${PORT.expected} (an unprivileged port${reserved ? `; ${reserved}` : ""})`;
  if (reserved) return `${PORT.expected} other than ${port}: ${reserved}, and the port is kept free in every mode`;
  return undefined;
}

/** Checks `mlflowVersion`, `dependencyCutoff` and the VM kind's `server`, `access` and `auth`; adds every problem to `v`. */
export function checkServerOptions(v: Validator, rawProps: MlflowServerValidationInput): void {
  // The server options are flat in MlflowTrackingServer's props, next to mlflowVersion,
  // access and auth (and, there, the construct's other props): each group under its own path.
  const props = v.typed("server", rawProps, openObject(SERVER_OPTIONS)) ?? {};
  const mlflowVersion = v.typed("mlflowVersion", rawProps?.mlflowVersion, string());
  const dependencyCutoff = v.typed("dependencyCutoff", rawProps?.dependencyCutoff, string());
  const access: MlflowAccessOptions = v.typed("access", rawProps?.access, ACCESS_OPTIONS) ?? {};
  const auth: MlflowAuthOptions = v.typed("auth", rawProps?.auth, AUTH_OPTIONS) ?? {};
  const mode = access.mode ?? "private";
  const machineType = typeof props.machineType === "string" && !isToken(props.machineType) ? props.machineType : undefined;
  validateRuntimeOptions(v, { mlflowVersion, dependencyCutoff, auth });
  v.check("server.kind", props.kind, oneOf(["vm"]).test, oneOf(["vm"]).expected);
  v.check("server.machineType", props.machineType, MACHINE_TYPE.test, MACHINE_TYPE.expected);
  v.checkProblem("server.bootImage", props.bootImage, (image: string) => bootImageProblem(image, machineType));
  v.check("server.bootDiskSizeGb", props.bootDiskSizeGb, intRange(10, 65536).test, intRange(10, 65536).expected);
  v.checkProblem("server.port", props.port, portProblem);
  v.check("server.workers", props.workers, intRange(1, 32).test, intRange(1, 32).expected);
  v.check("access.mode", access.mode, oneOf(["private", "public"]).test,
    `${oneOf(["private", "public"]).expected} with the VM kind ("iap" and "internal" are modes of server.kind "cloud-run")`);
  checkMembers(v, "access.iapMembers", access.iapMembers);
  checkMembers(v, "access.adminMembers", access.adminMembers);
  checkAllowedSourceRanges(v, access.allowedSourceRanges);
  // A list that is one token (a variable) goes to the firewall as is; its items are unknown here.
  if (!isToken(access.internalSourceRanges)) {
    (access.internalSourceRanges ?? []).forEach((r, i) => v.checkProblem(`access.internalSourceRanges[${i}]`, r, clientRangeProblem));
  }
  if (Array.isArray(access.internalSourceRanges) && access.internalSourceRanges.length === 0) {
    v.fail("access.internalSourceRanges", access.internalSourceRanges, "at least one range, or no value (the server's own subnetwork)");
  }
  if (mode === "public") {
    if ((access.allowedSourceRanges ?? []).length === 0) {
      v.fail("access.allowedSourceRanges", access.allowedSourceRanges, 'at least one CIDR range in public mode (who may reach the server, e.g. ["203.0.113.0/24"])');
    }
    if (access.domain !== undefined) {
      v.check("access.domain", access.domain, DOMAIN.test, DOMAIN.expected);
      if (access.allowPlaintextHttp !== undefined) {
        v.fail("access.allowPlaintextHttp", access.allowPlaintextHttp, "no value with access.domain (the server then speaks HTTPS only)");
      }
    } else if (access.allowPlaintextHttp !== true) {
      v.fail("access.allowPlaintextHttp", access.allowPlaintextHttp, "true in public mode without a domain, to acknowledge that passwords and data then cross the network unencrypted");
    }
    if (auth.basicAuth === false && auth.allowUnauthenticatedAccess !== true) {
      v.fail("auth.allowUnauthenticatedAccess", auth.allowUnauthenticatedAccess,
        "true in public mode with auth.basicAuth false, to acknowledge that every MLflow API, deleting experiments and models included, " +
        "is then served without a login to anyone in access.allowedSourceRanges (or keep basic auth on, or use private mode)");
    }
  } else {
    if (access.allowedSourceRanges !== undefined) {
      v.fail("access.allowedSourceRanges", access.allowedSourceRanges, 'no value in private mode (nothing is reachable from the internet); use mode: "public"');
    }
    if (access.domain !== undefined) v.fail("access.domain", access.domain, 'no value in private mode (a domain needs mode: "public")');
    if (access.allowPlaintextHttp !== undefined) v.fail("access.allowPlaintextHttp", access.allowPlaintextHttp, "no value in private mode (the IAP tunnel is encrypted)");
  }
  if (auth.allowUnauthenticatedAccess !== undefined && !(mode === "public" && auth.basicAuth === false)) {
    v.fail("auth.allowUnauthenticatedAccess", auth.allowUnauthenticatedAccess,
      "no value unless access.mode is \"public\" and auth.basicAuth is false (the acknowledgement is for that combination only)");
  }
  if (access.dnsZone !== undefined) {
    v.check("access.dnsZone", access.dnsZone, DNS_ZONE.test, DNS_ZONE.expected);
    if (access.domain === undefined || mode !== "public") {
      v.fail("access.dnsZone", access.dnsZone, "no value without access.domain in public mode (the zone holds the domain's A record)");
    }
  }
  if (access.privateDns !== undefined && access.privateDns !== false && (access.domain === undefined || mode !== "public")) {
    v.fail("access.privateDns", access.privateDns, "no value without access.domain in public mode (the private zone resolves the domain inside the VPC)");
  }
  if (mode === "public" && access.iapMembers !== undefined && access.iapMembers.length > 0) {
    v.fail("access.iapMembers", access.iapMembers, "no value in public mode (IAP tunnels to the MLflow port exist in private mode only)");
  }
}

/**
 * Each range a valid CIDR block, and together not the whole internet: public mode promises
 * "reachable only from the ranges you list", so a list equivalent to everyone (0.0.0.0/1 +
 * 128.0.0.0/1, ::/0, 2000::/3 …) is refused with or without a domain.
 */
function checkAllowedSourceRanges(v: Validator, ranges: readonly string[] | undefined): void {
  if (ranges === undefined || isToken(ranges)) return;
  const blocks: Cidr[] = [];
  ranges.forEach((r, i) => {
    if (isToken(r)) return;
    const block = blockOrReason(r);
    if (typeof block === "string") v.fail(`access.allowedSourceRanges[${i}]`, r, `${SOURCE_RANGE_EXPECTED}; ${block}`);
    else blocks.push(block);
  });
  const world = worldCoverageProblem(blocks);
  if (world !== undefined) {
    v.fail("access.allowedSourceRanges", ranges,
      `the ranges of your clients (offices, VPN egress, CI runners), not the whole internet: ${world}; ` +
      "public mode serves the server only to the ranges you list, and this library never opens it to everyone");
  }
}
