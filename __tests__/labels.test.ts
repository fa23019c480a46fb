// `labels` reach every resource that takes labels. Which resources take them, and where
// (top level `labels`, Cloud SQL's `settings.user_labels`, a disk's
// `boot_disk.initialize_params.labels`, …), is read from the provider bindings themselves:
// each resource's `<Resource>Config` interface in `@cdktf/provider-*/lib/<resource>/index.d.ts`,
// followed into its nested block interfaces. So a resource type added later, or a binding
// that gains labels, is covered without editing a list here.
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import { MlflowTrackingStackProps } from "../lib";
import { TfJson, synthStack } from "./helpers";

const LABELS = { team: "ml", env: "test" };
const LABEL_PROPERTIES = new Set(["labels", "userLabels", "resourceLabels"]);
/**
 * Attributes named like labels that are not: a notification channel's `labels` configure the
 * channel (`email_address` for type "email"; google_monitoring_notification_channel docs),
 * its resource labels are `user_labels`.
 */
const NOT_LABELS = new Set(["google_monitoring_notification_channel labels"]);

const PROVIDER_PACKAGES: Record<string, string> = {
  google: "@cdktf/provider-google",
  random: "@cdktf/provider-random",
  time: "@cdktf/provider-time",
};

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const pascal = (name: string) => name.replace(/(^|[-_])([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());

/**
 * `google_sql_database_instance` → the binding's index.d.ts and its Config interface name.
 * A resource of the google-beta provider (`"provider": "google-beta"` in its JSON) lives in
 * @cdktf/provider-google-beta under `google-<type>`.
 */
function bindingOf(type: string, providerName?: string): { file: string; config: string } {
  const [provider, ...rest] = type.split("_");
  const beta = providerName === "google-beta";
  const pkg = beta ? "@cdktf/provider-google-beta" : PROVIDER_PACKAGES[provider];
  if (!pkg) throw new Error(`no provider package known for ${type}`);
  const dir = beta ? type.replace(/_/g, "-") : rest.join("-");
  const file = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "lib", dir, "index.d.ts");
  return { file, config: `${pascal(dir)}Config` };
}

/** The interfaces of a .d.ts: name → [property name, type text] at the interface's top level. */
function interfacesOf(file: string): Map<string, Array<[string, string]>> {
  const text = fs.readFileSync(file, "utf8");
  const result = new Map<string, Array<[string, string]>>();
  for (const m of text.matchAll(/^export interface (\w+)[^{\n]*\{\n([\s\S]*?)^\}/gm)) {
    const props: Array<[string, string]> = [];
    for (const p of m[2].matchAll(/^ {4}readonly (\w+)\??: ([^\n]*)/gm)) props.push([p[1], p[2]]);
    result.set(m[1], props);
  }
  return result;
}

const labelPathCache = new Map<string, string[][]>();

/** Every path (in Terraform JSON names) to a labels attribute in a resource type's config. */
function labelPaths(type: string, providerName?: string): string[][] {
  const cacheKey = `${providerName ?? ""}/${type}`;
  const cached = labelPathCache.get(cacheKey);
  if (cached) return cached;
  const { file, config } = bindingOf(type, providerName);
  const interfaces = interfacesOf(file);
  if (!interfaces.has(config)) throw new Error(`${config} not found in ${file}`);
  const paths: string[][] = [];
  const walk = (name: string, prefix: string[], seen: Set<string>) => {
    for (const [prop, typeText] of interfaces.get(name) ?? []) {
      if (LABEL_PROPERTIES.has(prop)) {
        if (!NOT_LABELS.has(`${type} ${[...prefix, snake(prop)].join(".")}`)) paths.push([...prefix, snake(prop)]);
        continue;
      }
      for (const ref of typeText.match(/\b[A-Z]\w+\b/g) ?? []) {
        if (interfaces.has(ref) && !seen.has(ref)) walk(ref, [...prefix, snake(prop)], new Set([...seen, ref]));
      }
    }
  };
  walk(config, [], new Set([config]));
  labelPathCache.set(cacheKey, paths);
  return paths;
}

/** The values at a path; blocks may be objects or lists of objects; a missing block yields none. */
function valuesAt(value: unknown, pathParts: string[]): unknown[] {
  if (pathParts.length === 0) return [value];
  if (Array.isArray(value)) return value.flatMap((v) => valuesAt(v, pathParts));
  if (value === null || typeof value !== "object") return [];
  const [head, ...rest] = pathParts;
  if (!(head in value)) return rest.length === 0 ? [undefined] : [];
  return valuesAt((value as Record<string, unknown>)[head], rest);
}

/**
 * Labels the library does not set yet, and who adds them: the VM's boot disk
 * (`constructs/tracking-server.ts` is being restructured separately). A known gap is
 * asserted to be still missing, so the entry is removed when the labels arrive.
 */
const KNOWN_GAPS: Record<string, string[]> = {};

const SCENARIOS: Array<[string, Partial<MlflowTrackingStackProps>]> = [
  ["private", { access: { iapMembers: ["group:ml@example.com"] } }],
  ["public with a domain and a DNS zone", {
    access: { mode: "public", domain: "mlflow.example.com", dnsZone: "example-com", allowedSourceRanges: ["203.0.113.0/24"] },
  }],
  ["public plain HTTP", { access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } }],
  ["existing network and subnetwork", { network: { existingNetwork: "default", existingSubnetwork: "default" } }],
  ["basic auth off, alert emails", { auth: { basicAuth: false }, operations: { alertEmails: ["ml-oncall@example.com"] } }],
  ["public with a domain, privateDns and adminMembers", {
    access: { mode: "public", domain: "mlflow.example.com", allowedSourceRanges: ["203.0.113.0/24"], privateDns: true, adminMembers: ["user:ops@example.com"] },
  }],
  ["cloud run, iap", { server: { kind: "cloud-run" }, access: { iapMembers: ["group:ml@example.com"] } }],
  ["cloud run, internal", { server: { kind: "cloud-run" }, access: { mode: "internal", invokerMembers: ["serviceAccount:t@acme-ml-prod.iam.gserviceaccount.com"] } }],
];

describe("labels reach every resource that takes labels (per the provider bindings)", () => {
  const labelled = new Set<string>();

  test.each(SCENARIOS)("%s", (_name, props) => {
    const { json } = synthStack({ ...props, labels: LABELS }) as { json: TfJson };
    const missing: string[] = [];
    const gapsSeen: string[] = [];
    for (const [type, byName] of Object.entries(json.resource)) {
      for (const [name, config] of Object.entries(byName)) {
        for (const labelPath of labelPaths(type, (config as { provider?: string }).provider)) {
          const key = `${type} ${labelPath.join(".")}`;
          for (const value of valuesAt(config, labelPath)) {
            if (KNOWN_GAPS[key]) {
              gapsSeen.push(key);
              expect({ key, value }).toEqual({ key, value: undefined });
              continue;
            }
            labelled.add(key);
            if (!isDeepStrictEqual(value, LABELS)) missing.push(`${type}.${name} ${labelPath.join(".")}: ${JSON.stringify(value)}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  test("the walk found the labels the bindings offer (bucket, secrets, SQL user_labels, addresses, VM, disks, Cloud Run)", () => {
    expect([...labelled].sort()).toEqual([
      "google_artifact_registry_repository labels",
      "google_cloud_run_v2_job labels",
      "google_cloud_run_v2_job template.labels",
      "google_cloud_run_v2_service labels",
      "google_cloud_run_v2_service template.labels",
      "google_compute_address labels",
      "google_compute_disk labels",
      "google_compute_global_address labels",
      "google_compute_instance boot_disk.initialize_params.labels",
      "google_compute_instance labels",
      "google_dns_managed_zone labels",
      "google_monitoring_alert_policy user_labels",
      "google_monitoring_notification_channel user_labels",
      "google_secret_manager_secret labels",
      "google_sql_database_instance settings.user_labels",
      "google_storage_bucket labels",
    ]);
  });

  test("resources whose bindings have no labels are not required to have them", () => {
    for (const type of ["google_compute_network", "google_compute_subnetwork", "google_compute_firewall", "google_sql_user", "random_password"]) {
      expect({ type, paths: labelPaths(type) }).toEqual({ type, paths: [] });
    }
    expect(labelPaths("google_sql_database_instance")).toEqual([["settings", "user_labels"]]);
    expect(labelPaths("google_compute_instance")).toEqual(expect.arrayContaining([["labels"], ["boot_disk", "initialize_params", "labels"]]));
  });
});
