-- The sign form, posted with a valid CSRF token and a new email address each time.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local run = os.getenv("BENCH_RUN")
local path = "/letters/" .. os.getenv("BENCH_SLUG") .. "/sign"
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = os.getenv("BENCH_COOKIE"),
}
local fixed = "csrf_token=" .. os.getenv("BENCH_CSRF_TOKEN") ..
  "&affiliation=University+of+Benchmarks&title=Researcher&country=GB&is_public=y"
local counter = 0

-- A delay between requests per connection, for a steady rate (BENCH_DELAY_MS; 0: flat out).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
function delay()
  return pause
end

function request()
  counter = counter + 1
  local who = run .. "-" .. id .. "-" .. counter
  local body = fixed .. "&name=Bench+Signer+" .. who .. "&email=bench-" .. who .. "%40example.org"
  return wrk.format("POST", path, headers, body)
end
