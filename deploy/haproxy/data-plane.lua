-- Atrium's workspace data plane (docs/data-plane.md), loaded by
-- atrium.cfg.template. The configuration looks each workspace request up in
-- a map of the hub's answers; this file fills it: on a request with no
-- answer it asks the hub, and it empties it the moment the hub says
-- anything changed. It decides nothing itself: the hub does
-- (hub/src/workspaces/data-plane.ts).

local control = os.getenv("ATRIUM_DATA_PLANE_CONTROL")
local secret = os.getenv("ATRIUM_DATA_PLANE_SECRET")
local maps = os.getenv("ATRIUM_DATA_PLANE_MAPS")
local enabled = control ~= nil and control ~= "" and maps ~= nil and secret ~= nil and #secret >= 32
local ANSWERS = (maps or "") .. "/answers.map"

-- A bound on memory: past it, every answer is forgotten and asked again.
local MAX_ANSWERS = 20000
-- The keys in the map, so that they can all be forgotten.
local keys = {}
local count = 0
-- Counts forgettings: an answer asked for before one is not kept after it.
local forgettings = 0

local function forget_all()
  for key in pairs(keys) do core.del_map(ANSWERS, key) end
  keys = {}
  count = 0
  forgettings = forgettings + 1
end

local function now_ms()
  local t = core.now()
  return t.sec * 1000 + t.usec // 1000
end

local function first(headers, name)
  local values = headers and headers[name]
  if values == nil then return nil end
  return values[0] or values[1]
end

-- What the hub's "let through" depends on, besides the method, the Upgrade
-- header and the workspace (WorkspaceProxy.decide).
local ASKED = { "authorization", "cookie", "host", "origin", "referer", "upgrade" }

core.register_action("atrium_ask", { "http-req" }, function(txn)
  if not enabled then return end
  local key = txn:get_var("txn.atrium_key")
  local prefix = txn:get_var("txn.atrium_prefix")
  if key == nil or prefix == nil then return end
  local headers = {
    ["x-atrium-data-plane-secret"] = { secret },
    ["x-atrium-method"] = { txn.sf:method() },
    ["x-atrium-prefix"] = { prefix },
  }
  for _, name in ipairs(ASKED) do
    local value = txn.sf:req_fhdr(name)
    if value ~= nil and value ~= "" then headers["x-atrium-" .. name] = { value } end
  end
  local before = forgettings
  local ok, res = pcall(function()
    return core.httpclient():get{ url = "http://" .. control .. "/hub/internal/data-plane/decision", headers = headers, timeout = 5000 }
  end)
  if not ok or res == nil or res.status ~= 200 then return end
  local h = res.headers
  local ttl = tonumber(first(h, "x-atrium-ttl-ms"))
  local host = first(h, "x-atrium-target-host")
  local port = tonumber(first(h, "x-atrium-target-port"))
  local authorization = first(h, "x-atrium-authorization")
  local cookie = first(h, "x-atrium-cookie")
  if ttl == nil or ttl <= 0 or host == nil or port == nil or authorization == nil then return end
  -- "|" separates the answer's parts; only the Cookie, last, may hold it.
  if string.find(host .. authorization, "|", 1, true) then return end
  -- Something changed while the hub was deciding: this request goes to the hub.
  if forgettings ~= before then return end
  if keys[key] == nil then
    if count >= MAX_ANSWERS then forget_all() end
    keys[key] = true
    count = count + 1
  end
  -- The layout the configuration reads (atrium.cfg.template).
  local answer = table.concat({ tostring(now_ms() + ttl), host, tostring(port), authorization, cookie and ("=" .. cookie) or "-" }, "|")
  core.set_map(ANSWERS, key, answer)
  txn:set_var("txn.atrium_answer", answer)
  txn:set_var("txn.atrium_left", ttl)
end, 0)

-- Among several cookies a server sets, JupyterLab's own login cookie is
-- dropped (the configuration drops it alone when it comes alone).
core.register_action("atrium_drop_login_cookie", { "http-res" }, function(txn)
  local cookies = txn.http:res_get_headers()["set-cookie"]
  if cookies == nil then return end
  local kept = {}
  for _, value in pairs(cookies) do
    if string.sub(value, 1, 9) ~= "username-" then kept[#kept + 1] = value end
  end
  txn.http:res_del_header("set-cookie")
  for _, value in ipairs(kept) do txn.http:res_add_header("set-cookie", value) end
end, 0)

-- Follows the hub's version of everything it decides on: a new version, or
-- no answer, forgets every answer.
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
