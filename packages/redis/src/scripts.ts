import { createHash } from 'node:crypto'

/**
 * Appends a message to a topic's history stream and publishes it, atomically, so that stream
 * order is delivery order; returns the entry id.
 * KEYS[1] the stream; ARGV[1] maxLen, ARGV[2] the channel, ARGV[3] the envelope's head,
 * ARGV[4] its tail. The stream stores the envelope without history id (the entry id is the
 * history id); the published envelope carries it.
 */
export const PUBLISH_LUA = `local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[3] .. '\\0' .. ARGV[4])
redis.call('PUBLISH', ARGV[2], ARGV[3] .. string.char(#id) .. id .. ARGV[4])
return id`

/**
 * Reads a topic's history after an id (exclusive) and, in the same atomic step, what gap
 * detection needs: the stream's first entry id and last-generated-id (empty strings when
 * absent) and whether nothing was ever removed from it ('1', '0', or '' before Redis 7, which
 * reports no entries-added). Returns nil when the stream does not exist.
 * KEYS[1] the stream; ARGV[1] the id to read after, ARGV[2] the most entries to return.
 */
export const HISTORY_LUA = `if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local first, last, added, length = '', '', nil, nil
for i = 1, #info, 2 do
  local k, v = info[i], info[i + 1]
  if k == 'first-entry' then
    if v then first = v[1] end
  elseif k == 'last-generated-id' then
    last = v
  elseif k == 'entries-added' then
    added = v
  elseif k == 'length' then
    length = v
  end
end
local intact = ''
if added and length then
  if added == length then intact = '1' else intact = '0' end
end
local range = redis.pcall('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
if type(range) ~= 'table' or range.err then range = {} end
return {first, last, intact, range}`

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex')
}

/** SHA-1 of {@link PUBLISH_LUA}, for EVALSHA. */
export const PUBLISH_SHA = sha1(PUBLISH_LUA)
/** SHA-1 of {@link HISTORY_LUA}, for EVALSHA. */
export const HISTORY_SHA = sha1(HISTORY_LUA)
