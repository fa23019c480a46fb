// A second, fuller floor: synth-floor.js plus constructing every resource as its typed
// provider class (the same classes, configuration and logical ids the default stack has),
// so cdktf's own per-resource work (construction, the preparing resolve of every element in
// TerraformStack.prepareStack, the final resolve) is in it too. What remains between this and
// the default stack is the library's own code: its modules, its constructs' logic, validation
// and the policy pack. Informational: the target is against synth-floor.js.
"use strict";
const fs = require("fs");
const { App, TerraformStack } = require("cdktf");

for (const file of JSON.parse(fs.readFileSync(process.env.BENCH_MODULES, "utf8"))) require(file);
const json = JSON.parse(fs.readFileSync(process.env.BENCH_JSON, "utf8"));
const { GoogleProvider } = require("@cdktf/provider-google/lib/provider");
const { RandomProvider } = require("@cdktf/provider-random/lib/provider");
const { TimeProvider } = require("@cdktf/provider-time/lib/provider");

/** Attributes whose keys are data (maps), not schema: their keys stay as written. */
const MAPS = new Set(["labels", "user_labels", "resource_labels", "metadata", "triggers", "keepers", "annotations", "user_labels"]);
/** Terraform meta-arguments: not part of a resource class's configuration, set as overrides. */
const META = new Set(["depends_on", "lifecycle", "provider", "count", "for_each"]);
const camel = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
function toConfig(value) {
  if (Array.isArray(value)) return value.map(toConfig);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), MAPS.has(k) ? v : toConfig(v)]));
}
function resourceClass(type) {
  const [provider, ...rest] = type.split("_");
  const mod = require(`@cdktf/provider-${provider}/lib/${rest.join("-")}`);
  return Object.values(mod).find((c) => typeof c === "function" && c.tfResourceType === type);
}

const app = new App();
const stack = new TerraformStack(app, "mlflow");
new GoogleProvider(stack, "google", toConfig(json.provider.google[0]));
new RandomProvider(stack, "random");
new TimeProvider(stack, "time");
for (const [type, byName] of Object.entries(json.resource)) {
  const Class = resourceClass(type);
  for (const [name, config] of Object.entries(byName)) {
    const plain = Object.fromEntries(Object.entries(config).filter(([k]) => !META.has(k)));
    const resource = new Class(stack, name, toConfig(plain));
    resource.overrideLogicalId(name);
    for (const key of META) if (config[key] !== undefined) resource.addOverride(key, config[key]);
  }
}
if (json.output) stack.addOverride("output", json.output);
app.synth();
process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));
