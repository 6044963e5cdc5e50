//! The shape of one row of the command table: what a command is (flags), where its keys are
//! (Redis 7 key specs, the same vocabulary as `COMMAND INFO`) and how the cluster runs it
//! (strategy). Only types live here; the data is in `table.rs`.

/// Flags of a command. The first group mirrors Redis's own `COMMAND INFO` flags (a test checks
/// them against the snapshot the table is generated from); the last two are ours.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    pub const NONE: Flags = Flags(0);
    /// Redis `readonly`: may be answered by a replica.
    pub const READ: Flags = Flags(1 << 0);
    /// Redis `write`.
    pub const WRITE: Flags = Flags(1 << 1);
    /// Redis `admin`.
    pub const ADMIN: Flags = Flags(1 << 2);
    /// Redis `blocking`: may block the connection until data arrives.
    pub const BLOCKING: Flags = Flags(1 << 3);
    /// Redis `pubsub`.
    pub const PUBSUB: Flags = Flags(1 << 4);
    /// Redis `noscript`.
    pub const NOSCRIPT: Flags = Flags(1 << 5);
    /// Redis `movablekeys`: key positions depend on the arguments.
    pub const MOVABLE_KEYS: Flags = Flags(1 << 6);
    /// Ours, from Redis's `unknown` key spec: the command may read keys whose names come from
    /// the data (SORT's BY/GET patterns), which no client can route.
    pub const DATA_KEYS: Flags = Flags(1 << 7);
    /// Ours: the reply names the key it came from (`BLPOP` answers `[key, element]`). Sent
    /// with tags stripped, the server names the stored key; the caller gets the key as written.
    pub const NAMES_KEY: Flags = Flags(1 << 8);

    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(Flags, &str); 9] = [
            (Flags::READ, "READ"),
            (Flags::WRITE, "WRITE"),
            (Flags::ADMIN, "ADMIN"),
            (Flags::BLOCKING, "BLOCKING"),
            (Flags::PUBSUB, "PUBSUB"),
            (Flags::NOSCRIPT, "NOSCRIPT"),
            (Flags::MOVABLE_KEYS, "MOVABLE_KEYS"),
            (Flags::DATA_KEYS, "DATA_KEYS"),
            (Flags::NAMES_KEY, "NAMES_KEY"),
        ];
        let set: Vec<&str> = NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect();
        write!(f, "Flags({})", set.join(" | "))
    }
}

/// Where the search for a key spec's keys begins (Redis `begin_search`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeginSearch {
    /// The first key is at this argument index (the command name is index 0).
    Index(usize),
    /// The first key follows `keyword`, searched from `start_from` (negative: from the end,
    /// backwards), compared case-insensitively.
    Keyword {
        keyword: &'static str,
        start_from: i32,
    },
    /// SORT's `STORE destination`, found by walking SORT's grammar as Redis's own `sortGetKeys`
    /// does (Redis marks this spec `unknown`: the keyword may appear anywhere).
    SortStore,
}

/// How many keys follow the beginning (Redis `find_keys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindKeys {
    /// Keys from the beginning up to `last_key` (relative to the first key; negative counts from
    /// the end of the arguments), every `step`. With `limit > 1`, only `1/limit` of the remaining
    /// arguments are keys (XREAD's `STREAMS k1 k2 id1 id2`).
    Range {
        last_key: i32,
        step: usize,
        limit: usize,
    },
    /// The argument at `first + key_num_index` holds the number of keys, which start at
    /// `first + first_key`, every `step` (EVAL, ZUNIONSTORE, LMPOP, ...).
    KeyNum {
        key_num_index: usize,
        first_key: usize,
        step: usize,
    },
}

/// One Redis 7 key spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub begin: BeginSearch,
    pub find: FindKeys,
    /// Redis's `incomplete` key-spec flag: the spec may miss keys (SORT's STORE, MIGRATE's KEYS).
    pub incomplete: bool,
}

/// How the replies of a command split by key (one sub-command per master) are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitMerge {
    /// Values put back in the caller's key order (MGET).
    KeyOrder,
    /// The integer replies added up (DEL, EXISTS, UNLINK, TOUCH).
    Sum,
    /// `OK` when every master said `OK` (MSET).
    AllOk,
}

/// How the replies of a server-wide command sent to every master are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanOutMerge {
    /// A map `node_k -> that node's reply` (INFO, CONFIG GET, ...).
    PerNode,
    /// The integer replies added up (DBSIZE).
    Sum,
    /// The array replies concatenated (KEYS).
    Concat,
    /// `OK` when every node said `OK` (FLUSHDB, CONFIG SET, ...), else the first error.
    AllOk,
    /// A script that declares no key, run on every master (`keyless_scripts:
    /// "every_master"`): integers added up, arrays concatenated, any other reply when every
    /// master gave the same one. An error reply from some masters after others ran it is a
    /// partial failure; from all of them, the first one.
    Combined,
    /// The reply every node agrees on (PING, SCRIPT LOAD's sha, FUNCTION LOAD's library name);
    /// nodes that disagree are an error.
    Same,
    /// One of the non-nil replies, picked at random (RANDOMKEY: a key of a non-empty node).
    Random,
    /// Text replies joined (CLIENT LIST: every master's clients, one line each).
    Lines,
    /// The smallest integer (LASTSAVE: the instant since which every master has saved).
    Min,
    /// Integers added up; else `OK` if any node said `OK`; an error only when every node
    /// answered one (CLIENT KILL: the client lives on one master, the others do not know it).
    AnyOk,
}

/// How the client composes a command whose keys live on several masters
/// ([`Strategy::Emulated`]). Each names the code in `emulate/` that runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulation {
    /// SUNION, SINTER, SDIFF: every source's members read, the result computed here.
    SetAlgebra(SetOp),
    /// SUNIONSTORE, SINTERSTORE, SDIFFSTORE: the same, replacing the destination (first key).
    SetAlgebraStore(SetOp),
    /// SINTERCARD numkeys key... [LIMIT n].
    SetInterCard,
    /// SMOVE source destination member.
    SetMove,
    /// ZUNION, ZINTER, ZDIFF numkeys key... [options].
    SortedSetAlgebra(SetOp),
    /// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE destination numkeys key... [options].
    SortedSetAlgebraStore(SetOp),
    /// ZINTERCARD numkeys key... [LIMIT n].
    SortedSetInterCard,
    /// RENAME (`only_if_new`: RENAMENX): DUMP on the source's master, RESTORE on the
    /// destination's, then the source deleted.
    Rename { only_if_new: bool },
    /// COPY source destination [DB db] [REPLACE].
    CopyKey,
    /// MSETNX: every key checked, then all set.
    MSetNx,
    /// PFCOUNT of several HyperLogLogs (their union's cardinality).
    HyperLogLogCount,
    /// PFMERGE destination source...
    HyperLogLogMerge,
    /// An element from one list to another: `ends` fixed (RPOPLPUSH: right to left) or, when
    /// `None`, read from the arguments after the keys (LMOVE LEFT RIGHT); `blocking` for the
    /// forms that wait (their timeout is the last argument).
    ListMove {
        ends: Option<(End, End)>,
        blocking: bool,
    },
    /// Pops from the first non-empty key: BLPOP, BRPOP, BZPOPMIN, BZPOPMAX, LMPOP, ZMPOP,
    /// BLMPOP, BZMPOP. `pop` is what each key gets on its own master; `timeout` where the
    /// blocking forms carry their timeout.
    PopFirst { pop: Pop, timeout: TimeoutAt },
    /// Reads keys and writes one destination, run on the destination's master with copies of
    /// the other keys: BITOP, ZRANGESTORE, GEOSEARCHSTORE (destination first), GEORADIUS and
    /// GEORADIUSBYMEMBER with STORE (destination last).
    OnDestination(Destination),
    /// SORT (`read_only`: SORT_RO) with BY/GET patterns or a STORE destination elsewhere.
    Sort { read_only: bool },
}

/// Set algebra: union, intersection, difference (of sets or sorted sets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Inter,
    Diff,
}

/// One end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

/// Which end of a sorted set: lowest or highest score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extreme {
    Min,
    Max,
}

/// What [`Emulation::PopFirst`] sends to each key's master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pop {
    /// LPOP / RPOP key: the reply is `[key, element]`.
    List(End),
    /// ZPOPMIN / ZPOPMAX key: the reply is `[key, member, score]`.
    SortedSet(Extreme),
    /// LMPOP 1 key LEFT|RIGHT [COUNT n]: the reply is `[key, [elements]]`.
    ListMany,
    /// ZMPOP 1 key MIN|MAX [COUNT n]: the reply is `[key, [[member, score], ...]]`.
    SortedSetMany,
}

/// Where a pop command carries its timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutAt {
    /// Not blocking (LMPOP, ZMPOP): one pass over the keys.
    Nowhere,
    /// The last argument (BLPOP k1 k2 timeout).
    Last,
    /// The first argument (BLMPOP timeout numkeys ...).
    First,
}

/// Which key of [`Emulation::OnDestination`] is the one written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    FirstKey,
    LastKey,
}

/// A connection setting kept for the whole client (see `node/session.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionCommand {
    /// AUTH [username] password.
    Auth,
    /// SELECT db.
    Select,
    /// CLIENT SETNAME name.
    SetName,
    /// CLIENT GETNAME: the name set, from the client itself.
    GetName,
    /// CLIENT NO-EVICT on|off.
    NoEvict,
    /// RESET: the settings back to the config's, idle connections closed.
    Reset,
    /// QUIT: idle connections closed; the client reconnects when used again.
    Quit,
}

/// How the cluster runs a command: the strategy table of the README's "Commands" section,
/// as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Every key must land on one node; the command goes there unchanged (but for tags). A
    /// command without keys goes to the default node (node_1).
    Single,
    /// Independent keys: one sub-command per node, merged (MGET, MSET, DEL, ...). When all keys
    /// share a node, sent as is.
    Split(SplitMerge),
    /// Composed by the client from per-node reads and writes when keys span nodes (SDIFF,
    /// RENAME, LMOVE, ...). When all keys share a node, sent as is (atomic).
    Emulated(Emulation),
    /// Server-wide: sent to every master, replies merged.
    FanOut(FanOutMerge),
    /// SCAN: the masters walked one after another, the cursor naming the master and its own
    /// cursor, so one walk visits every master once and ends with cursor 0.
    Walk,
    /// Pub/sub: routed by the channel name (argument 1, whole, no tag rule: a channel is not a
    /// stored key), where the cluster's subscribers to that channel listen. PUBLISH, SPUBLISH.
    Channel,
    /// A connection setting the client keeps for all its connections, on every node.
    Session(SessionCommand),
    /// Never executed through the cluster; the text says why and what to use instead.
    Refused(&'static str),
}

/// One command (or one subcommand of a container command such as CONFIG).
#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    /// Upper case; subcommands hold only their own word (`GET` under `CONFIG`).
    pub name: &'static str,
    /// Redis arity: `n > 0` exactly n arguments (name included), `n < 0` at least `-n`.
    pub arity: i32,
    pub flags: Flags,
    pub keys: &'static [KeySpec],
    pub strategy: Strategy,
    /// Sorted by name; empty for ordinary commands.
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// A script call: EVAL, EVALSHA, FCALL and their `_RO` forms (its keys are those it
    /// declares with `numkeys`).
    pub fn is_script(&self) -> bool {
        matches!(
            self.name,
            "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "FCALL" | "FCALL_RO"
        )
    }
    /// Redis `readonly`: a replica may answer it.
    pub fn is_read(&self) -> bool {
        self.flags.contains(Flags::READ)
    }
    /// Names the key it came from in its reply (see [`Flags::NAMES_KEY`]).
    pub fn names_key(&self) -> bool {
        self.flags.contains(Flags::NAMES_KEY)
    }
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }
}

// Short constructors so each table row stays on one line.

pub const fn index(i: usize) -> BeginSearch {
    BeginSearch::Index(i)
}

pub const fn keyword(keyword: &'static str, start_from: i32) -> BeginSearch {
    BeginSearch::Keyword {
        keyword,
        start_from,
    }
}

pub const fn sort_store() -> BeginSearch {
    BeginSearch::SortStore
}

pub const fn range(last_key: i32, step: usize, limit: usize) -> FindKeys {
    FindKeys::Range {
        last_key,
        step,
        limit,
    }
}

pub const fn keynum(key_num_index: usize, first_key: usize, step: usize) -> FindKeys {
    FindKeys::KeyNum {
        key_num_index,
        first_key,
        step,
    }
}

pub const fn ks(begin: BeginSearch, find: FindKeys) -> KeySpec {
    KeySpec {
        begin,
        find,
        incomplete: false,
    }
}

pub const fn ks_incomplete(begin: BeginSearch, find: FindKeys) -> KeySpec {
    KeySpec {
        begin,
        find,
        incomplete: true,
    }
}
