-- Random request paths for wrk from a fixed seed: wrk ... -s bench/wrk.lua URL -- PATHS ACCEPT SEED
-- PATHS holds one request path per line (written by bench/run.py from the workload's seeded
-- parameters); each request picks one at random. done() prints one JSON line for run.py.
local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  if args[2] ~= nil and args[2] ~= "" then
    wrk.headers["Accept"] = args[2]
  end
  math.randomseed(tonumber(args[3] or "7"))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, '
      .. '"err_connect": %d, "err_read": %d, "err_write": %d, "err_status": %d, "err_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
