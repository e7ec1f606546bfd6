-- wrk script for bench/api.sh: every request POSTs a JSON array with one MetricSample to
-- /api/v1/runs/$FASTLANE_BENCH_RUN_ID/metrics. Each request gets its own `at` (a millisecond
-- counter from $FASTLANE_BENCH_EPOCH_MS, interleaved across threads), so no two samples collide.
-- Responses with status >= 300 are counted per thread; done() prints one machine-readable line:
--   FASTLANE_BENCH {"requests":…,"duration_us":…,"p50_us":…,"p99_us":…,"non_2xx":…,…}
-- which bench/api.sh parses (wrk's own human-readable report is printed above it).

local run_id = assert(os.getenv("FASTLANE_BENCH_RUN_ID"), "FASTLANE_BENCH_RUN_ID is not set")
local epoch_ms = tonumber(os.getenv("FASTLANE_BENCH_EPOCH_MS") or "") or os.time() * 1000
local thread_count = tonumber(os.getenv("FASTLANE_BENCH_THREADS") or "") or 1

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  non_2xx = 0
  first_error = ""
  path = "/api/v1/runs/" .. run_id .. "/metrics"
  headers = { ["Content-Type"] = "application/json" }
end

local function timestamp(ms)
  local seconds = math.floor(ms / 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", ms - seconds * 1000)
end

function request()
  sent = sent + 1
  local at = timestamp(epoch_ms + sent * thread_count + thread_index)
  local body = string.format(
    '[{"at":"%s","rows_extracted":%d,"rows_transformed":%d,"rows_loaded":%d,' ..
    '"extract_rows_per_s":52000.5,"transform_rows_per_s":51000.25,"load_rows_per_s":50000.0,' ..
    '"extract_bytes_per_s":10485760.0,"rss_bytes":83886080,"queue_to_transform":3,' ..
    '"queue_to_target":1,"wasm_ms_per_batch":2.5}]',
    at, sent * 1000, sent * 1000, sent * 990)
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status >= 300 then
    non_2xx = non_2xx + 1
    if first_error == "" then
      first_error = status .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local non_2xx_total, first = 0, ""
  for _, thread in ipairs(threads) do
    non_2xx_total = non_2xx_total + thread:get("non_2xx")
    if first == "" then first = thread:get("first_error") end
  end
  local e = summary.errors
  io.write(string.format(
    'FASTLANE_BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"non_2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d,"wrk_status_errors":%d,"first_error":%s}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, non_2xx_total, e.connect, e.read, e.write, e.timeout, e.status,
    json_string(first)))
end
