-- wrk script: fetch one quote by id through the PocketBase Records API.
--
--   TOKEN=<user token> ID=<quote id> [COLLECTION=quotes] \
--     wrk -t1 -c16 -d10s -s benchmarks/wrk/get.lua http://127.0.0.1:8090
--
-- ID (or QUOTE_ID) must be a quote owned by the TOKEN's user (viewRule: userId = @request.auth.id),
-- otherwise every response is a 404 (wrk reports them as Non-2xx responses).
-- TOKEN may be empty/unset to measure the guest path (404s).

local id = os.getenv("ID") or os.getenv("QUOTE_ID") or error("ID env var is required")
local token = os.getenv("TOKEN")
local collection = os.getenv("COLLECTION") or "quotes"

wrk.method = "GET"
wrk.path = "/api/collections/" .. collection .. "/records/" .. id
if token and token ~= "" then
  wrk.headers["Authorization"] = token
end
