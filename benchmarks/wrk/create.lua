-- wrk script: create quotes through the PocketBase Records API.
--
--   TOKEN=<user token> [USER_ID=<user id>] [COLLECTION=quotes] \
--     wrk -t1 -c16 -d10s -s benchmarks/wrk/create.lua http://127.0.0.1:8090
--
-- TOKEN   user auth token (sent as the raw Authorization header, PocketBase style).
-- USER_ID owner id put in the body's userId (the create rule needs userId = @request.auth.id);
--         if unset it is taken from the token's JWT payload ("id" claim).
-- Each request body is unique (thread id + counter). Non-2xx responses are reported by wrk.

local token = os.getenv("TOKEN") or error("TOKEN env var is required")
local collection = os.getenv("COLLECTION") or "quotes"

local function b64url_decode(s)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  local map = {}
  for i = 1, #alphabet do map[alphabet:sub(i, i)] = i - 1 end
  map["+"] = 62; map["/"] = 63
  local out, acc, bits = {}, 0, 0
  for i = 1, #s do
    local v = map[s:sub(i, i)]
    if v then
      acc = acc * 64 + v
      bits = bits + 6
      if bits >= 8 then
        bits = bits - 8
        local byte = math.floor(acc / 2 ^ bits)
        out[#out + 1] = string.char(byte)
        acc = acc - byte * 2 ^ bits
      end
    end
  end
  return table.concat(out)
end

local user_id = os.getenv("USER_ID")
if not user_id or user_id == "" then
  local payload = b64url_decode(token:match("^[^.]+%.([^.]+)%.") or "")
  user_id = payload:match('"id"%s*:%s*"([^"]+)"') or error("cannot find id claim in TOKEN; set USER_ID")
end

local path = "/api/collections/" .. collection .. "/records"
local headers = {
  ["Authorization"] = token,
  ["Content-Type"] = "application/json",
}

local counter = 0
local threads_seen = 0

-- runs in the main Lua state: give each thread a distinct global `tid`
function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("tid", threads_seen)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"content":"Benchmark quote %d-%d: the impediment to action advances action.",' ..
    '"author":"Marcus Aurelius","source":"wrk","notes":"","tags":["bench","stoic"],"userId":"%s"}',
    tid or 0, counter, user_id)
  return wrk.format("POST", path, headers, body)
end
