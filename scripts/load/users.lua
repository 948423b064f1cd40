-- wrk script: requests as many users, each request with a random user's token.
--
--   wrk -t2 -c32 -d20s -s scripts/load/users.lua http://127.0.0.1:18100 -- TOKENS MODE [ACKS]
--
-- TOKENS  file with one access token per line
-- MODE    get:<path>           GET <path>, e.g. get:/api/v1/dashboard?range=30d
--         checkin              POST /api/v1/checkins with varying bodies
--         mix:<c>:<d>:<m>      weights of check-ins, dashboards and /auth/me
-- ACKS    optional: file to write "checkin_id,analysis_id" of every 202 to ("-": none)
-- DELAY   optional: milliseconds each connection waits before each request
--         (caps the rate at connections * 1000 / DELAY per second)
--
-- At the end it prints one machine-readable line:
--   WRK requests= duration_us= rps= p50_us= p90_us= p99_us= max_us= err_connect=
--       err_read= err_write= err_timeout= non2xx= s200= s202= s4xx= s5xx= s503=

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local tokens = {}
local mode, path, acks_file, delay_ms
local weights = { 0, 1, 0 }
statuses = {}
acks = {}

local notes = {
  "Slept well and had a productive, happy day.",
  "Feeling anxious about the deadline, hard to focus.",
  "Quiet evening, read a book, nothing special.",
  "Argued with my partner and I feel awful and tired.",
  "Went for a long run in the park, feeling great.",
  "Work was stressful but dinner with friends helped.",
  "",
  "Could not sleep, kept worrying about money.",
  "Lovely walk by the sea with the dog this morning.",
  "Tired. Too many meetings. Headache all afternoon.",
}

function init(args)
  local f = assert(io.open(args[1], "r"), "cannot open the tokens file")
  for line in f:lines() do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  f:close()
  assert(#tokens > 0, "no tokens")
  local m = args[2] or "get:/api/v1/dashboard?range=30d"
  acks_file = args[3]
  if acks_file == "-" or acks_file == "" then acks_file = nil end
  acks_path = acks_file -- a global: done() runs in the main state, which init() never saw
  delay_ms = tonumber(args[4] or "")
  -- wrk looks for delay() after init(): define it only when asked, since a
  -- defined delay() puts every request through a timer.
  if delay_ms then
    delay = function() return delay_ms end
  end
  if m:sub(1, 4) == "get:" then
    mode, path = "get", m:sub(5)
  elseif m == "checkin" then
    mode = "checkin"
  elseif m:sub(1, 4) == "mix:" then
    mode = "mix"
    local c, d, me = m:match("^mix:(%d+):(%d+):(%d+)$")
    weights = { tonumber(c), tonumber(d), tonumber(me) }
  else
    error("unknown mode " .. m)
  end
  math.randomseed(os.time() * 1000 + tid * 7919)
end

local function auth(t)
  return { ["Authorization"] = "Bearer " .. t, ["Content-Type"] = "application/json" }
end

local function checkin(t)
  local body = string.format(
    '{"mood":%d,"sleep_hours":%.1f,"notes":"%s","meta":{"source":"wrk","n":%d}}',
    math.random(1, 10), math.random(20, 100) / 10, notes[math.random(#notes)], math.random(1, 1000000))
  return wrk.format("POST", "/api/v1/checkins", auth(t), body)
end

function request()
  local t = tokens[math.random(#tokens)]
  if mode == "get" then
    return wrk.format("GET", path, auth(t))
  elseif mode == "checkin" then
    return checkin(t)
  end
  local r = math.random() * (weights[1] + weights[2] + weights[3])
  if r < weights[1] then
    return checkin(t)
  elseif r < weights[1] + weights[2] then
    return wrk.format("GET", "/api/v1/dashboard?range=30d", auth(t))
  end
  return wrk.format("GET", "/api/v1/auth/me", auth(t))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if acks_file and status == 202 then
    -- Object keys come sorted: find the check-in's own "id" inside "checkin".
    local c = body:match('"checkin":{.-"id":"([%x%-]+)"')
    local a = body:match('"analysis_id":"([%x%-]+)"')
    if c and a then acks[#acks + 1] = c .. "," .. a end
  end
end

function done(summary, latency, requests)
  local total = {}
  local path = threads[1] and threads[1]:get("acks_path")
  local f = path and io.open(path, "w")
  for _, thread in ipairs(threads) do
    for s, n in pairs(thread:get("statuses")) do total[s] = (total[s] or 0) + n end
    if f then
      for _, line in ipairs(thread:get("acks")) do f:write(line, "\n") end
    end
  end
  if f then f:close() end
  local non2xx, s4, s5 = 0, 0, 0
  for s, n in pairs(total) do
    if s < 200 or s > 299 then non2xx = non2xx + n end
    if s >= 400 and s < 500 then s4 = s4 + n end
    if s >= 500 then s5 = s5 + n end
  end
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d non2xx=%d s200=%d s202=%d s4xx=%d s5xx=%d s503=%d\n",
    summary.requests, summary.duration, summary.requests / summary.duration * 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, non2xx, total[200] or 0, total[202] or 0, s4, s5, total[503] or 0))
  local codes = {}
  for s, n in pairs(total) do codes[#codes + 1] = s .. ":" .. n end
  table.sort(codes)
  io.write("STATUSES ", table.concat(codes, " "), "\n")
end
