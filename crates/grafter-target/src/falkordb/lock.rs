//! The lease lock on a FalkorDB graph, and the fencing token every write carries.
//!
//! # Why Redis keys and not a node in the graph
//!
//! A lock node taken with `MERGE` is not atomic on FalkorDB 4.16: a query's plan is made
//! before it waits its turn to write, and a label unknown at planning makes the `MERGE`'s
//! scan empty, so two runs starting together on a new graph both created the lock node and
//! both loaded (seen: 331 of 500 races won twice). And `GRAPH.BULK`, which loads new labels,
//! cannot test anything before it writes. FalkorDB is a Redis module, so the lock is two
//! plain Redis keys beside the graph, changed only by Lua scripts of plain Redis commands
//! (atomic: Redis runs a script whole):
//!
//! - `{graph}:grafter:lock`, a hash: the holder (JSON, for people), its owner, its token and
//!   when its lease ends (the server's clock, milliseconds);
//! - `{graph}:grafter:fence`, a counter: the fencing token, one more at every acquisition
//!   and at every `lock break`.
//!
//! # Fencing
//!
//! Every write a lock holder sends (`GRAPH.QUERY` with its checkpoint, `GRAPH.BULK`, DDL,
//! snapshot copies) goes as `MULTI`, the command, `EXEC` on a connection that `WATCH`es the
//! fence key and has seen it hold this holder's token. If anyone took the lock over or broke
//! it since, the counter changed, `EXEC` runs nothing and the write is refused by the server
//! itself, in the same transaction as the batch and its checkpoint. After each `EXEC` the same
//! pipeline watches the key again and reads it, so the next write knows before it is sent:
//! one round trip a batch. (Lua cannot call FalkorDB's commands, which refuse scripts;
//! `MULTI` runs them whole on Redis's main thread.)

use grafter_model::LockHolder;
use redis::Value as RedisValue;

use super::connection::{Client, ClientError};
use crate::TargetError;

/// Takes the lock when it is free, expired, already this owner's, or held by `ARGV[4]` (a
/// holder known to be dead); a new token either way. Returns `{taken, token, previous holder}`.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = redis.call('HMGET', KEYS[1], 'owner', 'expires', 'holder')
local free = current[1] == false or current[1] == ARGV[2] or tonumber(current[2]) < now
  or (ARGV[4] ~= '' and current[1] == ARGV[4])
if not free then return {0, 0, current[3]} end
local token = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'owner', ARGV[2], 'expires', now + tonumber(ARGV[3]), 'token', token)
return {1, token, current[3]}
";

/// Extends the lease if the lock is still this owner's with this token. Returns `{renewed,
/// current holder}`.
const RENEW: &str = r"
local current = redis.call('HMGET', KEYS[1], 'owner', 'token', 'holder')
if current[1] == ARGV[1] and current[2] == ARGV[2] then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', KEYS[1], 'holder', ARGV[3], 'expires', now + tonumber(ARGV[4]))
  return {1, false}
end
return {0, current[3]}
";

/// Releases the lock if this owner has it.
const RELEASE: &str = r"
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
";

/// Removes the lock whoever holds it and moves the fence on, so that its holder's next write
/// is refused. Returns the holder it removed.
const BREAK: &str = r"
local holder = redis.call('HGET', KEYS[1], 'holder')
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return holder
";

/// The lock's keys for `graph` (a hash tag keeps them in the graph's slot on a cluster).
pub(crate) struct LockKeys {
    /// The hash describing the holder.
    pub lock: String,
    /// The fencing counter.
    pub fence: String,
}

impl LockKeys {
    pub(crate) fn of(graph: &str) -> LockKeys {
        LockKeys { lock: format!("{{{graph}}}:grafter:lock"), fence: format!("{{{graph}}}:grafter:fence") }
    }
}

/// Who holds a lock: the process that took it (host, pid and when).
pub(crate) fn owner(holder: &LockHolder) -> String {
    format!("{}/{}/{}", holder.host, holder.pid, holder.acquired_at)
}

/// The lease a holder asked for, in milliseconds (from when it was last renewed to when it
/// expires, as it wrote them).
fn lease_ms(holder: &LockHolder) -> i64 {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).map(|t| t.timestamp_millis());
    match (parse(&holder.renewed_at), parse(&holder.expires_at)) {
        (Ok(from), Ok(to)) if to > from => to - from,
        _ => 60_000,
    }
}

fn json(holder: &LockHolder) -> Result<String, ClientError> {
    serde_json::to_string(holder).map_err(|e| ClientError::Query(e.to_string()))
}

fn holder_from(value: &RedisValue) -> Result<Option<LockHolder>, ClientError> {
    match value {
        RedisValue::BulkString(bytes) => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| ClientError::Query(format!("the lock's holder cannot be read ({e})"))),
        RedisValue::SimpleString(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| ClientError::Query(format!("the lock's holder cannot be read ({e})"))),
        _ => Ok(None),
    }
}

fn integer(value: Option<&RedisValue>) -> i64 {
    match value {
        Some(RedisValue::Int(n)) => *n,
        _ => 0,
    }
}

/// What an acquisition found.
pub(crate) enum Acquired {
    /// Taken (writes are fenced from now on); the holder it replaced, if any.
    Taken { previous: Option<LockHolder> },
    /// Held by someone else.
    Refused(LockHolder),
}

impl Client {
    async fn script(&self, script: &str, keys: &LockKeys, args: &[String]) -> Result<RedisValue, ClientError> {
        let mut command = redis::cmd("EVAL");
        command.arg(script).arg(2).arg(&keys.lock).arg(&keys.fence);
        for arg in args {
            command.arg(arg);
        }
        self.command_with_retry(&command).await
    }

    /// Takes the lock for `holder` (see [`ACQUIRE`]); `dead_owner` names a holder known to be
    /// gone, whose lock may be taken over before its lease ends.
    pub(crate) async fn acquire_lock(
        &self,
        holder: &LockHolder,
        dead_owner: Option<&str>,
    ) -> Result<Acquired, ClientError> {
        let keys = LockKeys::of(self.graph());
        let args = [json(holder)?, owner(holder), lease_ms(holder).to_string(), dead_owner.unwrap_or("").to_owned()];
        let reply = self.script(ACQUIRE, &keys, &args).await?;
        let RedisValue::Array(parts) = reply else {
            return Err(ClientError::Query(format!("taking the lock answered {reply:?}")));
        };
        let previous = parts.get(2).map(holder_from).transpose()?.flatten();
        if integer(parts.first()) == 1 {
            let token = integer(parts.get(1));
            self.set_fence(keys.fence, token).await;
            Ok(Acquired::Taken { previous: previous.filter(|p| owner(p) != owner(holder)) })
        } else {
            let current =
                previous.ok_or_else(|| ClientError::Query("the lock is held by nobody yet was refused".into()))?;
            Ok(Acquired::Refused(current))
        }
    }

    /// Extends the lease; `Err(current holder)` if the lock is no longer this holder's.
    pub(crate) async fn renew_lock(&self, holder: &LockHolder) -> Result<Result<(), Option<LockHolder>>, ClientError> {
        let Some(token) = self.fence_token() else { return Ok(Err(None)) };
        let keys = LockKeys::of(self.graph());
        let args = [owner(holder), token.to_string(), json(holder)?, lease_ms(holder).to_string()];
        let reply = self.script(RENEW, &keys, &args).await?;
        let RedisValue::Array(parts) = reply else {
            return Err(ClientError::Query(format!("renewing the lock answered {reply:?}")));
        };
        if integer(parts.first()) == 1 {
            Ok(Ok(()))
        } else {
            Ok(Err(parts.get(1).map(holder_from).transpose()?.flatten()))
        }
    }

    /// Releases the lock if `holder` has it; writes are no longer fenced.
    pub(crate) async fn release_lock(&self, holder: &LockHolder) -> Result<(), ClientError> {
        let keys = LockKeys::of(self.graph());
        self.script(RELEASE, &keys, &[owner(holder)]).await?;
        self.clear_fence().await;
        Ok(())
    }

    /// The lock's holder, if any (expired or not).
    pub(crate) async fn lock_holder(&self) -> Result<Option<LockHolder>, ClientError> {
        let mut command = redis::cmd("HGET");
        command.arg(LockKeys::of(self.graph()).lock).arg("holder");
        holder_from(&self.command_with_retry(&command).await?)
    }

    /// Removes the lock whoever holds it, fencing its holder off; returns who held it.
    pub(crate) async fn break_lock(&self) -> Result<Option<LockHolder>, ClientError> {
        holder_from(&self.script(BREAK, &LockKeys::of(self.graph()), &[]).await?)
    }
}

/// A lock refused, as the target reports it.
pub(crate) fn locked(target: &str, holder: LockHolder) -> TargetError {
    TargetError::Locked { target: target.to_owned(), holder: Box::new(holder) }
}
