-- POST /v1/heartbeats/batch: lines of "<gateway token>\t<JSON body>", taken in turn.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
-- args: <batches file> <threads>
local batches, idx
local headers = {["Content-Type"] = "application/json"}

function init(args)
   batches = {}
   for _, line in ipairs(read_lines(args[1])) do
      local tab = string.find(line, "\t", 1, true)
      batches[#batches + 1] = {token = string.sub(line, 1, tab - 1), body = string.sub(line, tab + 1)}
   end
   idx = math.floor(#batches * (tid or 0) / tonumber(args[2]))
end

function request()
   idx = idx % #batches + 1
   headers["Authorization"] = "Bearer " .. batches[idx].token
   return wrk.format("POST", nil, headers, batches[idx].body)
end
