#!/usr/bin/env node
// `npm run bench`: synthesis of the default stack vs a bare stack with only the Google
// provider, both as compiled JS in fresh Node processes, alternating A B A B …, after one
// warm-up each. Prints medians (and min–max) of wall time and peak memory (the child's own
// maxRSS), and the ratio of the medians. Usage: node scripts/bench.js [runs] (default 7).
"use strict";
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "..");
const runs = Math.max(5, Number(process.argv[2] ?? 7));
const targets = { ratio: 1.3, peakMiB: 100 };

if (!fs.existsSync(path.join(root, "dist/lib/index.js"))) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });

function once(script) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-synth-"));
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [path.join(__dirname, "bench", script)], {
    cwd: root, encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: outdir },
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  fs.rmSync(outdir, { recursive: true, force: true });
  if (child.status !== 0) throw new Error(`${script} failed: ${child.stderr}`);
  return { wallMs, peakMiB: JSON.parse(child.stdout).maxRssKiB / 1024 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs, digits) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

once("synth-default.js");
once("synth-bare.js");
const a = [];
const b = [];
for (let i = 0; i < runs; i++) {
  a.push(once("synth-default.js"));
  b.push(once("synth-bare.js"));
}

const wallRatio = median(a.map((r) => r.wallMs)) / median(b.map((r) => r.wallMs));
const peak = median(a.map((r) => r.peakMiB));
console.log(`node ${process.version}, ${os.cpus().length} cores, ${runs} runs each, alternating, medians (min–max)`);
console.log(`default stack: wall ${fmt(a.map((r) => r.wallMs), 0)} ms, peak ${fmt(a.map((r) => r.peakMiB), 1)} MiB`);
console.log(`bare provider: wall ${fmt(b.map((r) => r.wallMs), 0)} ms, peak ${fmt(b.map((r) => r.peakMiB), 1)} MiB`);
console.log(`ratio default/bare: wall ${wallRatio.toFixed(2)} (target <= ${targets.ratio}), peak ${(peak / median(b.map((r) => r.peakMiB))).toFixed(2)}; default peak ${peak.toFixed(1)} MiB (target < ${targets.peakMiB})`);
