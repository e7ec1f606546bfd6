// How fast the UI's pages render with a lot stored: 1,000 pipelines with 10,000 runs, and a run
// with 100,000 metric samples. Seeds a fresh `fastlane serve` through its API, then loads each
// page in headless Chromium several times and reports the median time from navigation to the
// page showing its data. Run by bench/ui.sh; results in bench/RESULTS.md.
import { api, browser, page, scratch, serve } from "./harness.mjs";

const PIPELINES = Number(process.env.PIPELINES ?? 1000);
const RUNS_PER_PIPELINE = Number(process.env.RUNS_PER_PIPELINE ?? 10);
const SAMPLES = Number(process.env.SAMPLES ?? 100_000);
const LOADS = Number(process.env.LOADS ?? 5);

async function send(url, method, path, body) {
  const response = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Run `task(i)` for i in 0..n, `width` at a time. */
async function pool(n, width, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const dir = scratch("fastlane-ui-perf-");
const service = await serve(dir);
const statuses = ["completed", "completed", "completed", "failed", "exited"];
const base = Date.now() - 30 * 86_400_000;
const seeded = Date.now();
await pool(PIPELINES, 8, async (i) => {
  const id = `perf-${String(i).padStart(4, "0")}-mysql-s3`;
  await send(service.url, "PUT", `/pipelines/${id}`, {
    source_type: "mysql",
    target_type: "s3",
    target_id: `bucket/table_${i}`,
    config: { source: { mysql: { table: `t${i}` } } },
  });
  for (let r = 0; r < RUNS_PER_PIPELINE; r++) {
    const started = base + (r * 86_400_000) / 4 + i * 1000;
    const runId = `perf-${i}-${r}`;
    await send(service.url, "POST", `/pipelines/${id}/runs`, {
      id: runId,
      started_at: new Date(started).toISOString(),
      transform_name: "mask",
      transform_version: "0.1.0",
    });
    await send(service.url, "PATCH", `/runs/${runId}`, {
      status: statuses[(i + r) % statuses.length],
      finished_at: new Date(started + 5000 + ((i * 7 + r * 13) % 60) * 1000).toISOString(),
      rows_extracted: 100_000 + r,
      rows_transformed: 100_000 + r,
      rows_loaded: 100_000 + r,
    });
  }
});
const big = "perf-big";
await send(service.url, "PUT", `/pipelines/${big}`, { source_type: "mysql", target_type: "s3", target_id: "bucket/big", config: {} });
const bigStart = Date.now() - SAMPLES * 100;
await send(service.url, "POST", `/pipelines/${big}/runs`, { id: big, started_at: new Date(bigStart).toISOString() });
await pool(Math.ceil(SAMPLES / 1000), 4, async (chunk) => {
  const samples = [];
  for (let k = chunk * 1000; k < Math.min(SAMPLES, (chunk + 1) * 1000); k++) {
    const wave = Math.sin(k / 500);
    samples.push({
      at: new Date(bigStart + k * 100).toISOString(),
      rows_extracted: k * 100,
      rows_transformed: k * 100,
      rows_loaded: k * 99,
      extract_rows_per_s: 100_000 + 20_000 * wave,
      transform_rows_per_s: 95_000 + 20_000 * wave,
      load_rows_per_s: 90_000 + 20_000 * wave,
      extract_bytes_per_s: 8_000_000,
      rss_bytes: 200_000_000 + (k % 1000) * 1000,
      queue_to_transform: k % 8,
      queue_to_target: (k * 3) % 8,
      wasm_ms_per_batch: 3 + wave,
    });
  }
  await send(service.url, "POST", `/runs/${big}/metrics`, samples);
});
await send(service.url, "PATCH", `/runs/${big}`, { status: "completed", rows_loaded: SAMPLES * 99 });
const seedSeconds = (Date.now() - seeded) / 1000;
const summary = await api(service.url, "/api/v1/pipeline-summaries?limit=1");

const b = await browser();
const results = [];
async function measure(name, path, ready) {
  const times = [];
  for (let i = 0; i < LOADS + 1; i++) {
    const p = await page(b);
    await p.goto(`${service.url}${path}`, { waitUntil: "commit" });
    await p.waitForFunction(ready, null, { timeout: 30_000, polling: "raf" });
    const ms = await p.evaluate(() => performance.now());
    if (p.problems.length) throw new Error(`${name}: ${p.problems.join("\n")}`);
    await p.context().close();
    if (i > 0) times.push(ms); // the first load warms the service's caches
  }
  results.push({ name, median_ms: Math.round(median(times)), max_ms: Math.round(Math.max(...times)) });
}
await measure(
  `pipelines page (${summary.total} pipelines, ${PIPELINES * RUNS_PER_PIPELINE + 1} runs; first 100 with sparklines)`,
  "/",
  () => document.querySelectorAll("tr[data-pipeline]").length >= 100,
);
await measure(
  `run page (${SAMPLES.toLocaleString("en-US")} metric samples, 4 charts)`,
  `/runs/${big}`,
  () => {
    const charts = document.querySelectorAll(".chart-canvas canvas");
    const points = Number(document.querySelector(".chart-canvas")?.getAttribute("data-points") ?? 0);
    return charts.length >= 4 && points > 100;
  },
);
await measure(
  `pipeline page (${RUNS_PER_PIPELINE} runs)`,
  `/pipelines/perf-0001-mysql-s3`,
  () => document.querySelectorAll("tr[data-run]").length >= 1 && document.querySelectorAll(".chart-canvas canvas").length >= 2,
);
await b.close();
await service.stop();
console.log(JSON.stringify({ seed_seconds: seedSeconds, loads: LOADS, results }, null, 2));
for (const r of results) {
  console.log(`${r.median_ms >= 1000 ? "SLOW" : "ok  "} ${r.name}: median ${r.median_ms} ms, max ${r.max_ms} ms`);
}
if (results.some((r) => r.median_ms >= 1000)) process.exitCode = 1;
