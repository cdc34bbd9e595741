-- wrk script: send DEPTH requests in one write (default 16), as the
-- TechEmpower plaintext benchmark does. Usage: wrk -s pipeline.lua URL -- 16
--
-- wrk calls request() once at start-up, counts the requests in what it
-- returns, and then waits for that many responses before writing the next
-- batch. The server sees 16 requests per read; only a server that answers
-- every buffered request before waiting for more (and writes the answers
-- together) keeps up.

init = function(args)
  local depth = tonumber(args[1]) or 16
  local batch = {}
  for i = 1, depth do
    batch[i] = wrk.format()
  end
  req = table.concat(batch)
end

request = function()
  return req
end
