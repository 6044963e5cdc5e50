//! Connection settings kept for the whole client: SELECT, CLIENT SETNAME / GETNAME,
//! CLIENT NO-EVICT, RESET, QUIT. Every pooled connection, on every master, takes the setting
//! before its next command; a value a server refuses changes nothing.

mod support;

use cluster_core::{ClusterError, Value};
use support::{cluster_of, slot, start_masters};

fn client_names(servers: &[support::RedisServer]) -> Vec<String> {
    servers
        .iter()
        .flat_map(|s| {
            let list: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query(&mut s.connect())
                .unwrap();
            list.lines()
                .filter_map(|line| {
                    line.split(' ')
                        .find_map(|f| f.strip_prefix("name="))
                        .map(str::to_owned)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn select_moves_every_connection_of_the_client_and_a_refused_db_changes_nothing() {
    let servers = start_masters(slot::SESSION, 3);
    let cluster = cluster_of(&servers);
    // Connections exist on every master before the switch: they must follow it.
    for i in 0..30 {
        cluster.execute(&["SET", &format!("k{i}"), "db0"]).unwrap();
    }
    assert_eq!(cluster.execute(&["SELECT", "4"]).unwrap(), Value::Okay);
    for i in 0..30 {
        cluster.execute(&["SET", &format!("k{i}"), "db4"]).unwrap();
    }
    // Every key written twice: once in db 0, once in db 4, on its own master.
    for server in &servers {
        let mut direct = server.connect();
        let in_db0: i64 = redis::cmd("DBSIZE").query(&mut direct).unwrap();
        redis::cmd("SELECT")
            .arg(4)
            .query::<()>(&mut direct)
            .unwrap();
        let in_db4: i64 = redis::cmd("DBSIZE").query(&mut direct).unwrap();
        assert_eq!(in_db0, in_db4, "port {}", server.port);
        assert!(in_db0 > 0);
    }
    assert_eq!(
        cluster.execute(&["DBSIZE"]).unwrap(),
        Value::Int(30),
        "DBSIZE counts db 4"
    );
    // A db the servers do not have: the servers' error, and the client stays in db 4.
    let err = cluster.execute(&["SELECT", "99"]).unwrap_err();
    assert!(matches!(err, ClusterError::Server { .. }), "{err:?}");
    assert!(err.to_string().contains("out of range"), "{err}");
    assert_eq!(
        cluster.execute(&["GET", "k1"]).unwrap(),
        Value::BulkString(b"db4".to_vec())
    );
    let err = cluster.execute(&["SELECT", "two"]).unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
    // The client a forked child builds again keeps the settings (db 4) on new connections.
    let reopened = cluster.reopened().unwrap();
    assert_eq!(
        reopened.execute(&["GET", "k1"]).unwrap(),
        Value::BulkString(b"db4".to_vec())
    );
    let client_id = |c: &cluster_core::Cluster| c.execute_on("node_1", &["CLIENT", "ID"]).unwrap();
    assert_ne!(client_id(&reopened), client_id(&cluster));
    drop(reopened);
    // RESET: back to the configured db (0), connections closed.
    assert_eq!(
        cluster.execute(&["RESET"]).unwrap(),
        Value::SimpleString("RESET".to_owned())
    );
    assert_eq!(
        cluster.execute(&["GET", "k1"]).unwrap(),
        Value::BulkString(b"db0".to_vec())
    );
}

#[test]
fn client_name_is_carried_by_every_connection_and_cleared_by_reset() {
    let servers = start_masters(slot::SESSION + 3, 1);
    let cluster = cluster_of(&servers);
    assert_eq!(cluster.execute(&["CLIENT", "GETNAME"]).unwrap(), Value::Nil);
    cluster.execute(&["PING"]).unwrap();
    assert_eq!(
        cluster.execute(&["CLIENT", "SETNAME", "worker-7"]).unwrap(),
        Value::Okay
    );
    assert_eq!(
        cluster.execute(&["CLIENT", "GETNAME"]).unwrap(),
        Value::BulkString(b"worker-7".to_vec())
    );
    // Several connections at once (threads): each one is named before it is used.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..50 {
                    cluster.execute(&["INCR", "n"]).unwrap();
                }
            });
        }
    });
    let names = client_names(&servers);
    assert!(
        names.iter().filter(|n| *n == "worker-7").count() >= 1,
        "{names:?}"
    );
    assert!(
        names.iter().all(|n| n.is_empty() || n == "worker-7"),
        "{names:?}"
    );
    // A name Redis refuses: its error, the old name stays.
    let err = cluster
        .execute(&["CLIENT", "SETNAME", "two words"])
        .unwrap_err();
    assert!(err.to_string().contains("cannot contain spaces"), "{err}");
    assert_eq!(
        cluster.execute(&["CLIENT", "GETNAME"]).unwrap(),
        Value::BulkString(b"worker-7".to_vec())
    );
    assert_eq!(
        cluster.execute(&["CLIENT", "NO-EVICT", "on"]).unwrap(),
        Value::Okay
    );
    let info = cluster.execute(&["CLIENT", "INFO"]).unwrap();
    let Value::BulkString(info) = info else {
        panic!("CLIENT INFO is text")
    };
    let info = String::from_utf8(info).unwrap();
    assert!(
        info.contains("name=worker-7") && info.contains("flags=e"),
        "{info}"
    );
    cluster.execute(&["RESET"]).unwrap();
    assert_eq!(cluster.execute(&["CLIENT", "GETNAME"]).unwrap(), Value::Nil);
    // QUIT closes the idle connections; the next command reconnects.
    assert_eq!(cluster.execute(&["QUIT"]).unwrap(), Value::Okay);
    assert_eq!(
        cluster.execute(&["PING"]).unwrap(),
        Value::SimpleString("PONG".to_owned())
    );
    assert!(client_names(&servers).iter().all(String::is_empty));
}

#[test]
fn auth_switches_every_connection_and_a_refused_password_changes_nothing() {
    let servers = start_masters(slot::SESSION + 4, 2);
    let cluster = cluster_of(&servers);
    // No password on the servers yet: AUTH is refused, nothing changes.
    let err = cluster.execute(&["AUTH", "secret-1"]).unwrap_err();
    assert!(
        err.to_string().contains("without any password configured"),
        "{err}"
    );
    assert!(
        !format!("{err:?}").contains("secret-1"),
        "no password in errors"
    );
    for server in &servers {
        redis::cmd("ACL")
            .arg(&["SETUSER", "app", "on", ">pw-app", "~*", "+@all"])
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let err = cluster.execute(&["AUTH", "app", "wrong"]).unwrap_err();
    assert!(err.to_string().starts_with("WRONGPASS"), "{err}");
    assert_eq!(
        cluster.execute(&["AUTH", "app", "pw-app"]).unwrap(),
        Value::Okay
    );
    // Every connection, new ones included (threads), runs as `app`.
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for i in 0..20 {
                    let who = cluster.execute(&["ACL", "WHOAMI"]).unwrap();
                    assert_eq!(who, Value::BulkString(b"app".to_vec()));
                    cluster.execute(&["SET", &format!("k{i}"), "v"]).unwrap();
                }
            });
        }
    });
    let users = servers.iter().map(|s| {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(&mut s.connect())
            .unwrap();
        list.lines().filter(|l| l.contains("user=app")).count()
    });
    assert!(users.clone().all(|n| n >= 1), "every master sees `app`");
    // Connections busy in other threads during RESET come back as `default` too.
    let busy = std::thread::scope(|scope| {
        let blocked = scope.spawn(|| cluster.execute(&["BLPOP", "never", "0.3"]));
        std::thread::sleep(std::time::Duration::from_millis(100));
        cluster.execute(&["RESET"]).unwrap();
        blocked.join().unwrap()
    });
    assert_eq!(busy.unwrap(), Value::Nil);
    for _ in 0..10 {
        assert_eq!(
            cluster.execute(&["ACL", "WHOAMI"]).unwrap(),
            Value::BulkString(b"default".to_vec())
        );
    }
}
