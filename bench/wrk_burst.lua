-- Sends each pre-signed delivery of a file exactly once, then stops asking; one thread (-t1).
--
--   wrk -t1 -c64 -d3600s -s bench/wrk_burst.lua http://127.0.0.1:PORT -- REQUESTS IDS DONE SENT
--
-- REQUESTS holds records "<8 decimal digits: length><raw HTTP request>" (bench/burst.py writes
-- them, in the format of bench/events.py). Unlike bench/wrk_events.lua, which runs for a
-- duration, this one sends the file's N requests and no other: once the file is exhausted, a
-- connection that asks for another request is parked (it is given the start of a request
-- whose headers never end: the server waits for the rest, nothing is answered, nothing else is
-- sent). When every request sent has been answered it writes the file DONE, which tells
-- bench/burst_load.py to stop wrk (SIGINT: wrk then prints its summary and calls done()). A request
-- lost to a socket error is never answered, so DONE is not written: the file SENT, written
-- when the last request leaves, lets the bench notice the silence and stop wrk itself.
--
-- The ids the server echoed in its 200 answers are written to IDS (one per line); done()
-- prints one JSON line: counts, wall-clock times (microseconds since the epoch, from
-- clock_gettime through LuaJIT's FFI) of the first request and of the last answer, answers per
-- 100 ms, and wrk's latency percentiles (microseconds).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_REALTIME = 0
local timespec = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_REALTIME, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + math.floor(tonumber(timespec.tv_nsec) / 1000)
end

-- once the file is exhausted, each connection is given this: the start of a request whose
-- headers never end, so the server waits for the rest and the connection stays silent
local PARKED = "GET /__bench_parked__ HTTP/1.1\r\nHost: bench\r\n"
local requests_file
local next_request
local done_path
local sent_path
local done_written = false
local verified = false
local threads = {}

-- globals of the thread's Lua state, read by done() (which runs in the main state)
sent = 0
answered = 0
ok = 0
non2xx = 0
parked = 0
first_us = 0
last_us = 0
last_ok_us = 0
exhausted_us = 0
ids = {}
statuses = {}
codes = {}
buckets = {}
ids_path = ""

local function mark(path, at)
  local out = assert(io.open(path, "wb"))
  out:write(string.format("%d %.0f\n", sent, at))
  out:close()
end

local function read_record()
  local header = requests_file:read(8)
  if header == nil then
    return nil
  end
  return requests_file:read(tonumber(header))
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests_file = assert(io.open(args[1], "rb"))
  ids_path = args[2]
  done_path = args[3]
  sent_path = args[4]
  next_request = read_record()
end

function request()
  if not verified then
    -- wrk calls request() once right after init() to check the script (how many requests it
    -- returns); that one is never sent, so it must not consume a record
    verified = true
    return next_request
  end
  local req = next_request
  if req == nil then
    parked = parked + 1
    return PARKED
  end
  if sent == 0 then
    first_us = now_us()
  end
  sent = sent + 1
  next_request = read_record()
  if next_request == nil then
    exhausted_us = now_us()
    mark(sent_path, exhausted_us)
  end
  return req
end

function response(status, headers, body)
  local t = now_us()
  answered = answered + 1
  last_us = t
  local bucket = math.floor((t - first_us) / 100000) + 1
  buckets[bucket] = (buckets[bucket] or 0) + 1
  codes[status] = (codes[status] or 0) + 1
  if status == 200 then
    ok = ok + 1
    last_ok_us = t
    local id = string.match(body, '"id":"([^"]+)"')
    if id then
      ids[#ids + 1] = id
    end
    local st = string.match(body, '"status":"([^"]+)"') or "none"
    statuses[st] = (statuses[st] or 0) + 1
  else
    non2xx = non2xx + 1
  end
  if next_request == nil and answered >= sent and not done_written then
    done_written = true
    mark(done_path, t)
  end
end

local function json_map(map)
  local parts = {}
  for k, n in pairs(map) do
    parts[#parts + 1] = string.format('"%s":%d', tostring(k), n)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local t = threads[1]
  local got = t:get("ids")
  local out = assert(io.open(t:get("ids_path"), "wb"))
  for _, id in ipairs(got) do
    out:write(id, "\n")
  end
  out:close()
  local b = t:get("buckets")
  local n = 0
  for k, _ in pairs(b) do
    if k > n then
      n = k
    end
  end
  local series = {}
  for i = 1, n do
    series[i] = tostring(b[i] or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"bench_result":true,"duration_us":%d,"requests":%d,"bytes":%d,'
      .. '"sent":%d,"answered":%d,"ok":%d,"non2xx":%d,"parked":%d,'
      .. '"first_us":%.0f,"exhausted_us":%.0f,"last_us":%.0f,"last_ok_us":%.0f,'
      .. '"statuses":%s,"codes":%s,"answers_per_100ms":[%s],'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.duration, summary.requests, summary.bytes,
    t:get("sent"), t:get("answered"), t:get("ok"), t:get("non2xx"), t:get("parked"),
    t:get("first_us"), t:get("exhausted_us"), t:get("last_us"), t:get("last_ok_us"),
    json_map(t:get("statuses")), json_map(t:get("codes")), table.concat(series, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
