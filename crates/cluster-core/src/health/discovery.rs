//! Which replicas a master reports in its `INFO replication`.

/// `(host, port)` of every replica that `INFO replication` reports online. Understands the
/// modern `slave0:ip=10.0.0.2,port=6380,state=online,offset=…,lag=0` lines and the pre-2.8
/// `slave0:10.0.0.2,6380,online` form.
pub fn online_replicas(info: &str) -> Vec<(String, u16)> {
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.trim().split_once(':')?;
            let n = name.strip_prefix("slave")?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if fields.contains('=') {
                let field = |key: &str| {
                    fields
                        .split(',')
                        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                };
                let state = field("state")?;
                (state == "online")
                    .then_some((field("ip")?.to_owned(), field("port")?.parse().ok()?))
            } else {
                let mut parts = fields.split(',');
                let (ip, port, state) = (parts.next()?, parts.next()?, parts.next()?);
                (state == "online").then_some((ip.to_owned(), port.parse().ok()?))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::online_replicas;

    #[test]
    fn parses_modern_and_old_info_replication() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:3\r\n\
            slave0:ip=127.0.0.1,port=7003,state=online,offset=42,lag=0\r\n\
            slave1:ip=::1,port=7004,state=wait_bgsave,offset=0,lag=0\r\n\
            slave2:10.0.0.9,6380,online\r\nmaster_replid:abc\r\n";
        assert_eq!(
            online_replicas(info),
            vec![
                ("127.0.0.1".to_owned(), 7003),
                ("10.0.0.9".to_owned(), 6380)
            ]
        );
        assert!(online_replicas("role:slave\r\nmaster_host:127.0.0.1\r\n").is_empty());
    }
}
