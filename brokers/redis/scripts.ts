import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { replyCode } from './connection.ts';

/**
 * The server-side steps that must read and write a stream's group state atomically, as Lua scripts (run with
 * EVALSHA, falling back to EVAL after a server restart emptied the script cache). Every script takes the stream key
 * as KEYS[1] and the group name as ARGV[1].
 */

/** Shared Lua helpers: stream ID comparison, counting entries after an ID, reading flat XINFO replies. */
const HELPERS = `
local function cmpId(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm and -1 or 1 end
  if am ~= bm then return am < bm and -1 or 1 end
  if #as ~= #bs then return #as < #bs and -1 or 1 end
  if as ~= bs then return as < bs and -1 or 1 end
  return 0
end
local function countAfter(key, id)
  local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
  if #first == 0 then return 0 end
  if cmpId(id, first[1][1]) < 0 then return redis.call('XLEN', key) end
  local n, from = 0, '(' .. id
  while true do
    local page = redis.call('XRANGE', key, from, '+', 'COUNT', 1000)
    n = n + #page
    if #page < 1000 then return n end
    from = '(' .. page[#page][1]
  end
end
local function field(flat, name)
  for i = 1, #flat, 2 do if flat[i] == name then return flat[i + 1] end end
  return nil
end
local function findGroup(key, group)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    if field(g, 'name') == group then return g end
  end
  return nil
end
`;

/** Creates an empty stream (a group created with MKSTREAM and destroyed again) unless the key exists. */
const ENSURE_STREAM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')
redis.call('XGROUP', 'DESTROY', KEYS[1], ARGV[1])
return 1
`;

/**
 * Lag = entries not yet delivered to the group (XINFO GROUPS \`lag\`) + delivered and unacknowledged (\`pending\`).
 * Redis 7 leaves \`lag\` nil when it cannot derive it (entries deleted inside the unread range); then the entries
 * after the group's last-delivered ID are counted.
 */
const LAG = `${HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local g = findGroup(KEYS[1], ARGV[1])
if not g then return 0 end
local lag = field(g, 'lag')
if not lag then lag = countAfter(KEYS[1], field(g, 'last-delivered-id')) end
return lag + field(g, 'pending')
`;

/**
 * Moves (or creates) the group so its next delivery is the first entry after ARGV[2]. Its pending list is dropped
 * (acknowledged): what lies after the new position is delivered again anyway, what lies before counts as done.
 * ENTRIESREAD is set to the logical number of entries up to the position so that XINFO's \`lag\` stays exact.
 */
const REPLAY = `${HELPERS}
local key, group, last = KEYS[1], ARGV[1], ARGV[2]
if redis.call('EXISTS', key) == 0 then
  redis.call('XGROUP', 'CREATE', key, group, last, 'MKSTREAM')
  return 1
end
local read = field(redis.call('XINFO', 'STREAM', key), 'entries-added') - countAfter(key, last)
if findGroup(key, group) then
  while true do
    local pending = redis.call('XPENDING', key, group, '-', '+', 1000)
    if #pending == 0 then break end
    local ids = {}
    for i, p in ipairs(pending) do ids[i] = p[1] end
    redis.call('XACK', key, group, unpack(ids))
  end
  redis.call('XGROUP', 'SETID', key, group, last, 'ENTRIESREAD', read)
else
  redis.call('XGROUP', 'CREATE', key, group, last, 'ENTRIESREAD', read)
end
return 1
`;

/**
 * Acts on entries only if they are still in this consumer's pending list (another member may have claimed them):
 * - touch: resets their idle time (they wait in this subscriber, not abandoned); returns the IDs still held.
 * - retry: claims them again with the delivery counter + 1; returns \`{id, deliveries}\` for those that still exist.
 * - adopt: claims them again (counter + 1) with their fields; returns \`{id, fields, deliveries}\`.
 * - release: makes them look idle for ~30 years, so any member's next XAUTOCLAIM takes them at once.
 * ARGV: group, consumer, mode, ids...
 */
const CLAIM_OWN = `
local key, group, me, mode = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local p = redis.call('XPENDING', key, group, id, id, 1)
  if #p == 1 and p[1][2] == me then
    local deliveries = p[1][4]
    if mode == 'touch' then
      if #redis.call('XCLAIM', key, group, me, 0, id, 'JUSTID') == 1 then out[#out + 1] = id end
    elseif mode == 'release' then
      redis.call('XCLAIM', key, group, me, 0, id, 'IDLE', 1000000000000, 'JUSTID')
    elseif mode == 'retry' then
      if #redis.call('XCLAIM', key, group, me, 0, id, 'RETRYCOUNT', deliveries + 1, 'JUSTID') == 1 then
        out[#out + 1] = {id, deliveries + 1}
      end
    else
      local claimed = redis.call('XCLAIM', key, group, me, 0, id)
      if #claimed == 1 and claimed[1][2] then out[#out + 1] = {id, claimed[1][2], deliveries + 1} end
    end
  end
end
return out
`;

/**
 * XAUTOCLAIM (entries idle at least ARGV[3] ms, from cursor ARGV[4], at most ARGV[5]) plus each claimed entry's
 * delivery counter from XPENDING. Returns \`{nextCursor, {{id, fields, deliveries}, ...}}\`.
 * ARGV: group, consumer, minIdleMs, cursor, count
 */
const AUTOCLAIM = `
local key, group, me = KEYS[1], ARGV[1], ARGV[2]
local r = redis.call('XAUTOCLAIM', key, group, me, ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local out = {}
for _, e in ipairs(r[2]) do
  if e[2] then
    local p = redis.call('XPENDING', key, group, e[1], e[1], 1)
    out[#out + 1] = {e[1], e[2], #p == 1 and p[1][4] or 1}
  end
end
return {r[1], out}
`;

/**
 * Deletes consumer ARGV[2] if it holds nothing, and any other consumer that holds nothing and was idle at least
 * ARGV[3] ms (left behind by a process that died). Deleting an empty consumer is harmless: it is recreated by its
 * next read. Returns how many were deleted; 0 when the group is gone.
 */
const DROP_CONSUMERS = `
local key, group, me, idle = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local consumers = redis.pcall('XINFO', 'CONSUMERS', key, group)
if consumers.err then return 0 end
local n = 0
for _, c in ipairs(consumers) do
  local name, pending, seen
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'pending' then pending = c[i + 1]
    elseif c[i] == 'idle' then seen = c[i + 1] end
  end
  if pending == 0 and (name == me or seen >= idle) then
    redis.call('XGROUP', 'DELCONSUMER', key, group, name)
    n = n + 1
  end
end
return n
`;

/** Destroys every group whose name starts with ARGV[1] (deleteTopic with keepTopicOnDelete). */
const DESTROY_GROUPS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = 0
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name = g[2]
  if string.sub(name, 1, #ARGV[1]) == ARGV[1] then
    redis.call('XGROUP', 'DESTROY', KEYS[1], name)
    n = n + 1
  end
end
return n
`;

/** ioredis has these at runtime (every command gets a `*Buffer` twin) but its typings leave them out. */
interface BufferReplies {
  evalshaBuffer(sha: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
  evalBuffer(source: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
}

export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script on `key` with string replies. */
  run(client: Redis, key: string, args: readonly (string | Buffer | number)[]): Promise<unknown> {
    return client.evalsha(this.#sha, 1, key, ...args).catch((err: unknown) => {
      if (replyCode(err) !== 'NOSCRIPT') throw err;
      return client.eval(this.#source, 1, key, ...args);
    });
  }

  /** Runs the script on `key` with binary-safe (Buffer) replies. */
  runBuffer(client: Redis, key: string, args: readonly (string | number)[]): Promise<unknown> {
    const buffers = client as unknown as BufferReplies;
    return buffers.evalshaBuffer(this.#sha, 1, key, ...args).catch((err: unknown) => {
      if (replyCode(err) !== 'NOSCRIPT') throw err;
      return buffers.evalBuffer(this.#source, 1, key, ...args);
    });
  }
}

export const scripts = {
  ensureStream: new LuaScript(ENSURE_STREAM),
  lag: new LuaScript(LAG),
  replay: new LuaScript(REPLAY),
  claimOwn: new LuaScript(CLAIM_OWN),
  autoclaim: new LuaScript(AUTOCLAIM),
  dropConsumers: new LuaScript(DROP_CONSUMERS),
  destroyGroups: new LuaScript(DESTROY_GROUPS),
};
