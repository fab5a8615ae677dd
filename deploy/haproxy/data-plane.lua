-- Atrium's workspace data plane (docs/data-plane.md), loaded by
-- atrium.cfg.template. A request under /user/<name>/<workspace>/ goes straight
-- to that workspace's server once the hub has said that this credential may
-- reach it; the hub's answer is kept for at most the time it gives (2 s) and
-- dropped at once when the hub says anything changed. Everything else, and
-- every request the hub did not let through, goes to the hub, which answers
-- it as it always does (sign-in, refusals, stopped workspaces). This file
-- decides nothing: the hub does (hub/src/workspaces/data-plane.ts).

local control = os.getenv("ATRIUM_DATA_PLANE_CONTROL")
local secret = os.getenv("ATRIUM_DATA_PLANE_SECRET")
local enabled = control ~= nil and control ~= "" and secret ~= nil and #secret >= 32

-- A bound on memory: past it, every answer is forgotten and asked again.
local MAX_DECISIONS = 20000
local decisions = {}
local count = 0
-- Counts forgettings: an answer asked for before one is not kept after it.
local forgettings = 0

local function forget_all()
  decisions = {}
  count = 0
  forgettings = forgettings + 1
end

local function now_ms()
  local t = core.now()
  return t.sec * 1000 + t.usec // 1000
end

-- The single value of a request header, "" when absent, nil when sent more
-- than once (such a request goes to the hub, which reads headers its own way).
local function single(headers, name)
  local values = headers[name]
  if values == nil then return "" end
  if values[1] ~= nil then return nil end
  return values[0] or ""
end

local function first(headers, name)
  local values = headers and headers[name]
  if values == nil then return nil end
  return values[0] or values[1]
end

local ASKED = { "authorization", "cookie", "host", "origin", "referer", "accept" }

local function ask(method, prefix, upgrade, sent)
  local headers = {
    ["x-atrium-data-plane-secret"] = { secret },
    ["x-atrium-method"] = { method },
    ["x-atrium-prefix"] = { prefix },
  }
  if upgrade ~= "" then headers["x-atrium-upgrade"] = { upgrade } end
  for _, name in ipairs(ASKED) do
    if sent[name] ~= "" then headers["x-atrium-" .. name] = { sent[name] } end
  end
  local ok, res = pcall(function()
    return core.httpclient():get{ url = "http://" .. control .. "/hub/internal/data-plane/decision", headers = headers, timeout = 5000 }
  end)
  if not ok or res == nil or res.status ~= 200 then return nil end
  local h = res.headers
  local ttl = tonumber(first(h, "x-atrium-ttl-ms"))
  local host = first(h, "x-atrium-target-host")
  local port = tonumber(first(h, "x-atrium-target-port"))
  local authorization = first(h, "x-atrium-authorization")
  if ttl == nil or host == nil or port == nil or authorization == nil then return nil end
  return {
    host = host,
    port = port,
    authorization = authorization,
    cookie = first(h, "x-atrium-cookie") or "",
    drop_set_cookie = first(h, "x-atrium-drop-set-cookie") or "",
    expires = now_ms() + ttl,
  }
end

core.register_action("atrium_route", { "http-req" }, function(txn)
  if not enabled then return end
  local prefix = string.match(txn.sf:path() or "", "^/user/[^/?#]+/[^/?#]+/")
  if prefix == nil then return end
  local headers = txn.http:req_get_headers()
  local sent = {}
  for _, name in ipairs(ASKED) do
    sent[name] = single(headers, name)
    if sent[name] == nil then return end
  end
  local upgrade = single(headers, "upgrade")
  if upgrade == nil then return end
  local method = txn.sf:method()
  local key = table.concat({ method, upgrade, prefix, sent.authorization, sent.cookie, sent.host, sent.origin, sent.referer, sent.accept }, "\n")
  local decision = decisions[key]
  if decision ~= nil and decision.expires <= now_ms() then
    decisions[key] = nil
    count = count - 1
    decision = nil
  end
  if decision == nil then
    local before = forgettings
    decision = ask(method, prefix, upgrade, sent)
    if decision == nil then return end
    if forgettings == before then
      if count >= MAX_DECISIONS then forget_all() end
      decisions[key] = decision
      count = count + 1
    end
  end
  txn:set_var("txn.atrium_host", decision.host)
  txn:set_var("txn.atrium_port", decision.port)
  txn:set_var("txn.atrium_drop_set_cookie", decision.drop_set_cookie)
  txn.http:req_set_header("authorization", decision.authorization)
  if decision.cookie == "" then
    txn.http:req_del_header("cookie")
  else
    txn.http:req_set_header("cookie", decision.cookie)
  end
end, 0)

-- The server's cookies the browser must not get (JupyterLab's own login cookie).
core.register_action("atrium_response", { "http-res" }, function(txn)
  local drop = txn:get_var("txn.atrium_drop_set_cookie")
  if drop == nil or drop == "" then return end
  local cookies = txn.http:res_get_headers()["set-cookie"]
  if cookies == nil then return end
  local kept = {}
  for _, value in pairs(cookies) do
    if string.sub(value, 1, #drop) ~= drop then kept[#kept + 1] = value end
  end
  txn.http:res_del_header("set-cookie")
  for _, value in ipairs(kept) do txn.http:res_add_header("set-cookie", value) end
end, 0)

-- Follows the hub's version of everything it decides on: a new version, or
-- no answer, forgets every decision.
core.register_task(function()
  if not enabled then return end
  local seen = ""
  while true do
    local ok, res = pcall(function()
      return core.httpclient():get{
        url = "http://" .. control .. "/hub/internal/data-plane/changes?seen=" .. seen,
        headers = { ["x-atrium-data-plane-secret"] = { secret } },
        timeout = 30000,
      }
    end)
    if ok and res ~= nil and res.status == 200 and res.body ~= nil and res.body ~= "" then
      if res.body ~= seen then
        forget_all()
        seen = res.body
      end
    else
      forget_all()
      seen = ""
      core.msleep(500)
    end
  end
end)
