-- GET a rotating list of paths with an API key.  args: <paths file> <api key> <threads>
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local paths, idx

function init(args)
   paths = read_lines(args[1])
   wrk.headers["Authorization"] = "Bearer " .. args[2]
   idx = math.floor(#paths * (tid or 0) / tonumber(args[3]))
end

function request()
   idx = idx % #paths + 1
   return wrk.format("GET", paths[idx])
end
