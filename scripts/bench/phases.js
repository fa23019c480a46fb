// Phase timings of one synth program, for finding where time goes (not part of `npm run bench`):
//   BENCH_MODULES=… BENCH_JSON=… node -r ./scripts/bench/phases.js scripts/bench/synth-default.js
// (the two variables as record-default.js writes them; synth-default.js needs neither).
// Prints to stderr, in ms: loading cdktf; everything after it up to app.synth() (the
// program's other modules and its constructs); TerraformStack.prepareStack (cdktf's preparing
// resolve of every element); the whole app.synth() (prepare, aspects, validations, writing).
"use strict";
const path = require("path");
const { performance } = require("perf_hooks");

const start = performance.now();
const cdktf = require(path.resolve(__dirname, "../../node_modules/cdktf"));
const marks = { cdktf: performance.now(), prepare: 0 };
const synth = cdktf.App.prototype.synth;
cdktf.App.prototype.synth = function () {
  marks.synthStart = performance.now();
  const result = synth.call(this);
  marks.synthEnd = performance.now();
  return result;
};
const prepareStack = cdktf.TerraformStack.prototype.prepareStack;
cdktf.TerraformStack.prototype.prepareStack = function () {
  const s = performance.now();
  prepareStack.call(this);
  marks.prepare += performance.now() - s;
};
process.on("exit", () => {
  const ms = (x) => x.toFixed(1);
  process.stderr.write(`cdktf ${ms(marks.cdktf - start)} before-synth ${ms(marks.synthStart - marks.cdktf)} ` +
    `prepare ${ms(marks.prepare)} synth ${ms(marks.synthEnd - marks.synthStart)}\n`);
});
