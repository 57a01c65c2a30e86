-- post-execute.lua — wrk script: POST /execute with a JSON body, count non-2xx.
-- Adapted from the peers' kit (../shared/peers/bench/post-execute.lua).
--
--   FN=hello INPUT=''  wrk -t2 -c64 -d10s --latency -s bench/post-execute.lua http://127.0.0.1:9091/execute
--   FN=fib   INPUT=25  wrk ...
--
-- Env:
--   FN          function name (default "hello")
--   INPUT       input, sent as a JSON string (default "")
--   INPUT_JSON  input as a raw JSON value (e.g. 25 or {"a":1}); overrides INPUT
--   LABEL       free text echoed in the RESULT line (default FN)
--   BODY        execute (default) | invoke ({"input": ...}, for /api/invoke) | none
--               | raw (the bytes of RAW as they are, e.g. for a workflow's http-ingress)
--   RAW         the body for BODY=raw
--   METHOD      HTTP method (default POST)
--   TOKEN       admin token, sent as a bearer token
-- Prints the non-2xx status codes (with one sample body each) and, last, one
-- machine-readable line:
--   RESULT label=<..> requests=<n> duration_s=<s> req_s=<r> p50_ms=<..> p99_ms=<..>
--          mean_ms=<..> max_ms=<..> non2xx=<n> sock_errors=<n>
-- Only ever point it at 127.0.0.1.

local fn    = os.getenv("FN") or "hello"
local input = os.getenv("INPUT") or ""
local input_json = os.getenv("INPUT_JSON")
local label = os.getenv("LABEL") or fn

local function json_string(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    if c == '\n' then return '\\n' end
    if c == '\r' then return '\\r' end
    if c == '\t' then return '\\t' end
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. s .. '"'
end

if input_json == nil or input_json == "" then input_json = json_string(input) end

-- BODY=invoke sends the gateway's body ({"input": ...}) instead; BODY=none
-- with METHOD=GET reads an endpoint; TOKEN adds the admin bearer token.
local body_mode = os.getenv("BODY") or "execute"
wrk.method = os.getenv("METHOD") or "POST"
if body_mode == "invoke" then
  wrk.body = '{"input":' .. input_json .. '}'
elseif body_mode == "none" then
  wrk.body = nil
elseif body_mode == "raw" then
  wrk.body = os.getenv("RAW") or ""
else
  wrk.body = '{"function":' .. json_string(fn) .. ',"input":' .. input_json .. '}'
end
if wrk.body ~= nil and body_mode ~= "raw" then wrk.headers["Content-Type"] = "application/json" end
local token = os.getenv("TOKEN")
if token ~= nil and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end

-- Each wrk thread has its own Lua VM; done() collects their counters.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0     -- globals, so thread:get() can read them
  codes = {}     -- "status" -> count
  samples = {}   -- "status" -> first body seen
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    local k = tostring(status)
    codes[k] = (codes[k] or 0) + 1
    if samples[k] == nil then samples[k] = (body or ""):sub(1, 200) end
  end
end

function done(summary, latency, requests)
  local total = 0
  local all_codes, all_samples = {}, {}
  for _, t in ipairs(threads) do
    total = total + (t:get("non2xx") or 0)
    for k, v in pairs(t:get("codes") or {}) do all_codes[k] = (all_codes[k] or 0) + v end
    for k, v in pairs(t:get("samples") or {}) do
      if all_samples[k] == nil then all_samples[k] = v end
    end
  end
  if total > 0 then
    io.write(string.format("non-2xx responses: %d\n", total))
    for k, v in pairs(all_codes) do
      io.write(string.format("  status %s x%d  e.g. %s\n", k, v, all_samples[k] or ""))
    end
  end
  local e = summary.errors
  local sock = e.connect + e.read + e.write + e.timeout
  local dur = summary.duration / 1e6
  io.write(string.format(
    "RESULT label=%s requests=%d duration_s=%.2f req_s=%.1f p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f max_ms=%.3f non2xx=%d sock_errors=%d\n",
    (label:gsub("%s", "_")), summary.requests, dur, summary.requests / dur,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000, total, sock))
end
