//! phpredis methods that are one command with their arguments in order: what each argument is
//! (a key gets `OPT_PREFIX`, a value goes through the serializer) and the shape phpredis gives
//! the reply. `__call` looks names up here (case-insensitively, as PHP methods are); methods
//! with their own argument forms are written out in `client.rs`.
//!
//! An argument pattern has one letter per PHP argument: `k` a key, `v` a value, `a` anything
//! else as text, `i` an integer (phpredis casts: `expireAt($k, '0000')` sends 0), `f` a float.
//! An upper-case letter takes every remaining argument but those the letters after it take
//! (`Kf`: keys, then a timeout): `K` keys and `A` text with arrays flattened (`del(['a',
//! 'b'])`), `V` values each as one value (an array value is serialized, as phpredis does),
//! `W` values with arrays flattened (`sAddArray`). Arguments PHP did not pass are not sent.

use crate::convert::Shape::{
    self, Bool, Float, KeyMemberScore, KeyValue, List, NodesAllOk, Raw, Scores, Type, Value, Values,
};

pub struct Method {
    pub command: &'static str,
    pub args: &'static str,
    pub shape: Shape,
}

const fn m(command: &'static str, args: &'static str, shape: Shape) -> Method {
    Method {
        command,
        args,
        shape,
    }
}

/// `(phpredis method in lower case, its command)`, sorted by name for the binary search.
const METHODS: &[(&str, Method)] = &[
    ("append", m("APPEND", "kv", Raw)),
    ("bgrewriteaof", m("BGREWRITEAOF", "", NodesAllOk)),
    ("bgsave", m("BGSAVE", "A", NodesAllOk)),
    ("bitcount", m("BITCOUNT", "kA", Raw)),
    ("bitop", m("BITOP", "aK", Raw)),
    ("bitpos", m("BITPOS", "kiA", Raw)),
    ("blmove", m("BLMOVE", "kkaaf", Value)),
    ("blpop", m("BLPOP", "Kf", KeyValue)),
    ("brpop", m("BRPOP", "Kf", KeyValue)),
    ("brpoplpush", m("BRPOPLPUSH", "kkf", Value)),
    ("bzpopmax", m("BZPOPMAX", "Kf", KeyMemberScore)),
    ("bzpopmin", m("BZPOPMIN", "Kf", KeyMemberScore)),
    ("command", m("COMMAND", "A", Raw)),
    ("copy", m("COPY", "kkA", Bool)),
    ("dbsize", m("DBSIZE", "", Raw)),
    ("debug", m("DEBUG", "ak", Raw)),
    ("decrby", m("DECRBY", "ki", Raw)),
    ("dump", m("DUMP", "k", Raw)),
    ("echo", m("ECHO", "a", Raw)),
    ("expire", m("EXPIRE", "kiA", Bool)),
    ("expireat", m("EXPIREAT", "kiA", Bool)),
    ("flushall", m("FLUSHALL", "A", Bool)),
    ("flushdb", m("FLUSHDB", "A", Bool)),
    ("getbit", m("GETBIT", "ki", Raw)),
    ("getdel", m("GETDEL", "k", Value)),
    ("getex", m("GETEX", "kA", Value)),
    ("getkeys", m("KEYS", "k", List)),
    ("getrange", m("GETRANGE", "kii", Raw)),
    ("getset", m("GETSET", "kv", Value)),
    ("hdel", m("HDEL", "kA", Raw)),
    ("hexists", m("HEXISTS", "ka", Bool)),
    ("hget", m("HGET", "ka", Value)),
    ("hincrby", m("HINCRBY", "kai", Raw)),
    ("hincrbyfloat", m("HINCRBYFLOAT", "kaf", Float)),
    ("hkeys", m("HKEYS", "k", List)),
    ("hlen", m("HLEN", "k", Raw)),
    ("hrandfield", m("HRANDFIELD", "kA", Raw)),
    ("hsetnx", m("HSETNX", "kav", Bool)),
    ("hstrlen", m("HSTRLEN", "ka", Raw)),
    ("hvals", m("HVALS", "k", Values)),
    ("incrby", m("INCRBY", "ki", Raw)),
    ("incrbyfloat", m("INCRBYFLOAT", "kf", Float)),
    ("keys", m("KEYS", "k", List)),
    ("lastsave", m("LASTSAVE", "", Raw)),
    ("lget", m("LINDEX", "ki", Value)),
    ("lgetrange", m("LRANGE", "kii", Values)),
    ("lindex", m("LINDEX", "ki", Value)),
    ("linsert", m("LINSERT", "kavv", Raw)),
    ("listtrim", m("LTRIM", "kii", Bool)),
    ("llen", m("LLEN", "k", Raw)),
    ("lmove", m("LMOVE", "kkaa", Value)),
    ("lpop", m("LPOP", "kA", Value)),
    ("lpos", m("LPOS", "kvA", Raw)),
    ("lpush", m("LPUSH", "kV", Raw)),
    ("lpushx", m("LPUSHX", "kV", Raw)),
    ("lrange", m("LRANGE", "kii", Values)),
    ("lset", m("LSET", "kiv", Bool)),
    ("lsize", m("LLEN", "k", Raw)),
    ("ltrim", m("LTRIM", "kii", Bool)),
    ("migrate", m("MIGRATE", "aakiiA", Raw)),
    ("move", m("MOVE", "ki", Bool)),
    ("persist", m("PERSIST", "k", Bool)),
    ("pexpire", m("PEXPIRE", "kiA", Bool)),
    ("pexpireat", m("PEXPIREAT", "kiA", Bool)),
    ("pfadd", m("PFADD", "kW", Raw)),
    ("pfcount", m("PFCOUNT", "K", Raw)),
    ("pfmerge", m("PFMERGE", "K", Bool)),
    ("psetex", m("PSETEX", "kiv", Bool)),
    ("pttl", m("PTTL", "k", Raw)),
    ("publish", m("PUBLISH", "ka", Raw)),
    ("randomkey", m("RANDOMKEY", "", Raw)),
    ("rename", m("RENAME", "kk", Bool)),
    ("renamekey", m("RENAME", "kk", Bool)),
    ("renamenx", m("RENAMENX", "kk", Bool)),
    ("replicaof", m("REPLICAOF", "aa", Bool)),
    ("restore", m("RESTORE", "kiaA", Bool)),
    ("role", m("ROLE", "", Raw)),
    ("rpop", m("RPOP", "kA", Value)),
    ("rpoplpush", m("RPOPLPUSH", "kk", Value)),
    ("rpush", m("RPUSH", "kV", Raw)),
    ("rpushx", m("RPUSHX", "kV", Raw)),
    ("sadd", m("SADD", "kV", Raw)),
    ("saddarray", m("SADD", "kW", Raw)),
    ("save", m("SAVE", "", Bool)),
    ("scard", m("SCARD", "k", Raw)),
    ("scontains", m("SISMEMBER", "kv", Bool)),
    ("sdiff", m("SDIFF", "K", Values)),
    ("sdiffstore", m("SDIFFSTORE", "K", Raw)),
    ("sendecho", m("ECHO", "a", Raw)),
    ("setex", m("SETEX", "kiv", Bool)),
    ("setnx", m("SETNX", "kv", Bool)),
    ("setrange", m("SETRANGE", "kia", Raw)),
    ("settimeout", m("EXPIRE", "ki", Bool)),
    ("sgetmembers", m("SMEMBERS", "k", Values)),
    ("sinter", m("SINTER", "K", Values)),
    ("sinterstore", m("SINTERSTORE", "K", Raw)),
    ("sismember", m("SISMEMBER", "kv", Bool)),
    ("slaveof", m("SLAVEOF", "aa", Bool)),
    ("smembers", m("SMEMBERS", "k", Values)),
    ("smismember", m("SMISMEMBER", "kV", List)),
    ("smove", m("SMOVE", "kkv", Bool)),
    ("spop", m("SPOP", "kA", Value)),
    ("srandmember", m("SRANDMEMBER", "kA", Value)),
    ("srem", m("SREM", "kV", Raw)),
    ("sremove", m("SREM", "kV", Raw)),
    ("ssize", m("SCARD", "k", Raw)),
    ("strlen", m("STRLEN", "k", Raw)),
    ("substr", m("GETRANGE", "kii", Raw)),
    ("sunion", m("SUNION", "K", Values)),
    ("sunionstore", m("SUNIONSTORE", "K", Raw)),
    ("swapdb", m("SWAPDB", "ii", Bool)),
    ("time", m("TIME", "", List)),
    ("touch", m("TOUCH", "K", Raw)),
    ("ttl", m("TTL", "k", Raw)),
    ("type", m("TYPE", "k", Type)),
    ("wait", m("WAIT", "ii", Raw)),
    ("xlen", m("XLEN", "k", Raw)),
    ("zcard", m("ZCARD", "k", Raw)),
    ("zcount", m("ZCOUNT", "kaa", Raw)),
    ("zdelete", m("ZREM", "kV", Raw)),
    ("zdeleterangebyrank", m("ZREMRANGEBYRANK", "kii", Raw)),
    ("zdeleterangebyscore", m("ZREMRANGEBYSCORE", "kaa", Raw)),
    ("zincrby", m("ZINCRBY", "kfv", Float)),
    ("zlexcount", m("ZLEXCOUNT", "kaa", Raw)),
    ("zmscore", m("ZMSCORE", "kV", List)),
    ("zpopmax", m("ZPOPMAX", "kA", Scores)),
    ("zpopmin", m("ZPOPMIN", "kA", Scores)),
    ("zrank", m("ZRANK", "kv", Raw)),
    ("zrem", m("ZREM", "kV", Raw)),
    ("zremove", m("ZREM", "kV", Raw)),
    ("zremoverangebyscore", m("ZREMRANGEBYSCORE", "kaa", Raw)),
    ("zremrangebylex", m("ZREMRANGEBYLEX", "kaa", Raw)),
    ("zremrangebyrank", m("ZREMRANGEBYRANK", "kii", Raw)),
    ("zremrangebyscore", m("ZREMRANGEBYSCORE", "kaa", Raw)),
    ("zrevrank", m("ZREVRANK", "kv", Raw)),
    ("zscore", m("ZSCORE", "kv", Float)),
    ("zsize", m("ZCARD", "k", Raw)),
];

/// The command of a phpredis method, by name in any case.
pub fn generic_method(name: &str) -> Option<&'static Method> {
    let mut lower = [0u8; 24];
    let bytes = name.as_bytes();
    if bytes.len() > lower.len() {
        return None;
    }
    let lower = &mut lower[..bytes.len()];
    lower.copy_from_slice(bytes);
    lower.make_ascii_lowercase();
    METHODS
        .binary_search_by(|(method, _)| method.as_bytes().cmp(lower))
        .ok()
        .map(|i| &METHODS[i].1)
}

// The table is searched by binary search: a table out of order would not compile.
const _: () = assert!(sorted(METHODS), "METHODS must be sorted by name");

const fn sorted(rows: &[(&str, Method)]) -> bool {
    let mut i = 1;
    while i < rows.len() {
        if !less(rows[i - 1].0.as_bytes(), rows[i].0.as_bytes()) {
            return false;
        }
        i += 1;
    }
    true
}

const fn less(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}
