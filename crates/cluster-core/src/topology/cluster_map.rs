//! Reading a Redis Cluster's map from one of its nodes: which master serves which slots, with
//! its replicas. `CLUSTER SHARDS` (Redis 7) first, `CLUSTER SLOTS` on older servers.

use redis::Value;

use crate::error::ClusterError;
use crate::node::pool::NodePool;
use crate::wire::request::pack_command;

/// One master of the map: its address, its replicas' and the slot ranges it serves
/// (inclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapShard {
    pub master: (String, u16),
    pub replicas: Vec<(String, u16)>,
    pub slots: Vec<(usize, usize)>,
}

/// The map as `node` sees it; masters that serve no slot are left out. An empty map (a node
/// that is not part of a cluster yet, or a cluster with no slot assigned) is an error.
pub fn read_map(node: &NodePool) -> Result<Vec<MapShard>, ClusterError> {
    let seed_host = node.config().host.clone();
    let tls = node.config().tls.is_some();
    let reply = ask(node, &[b"CLUSTER", b"SHARDS"])?;
    let map = match reply {
        Value::ServerError(e) if e.code() == "ERR" => {
            // Before Redis 7: no CLUSTER SHARDS.
            let reply = ask(node, &[b"CLUSTER", b"SLOTS"])?;
            from_slots(reply, &seed_host, node)?
        }
        reply => from_shards(reply, &seed_host, tls, node)?,
    };
    if map.is_empty() {
        return Err(not_a_map(node, "no slot is assigned to any master"));
    }
    Ok(map)
}

fn ask(node: &NodePool, args: &[&[u8]]) -> Result<Value, ClusterError> {
    let mut packed = Vec::new();
    pack_command(args, &[], &mut packed);
    node.query(&packed)
}

fn not_a_map(node: &NodePool, why: &str) -> ClusterError {
    ClusterError::Command(format!(
        "{} ({}) gave no usable Redis Cluster map: {why} (is it a node of a Redis Cluster, started with --cluster-enabled yes?)",
        node.name(),
        node.config().addr()
    ))
}

/// `CLUSTER SHARDS`: per shard, `slots` (flat start/end pairs) and `nodes` (each a map with
/// `ip`, `port` or `tls-port`, `endpoint`, `role`, `health`).
fn from_shards(
    reply: Value,
    seed_host: &str,
    tls: bool,
    node: &NodePool,
) -> Result<Vec<MapShard>, ClusterError> {
    let Value::Array(shards) = reply else {
        return Err(not_a_map(node, &server_text(&reply)));
    };
    let mut map = Vec::new();
    for shard in shards {
        let fields = pairs(shard);
        let slots: Vec<(usize, usize)> = field(&fields, "slots")
            .map(|v| ints(v).chunks_exact(2).map(|p| (p[0], p[1])).collect())
            .unwrap_or_default();
        let mut master = None;
        let mut replicas = Vec::new();
        for member in field(&fields, "nodes").map(list).unwrap_or_default() {
            let member = pairs(member.clone());
            let text = |name: &str| field(&member, name).map(string).unwrap_or_default();
            let port = field(&member, if tls { "tls-port" } else { "port" })
                .and_then(int)
                .and_then(|p| u16::try_from(p).ok());
            let Some(port) = port else { continue };
            let host = [text("endpoint"), text("ip")]
                .into_iter()
                .find(|h| !h.is_empty() && h != "?")
                .unwrap_or_else(|| seed_host.to_owned());
            // A replica still loading is listed: the health checks decide when it serves reads.
            match (text("role").as_str(), text("health").as_str()) {
                ("master", _) => master = Some((host, port)),
                (_, "online" | "loading") => replicas.push((host, port)),
                _ => {}
            }
        }
        if let Some(master) = master
            && !slots.is_empty()
        {
            map.push(MapShard {
                master,
                replicas,
                slots,
            });
        }
    }
    Ok(map)
}

/// `CLUSTER SLOTS`: per range, start, end, then the master and its replicas (each
/// `[ip, port, id, ...]`); one master may serve several ranges.
fn from_slots(
    reply: Value,
    seed_host: &str,
    node: &NodePool,
) -> Result<Vec<MapShard>, ClusterError> {
    let Value::Array(ranges) = reply else {
        return Err(not_a_map(node, &server_text(&reply)));
    };
    let mut map: Vec<MapShard> = Vec::new();
    for range in ranges {
        let parts = list(&range);
        let (Some(start), Some(end)) = (parts.first().and_then(int), parts.get(1).and_then(int))
        else {
            continue;
        };
        let address = |member: &Value| {
            let member = list(member);
            let host = member.first().map(string).unwrap_or_default();
            let host = if host.is_empty() || host == "?" {
                seed_host.to_owned()
            } else {
                host
            };
            let port = member.get(1).and_then(int)?;
            Some((host, u16::try_from(port).ok()?))
        };
        let Some(master) = parts.get(2).and_then(address) else {
            continue;
        };
        let replicas: Vec<_> = parts.iter().skip(3).filter_map(address).collect();
        match map.iter_mut().find(|s| s.master == master) {
            Some(shard) => shard.slots.push((start, end)),
            None => map.push(MapShard {
                master,
                replicas,
                slots: vec![(start, end)],
            }),
        }
    }
    Ok(map)
}

/// A map reply's pairs, from a RESP3 map or a RESP2 flat array.
fn pairs(value: Value) -> Vec<(String, Value)> {
    match value {
        Value::Map(entries) => entries.into_iter().map(|(k, v)| (string(&k), v)).collect(),
        Value::Array(flat) => flat
            .chunks_exact(2)
            .map(|kv| (string(&kv[0]), kv[1].clone()))
            .collect(),
        _ => Vec::new(),
    }
}

fn field<'a>(pairs: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items.clone(),
        _ => Vec::new(),
    }
}

fn ints(value: &Value) -> Vec<usize> {
    list(value).iter().filter_map(int).collect()
}

fn int(value: &Value) -> Option<usize> {
    match value {
        Value::Int(i) => usize::try_from(*i).ok(),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        _ => None,
    }
}

fn string(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(text) => text.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        _ => String::new(),
    }
}

fn server_text(reply: &Value) -> String {
    match reply {
        Value::ServerError(e) => {
            format!("it answered '{} {}'", e.code(), e.details().unwrap_or(""))
        }
        other => format!("it answered {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    fn pool() -> NodePool {
        let config = crate::config::NodeConfig::new("seed", "10.0.0.9", 7000);
        NodePool::new(config, Default::default())
    }

    #[test]
    fn shards_give_masters_replicas_and_ranges() {
        let member = |port: i64, role: &str, health: &str, endpoint: &str| {
            Value::Array(vec![
                bulk("ip"),
                bulk("10.0.0.1"),
                bulk("port"),
                Value::Int(port),
                bulk("endpoint"),
                bulk(endpoint),
                bulk("role"),
                bulk(role),
                bulk("health"),
                bulk(health),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk("slots"),
                Value::Array(vec![
                    Value::Int(0),
                    Value::Int(99),
                    Value::Int(200),
                    Value::Int(300),
                ]),
                bulk("nodes"),
                Value::Array(vec![
                    member(7000, "master", "online", "10.0.0.1"),
                    member(7003, "replica", "online", ""),
                    member(7004, "replica", "fail", "10.0.0.1"),
                ]),
            ]),
            // A master with no slots (just added) is not part of the map.
            Value::Array(vec![
                bulk("slots"),
                Value::Array(vec![]),
                bulk("nodes"),
                Value::Array(vec![member(7009, "master", "online", "10.0.0.1")]),
            ]),
        ]);
        let map = from_shards(reply, "10.0.0.9", false, &pool()).unwrap();
        assert_eq!(
            map,
            vec![MapShard {
                master: ("10.0.0.1".into(), 7000),
                replicas: vec![("10.0.0.1".into(), 7003)],
                slots: vec![(0, 99), (200, 300)],
            }]
        );
    }

    #[test]
    fn slots_group_ranges_by_master_and_fill_unknown_hosts() {
        let node =
            |host: &str, port: i64| Value::Array(vec![bulk(host), Value::Int(port), bulk("id")]);
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5),
                node("", 7000),
                node("h", 7003),
            ]),
            Value::Array(vec![Value::Int(6), Value::Int(9), node("h", 7001)]),
            Value::Array(vec![Value::Int(10), Value::Int(12), node("", 7000)]),
        ]);
        let map = from_slots(reply, "10.0.0.9", &pool()).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map[0].master, ("10.0.0.9".into(), 7000));
        assert_eq!(map[0].slots, vec![(0, 5), (10, 12)]);
        assert_eq!(map[0].replicas, vec![("h".into(), 7003)]);
    }
}
