-- POST /v1/heartbeats, each request with the next camera's device token.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
-- args: <tokens file> <threads>
local tokens, idx
local headers = {["Content-Type"] = "application/json"}
local template = '{"sent_at":"%s","uptime_s":%d,"fps":25.0,"bitrate_kbps":4096.0,"packet_loss_pct":0.1,' ..
   '"temperature_c":41.5,"storage_free_pct":63.0,"errors":[]}'

function init(args)
   tokens = read_lines(args[1])
   idx = math.floor(#tokens * (tid or 0) / tonumber(args[2]))
end

function request()
   idx = idx % #tokens + 1
   headers["Authorization"] = "Bearer " .. tokens[idx]
   return wrk.format("POST", nil, headers, string.format(template, os.date("!%Y-%m-%dT%H:%M:%SZ"), 3600 + idx))
end
