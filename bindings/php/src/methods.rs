//! phpredis methods that are one command with their arguments in order, and the shape
//! phpredis gives their reply. `__call` looks names up here (case-insensitively, as PHP
//! methods are); methods with their own argument shapes are written out in `client.rs`.

use crate::convert::Shape::{self, Bool, Float, Raw, Type};

/// `(phpredis method in lower case, Redis command, reply shape)`.
const METHODS: &[(&str, &str, Shape)] = &[
    // strings
    ("get", "GET", Raw),
    ("setex", "SETEX", Bool),
    ("psetex", "PSETEX", Bool),
    ("setnx", "SETNX", Bool),
    ("getset", "GETSET", Raw),
    ("getdel", "GETDEL", Raw),
    ("append", "APPEND", Raw),
    ("strlen", "STRLEN", Raw),
    ("getrange", "GETRANGE", Raw),
    ("setrange", "SETRANGE", Raw),
    ("incr", "INCR", Raw),
    ("incrby", "INCRBY", Raw),
    ("incrbyfloat", "INCRBYFLOAT", Float),
    ("decr", "DECR", Raw),
    ("decrby", "DECRBY", Raw),
    ("getbit", "GETBIT", Raw),
    ("setbit", "SETBIT", Raw),
    ("bitcount", "BITCOUNT", Raw),
    ("bitop", "BITOP", Raw),
    // keys and TTLs
    ("expire", "EXPIRE", Bool),
    ("pexpire", "PEXPIRE", Bool),
    ("expireat", "EXPIREAT", Bool),
    ("pexpireat", "PEXPIREAT", Bool),
    ("ttl", "TTL", Raw),
    ("pttl", "PTTL", Raw),
    ("persist", "PERSIST", Bool),
    ("type", "TYPE", Type),
    ("rename", "RENAME", Bool),
    ("renamekey", "RENAME", Bool),
    ("renamenx", "RENAMENX", Bool),
    ("copy", "COPY", Bool),
    ("touch", "TOUCH", Raw),
    ("dump", "DUMP", Raw),
    ("restore", "RESTORE", Bool),
    ("keys", "KEYS", Raw),
    ("getkeys", "KEYS", Raw),
    ("randomkey", "RANDOMKEY", Raw),
    ("dbsize", "DBSIZE", Raw),
    ("flushdb", "FLUSHDB", Bool),
    ("flushall", "FLUSHALL", Bool),
    ("ping", "PING", Raw),
    ("echo", "ECHO", Raw),
    ("time", "TIME", Raw),
    ("lastsave", "LASTSAVE", Raw),
    // hashes
    ("hset", "HSET", Raw),
    ("hsetnx", "HSETNX", Bool),
    ("hget", "HGET", Raw),
    ("hdel", "HDEL", Raw),
    ("hexists", "HEXISTS", Bool),
    ("hlen", "HLEN", Raw),
    ("hkeys", "HKEYS", Raw),
    ("hvals", "HVALS", Raw),
    ("hincrby", "HINCRBY", Raw),
    ("hincrbyfloat", "HINCRBYFLOAT", Float),
    ("hstrlen", "HSTRLEN", Raw),
    // lists
    ("lpush", "LPUSH", Raw),
    ("rpush", "RPUSH", Raw),
    ("lpushx", "LPUSHX", Raw),
    ("rpushx", "RPUSHX", Raw),
    ("lpop", "LPOP", Raw),
    ("rpop", "RPOP", Raw),
    ("llen", "LLEN", Raw),
    ("lsize", "LLEN", Raw),
    ("lrange", "LRANGE", Raw),
    ("lindex", "LINDEX", Raw),
    ("lget", "LINDEX", Raw),
    ("lset", "LSET", Bool),
    ("lrem", "LREM", Raw),
    ("ltrim", "LTRIM", Bool),
    ("linsert", "LINSERT", Raw),
    ("rpoplpush", "RPOPLPUSH", Raw),
    ("brpoplpush", "BRPOPLPUSH", Raw),
    ("lmove", "LMOVE", Raw),
    ("blpop", "BLPOP", Raw),
    ("brpop", "BRPOP", Raw),
    // sets
    ("sadd", "SADD", Raw),
    ("srem", "SREM", Raw),
    ("smembers", "SMEMBERS", Raw),
    ("sismember", "SISMEMBER", Bool),
    ("scard", "SCARD", Raw),
    ("spop", "SPOP", Raw),
    ("srandmember", "SRANDMEMBER", Raw),
    ("sunion", "SUNION", Raw),
    ("sinter", "SINTER", Raw),
    ("sdiff", "SDIFF", Raw),
    ("sunionstore", "SUNIONSTORE", Raw),
    ("sinterstore", "SINTERSTORE", Raw),
    ("sdiffstore", "SDIFFSTORE", Raw),
    ("smove", "SMOVE", Bool),
    // sorted sets
    ("zrem", "ZREM", Raw),
    ("zscore", "ZSCORE", Float),
    ("zincrby", "ZINCRBY", Float),
    ("zcard", "ZCARD", Raw),
    ("zcount", "ZCOUNT", Raw),
    ("zrank", "ZRANK", Raw),
    ("zrevrank", "ZREVRANK", Raw),
    ("zremrangebyrank", "ZREMRANGEBYRANK", Raw),
    ("zremrangebyscore", "ZREMRANGEBYSCORE", Raw),
    // HyperLogLog
    ("pfadd", "PFADD", Raw),
    ("pfcount", "PFCOUNT", Raw),
    ("pfmerge", "PFMERGE", Bool),
    // pub/sub, scripting
    ("publish", "PUBLISH", Raw),
    ("eval", "EVAL", Raw),
    ("evalsha", "EVALSHA", Raw),
];

/// The command and reply shape of a phpredis method, by name in any case.
pub fn generic_method(name: &str) -> Option<(&'static str, Shape)> {
    METHODS
        .iter()
        .find(|(method, _, _)| method.eq_ignore_ascii_case(name))
        .map(|(_, command, shape)| (*command, *shape))
}
