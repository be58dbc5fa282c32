-- The POST behind the emailed link, each time for another pending signature. The tokens come
-- from a file (one per line); thread k of n takes lines k, k+n, k+2n, ...
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local slug = os.getenv("BENCH_SLUG")
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = os.getenv("BENCH_COOKIE"),
}
local body = "csrf_token=" .. os.getenv("BENCH_CSRF_TOKEN")
local threads_total = tonumber(os.getenv("BENCH_THREADS"))
local tokens = nil
local next_index = 0

function request()
  if tokens == nil then
    tokens = {}
    local n = 0
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
      if n % threads_total == id - 1 then table.insert(tokens, line) end
      n = n + 1
    end
  end
  next_index = next_index % #tokens + 1
  return wrk.format("POST", "/letters/" .. slug .. "/confirm/" .. tokens[next_index], headers, body)
end
