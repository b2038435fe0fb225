-- wrk script for the mixed scenario: each connection waits a random "think time" between its
-- requests, uniform in [0, 2 × mean] ms (mean = the first script argument), so the offered load
-- is set by the connection count rather than by how fast the server answers. wrk starts a
-- request's clock when it is sent, after the think time: latency excludes it.
local dir = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
dofile(dir .. 'report.lua')

local mean = 1000

function init(args)
  mean = tonumber(args[1]) or mean
end

function delay()
  return math.random(0, 2 * mean)
end
