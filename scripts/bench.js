#!/usr/bin/env node
// `npm run bench`: what the library adds to a user's `cdktf synth`. Three programs, compiled
// JS in fresh Node processes, run alternating A B C A B C …, after one warm-up each:
//   default  the default MlflowTrackingStack (from dist/, as a user's app loads it);
//   floor    the same provider modules loaded and the same JSON synthesized without the
//            library (synth-floor.js; the module list and the JSON come from a run of the
//            default stack in this same run);
//   typed    the floor plus the same resources constructed as their typed provider classes
//            (synth-typed-floor.js): cdktf's own per-resource work, without the library's
//            code; default minus typed is what the library's own code costs;
//   bare     a stack with only the Google provider, for reference.
// Prints medians (and min–max) of wall time and peak memory (the child's own maxRSS) and the
// ratios of the medians. Usage: node scripts/bench.js [runs] (default 7).
"use strict";
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "..");
const runs = Math.max(5, Number(process.argv[2] ?? 7));
const targets = { ratioToFloor: 1.25, peakMiB: 120 };

execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });

const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-"));
const env = { ...process.env, BENCH_MODULES: path.join(work, "modules.json"), BENCH_JSON: path.join(work, "stack.json") };

/** The stack JSON a program wrote, without cdktf's "//" metadata, for comparing floors. */
function writtenJson(outdir) {
  const json = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "mlflow", "cdk.tf.json"), "utf8"));
  delete json["//"];
  for (const block of ["resource", "data"]) {
    for (const byName of Object.values(json[block] ?? {})) for (const config of Object.values(byName)) delete config["//"];
  }
  return json;
}

function once(script, inspect) {
  const outdir = fs.mkdtempSync(path.join(work, "out-"));
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [path.join(__dirname, "bench", script)], {
    cwd: root, encoding: "utf8", env: { ...env, CDKTF_OUTDIR: outdir },
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (child.status !== 0) throw new Error(`${script} failed: ${child.stderr}`);
  inspect?.(outdir);
  fs.rmSync(outdir, { recursive: true, force: true });
  return { wallMs, peakMiB: script === "record-default.js" ? 0 : JSON.parse(child.stdout).maxRssKiB / 1024 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs, digits) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

once("record-default.js");
const programs = { default: "synth-default.js", floor: "synth-floor.js", typed: "synth-typed-floor.js", bare: "synth-bare.js" };
const results = Object.fromEntries(Object.keys(programs).map((k) => [k, []]));
// Warm-up; the floors must write exactly the default stack's JSON, or they measure something else.
const canonical = (value) => JSON.stringify(value, (_key, v) =>
  v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v);
const expected = canonical(JSON.parse(fs.readFileSync(env.BENCH_JSON, "utf8")));
for (const [name, script] of Object.entries(programs)) {
  once(script, name === "floor" || name === "typed" ? (outdir) => {
    if (canonical(writtenJson(outdir)) !== expected) throw new Error(`${script} did not synthesize the default stack's JSON`);
  } : undefined);
}
for (let i = 0; i < runs; i++) {
  for (const [name, script] of Object.entries(programs)) results[name].push(once(script));
}
fs.rmSync(work, { recursive: true, force: true });

const wall = (name) => median(results[name].map((r) => r.wallMs));
const peak = (name) => median(results[name].map((r) => r.peakMiB));
console.log(`node ${process.version}, ${os.cpus().length} cores, ${runs} runs each, alternating, medians (min–max)`);
for (const name of Object.keys(programs)) {
  console.log(`${name.padEnd(8)} wall ${fmt(results[name].map((r) => r.wallMs), 0)} ms, peak ${fmt(results[name].map((r) => r.peakMiB), 1)} MiB`);
}
console.log(`default/floor: wall ${(wall("default") / wall("floor")).toFixed(2)} (target <= ${targets.ratioToFloor}), peak ${(peak("default") / peak("floor")).toFixed(2)}`);
console.log(`default/typed: wall ${(wall("default") / wall("typed")).toFixed(2)} (the library's own code: ${(wall("default") - wall("typed")).toFixed(0)} ms)`);
console.log(`default/bare:  wall ${(wall("default") / wall("bare")).toFixed(2)}, peak ${(peak("default") / peak("bare")).toFixed(2)}; default peak ${peak("default").toFixed(1)} MiB (target < ${targets.peakMiB})`);
