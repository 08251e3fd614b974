-- Sends each pre-signed delivery of a file once, in order; run with one thread (-t1).
--
--   wrk -t1 -c64 -d10s -s bench/wrk_events.lua http://127.0.0.1:PORT -- REQUESTS IDS
--
-- REQUESTS holds records "<8 decimal digits: length><raw HTTP request>" (bench/events.py).
-- Once it is exhausted, every further request is a GET that no target answers with 2xx, so
-- running out is visible as non-2xx answers rather than hidden by repeating events.
-- The ids the server echoed in its 2xx answers are written to IDS (one per line); done()
-- prints one JSON line with the counts and the latency percentiles (microseconds).

local requests_file
local exhausted_request
local threads = {}

-- globals of the thread's Lua state, read by done() (which runs in the main state)
sent = 0
exhausted = 0
non2xx = 0
ok = 0
ids = {}
statuses = {}
ids_path = ""

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests_file = assert(io.open(args[1], "rb"))
  ids_path = args[2]
  exhausted_request = wrk.format("GET", "/__bench_requests_exhausted__")
end

function request()
  local header = requests_file:read(8)
  if header == nil then
    exhausted = exhausted + 1
    return exhausted_request
  end
  sent = sent + 1
  return requests_file:read(tonumber(header))
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  ok = ok + 1
  local id = string.match(body, '"id":"([^"]+)"')
  if id then
    ids[#ids + 1] = id
  end
  local st = string.match(body, '"status":"([^"]+)"') or "none"
  statuses[st] = (statuses[st] or 0) + 1
end

function done(summary, latency, requests)
  local t = threads[1]
  local got = t:get("ids")
  local out = assert(io.open(t:get("ids_path"), "wb"))
  for _, id in ipairs(got) do
    out:write(id, "\n")
  end
  out:close()
  local parts = {}
  for st, n in pairs(t:get("statuses")) do
    parts[#parts + 1] = string.format('"%s":%d', st, n)
  end
  local e = summary.errors
  io.write(string.format(
    '{"bench_result":true,"duration_us":%d,"requests":%d,"bytes":%d,'
      .. '"sent":%d,"exhausted":%d,"ok":%d,"non2xx":%d,"statuses":{%s},'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.duration, summary.requests, summary.bytes,
    t:get("sent"), t:get("exhausted"), t:get("ok"), t:get("non2xx"), table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
