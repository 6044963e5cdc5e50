//! AUTH with a password and with an ACL user (for all nodes or per node), TLS with a CA and
//! client certificates; passwords never appear in errors or debug output.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use cluster_core::{Cluster, ClusterConfig, ClusterError};
use redis::Commands;

use crate::support::{RedisServer, key_on, port, slot, take_turns};

const PASSWORD: &str = "s3cret-Pa55";

fn build(config: serde_json::Value) -> Result<Cluster, ClusterError> {
    Cluster::new(ClusterConfig::from_value(&config)?)
}

fn node(server: &RedisServer) -> serde_json::Value {
    serde_json::json!({"host": "127.0.0.1", "port": server.port})
}

#[test]
fn password_for_all_nodes_acl_user_per_node_and_errors_without_secrets() {
    let _turn = take_turns();
    let plain = RedisServer::start_with(port(slot::SHARED), &["--requirepass", PASSWORD]);
    let acl = RedisServer::start(port(slot::SHARED + 1));
    let mut admin = acl.connect();
    for rule in [
        &["app", "on", ">apppass", "~*", "&*", "+@all"][..],
        &["default", "off"],
    ] {
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(rule)
            .query(&mut admin)
            .unwrap();
    }
    let config = serde_json::json!({
        "nodes": {
            "node_1": node(&plain),
            "node_2": {"host": "127.0.0.1", "port": acl.port, "username": "app", "password": "apppass"},
        },
        "password": PASSWORD,
    });
    let cluster = build(config.clone()).unwrap();
    let mut con = cluster.handle();
    for i in 0..40 {
        let key = format!("key{i}");
        let _: () = con.set(&key, i).unwrap();
        let back: i64 = con.get(&key).unwrap();
        assert_eq!(back, i);
    }
    assert!(!format!("{cluster:?}").contains(PASSWORD));
    assert!(!format!("{:?}", ClusterConfig::from_value(&config).unwrap()).contains(PASSWORD));

    // A wrong password: the server's refusal, naming the node, never the password.
    let mut wrong = config.clone();
    wrong["password"] = serde_json::json!("not-the-password");
    let cluster = build(wrong).expect("a wrong password is found when connecting");
    let on_node_1 = key_on(&cluster, "node_1");
    let err = cluster.execute(&["GET", on_node_1.as_str()]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("node_1") && text.contains("WRONGPASS"),
        "{text}"
    );
    assert!(
        !text.contains("not-the-password") && !text.contains(PASSWORD),
        "{text}"
    );
    assert!(!format!("{err:?}").contains("not-the-password"));
    // A refused login is not a dead node: no back-off, the next call asks again.
    let err = cluster.execute(&["GET", on_node_1.as_str()]).unwrap_err();
    assert!(err.to_string().contains("WRONGPASS"), "{err}");
}

/// The certificates from `tests/tls/make-certs.sh`, made once per test process. A
/// `OnceLock`, not "does the file exist": two TLS tests run at once, and one of them must
/// not read `client.crt` while the other's script is still writing it.
pub fn certs() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("rediscluster-rust-tls-{}", std::process::id()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/tls/make-certs.sh");
        let status = Command::new("bash").arg(script).arg(&dir).status().unwrap();
        assert!(
            status.success(),
            "make-certs.sh failed (is openssl installed?)"
        );
        dir
    })
    .clone()
}

/// A server on `at` that speaks TLS only and wants a client certificate and `PASSWORD`, with
/// `extra` options.
pub fn tls_server(dir: &std::path::Path, at: u16, extra: &[&str]) -> RedisServer {
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let tls_port = at.to_string();
    let (cert, key, ca) = (file("server.crt"), file("server.key"), file("ca.crt"));
    let mut args = vec![
        "--port",
        "0",
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "yes",
        "--requirepass",
        PASSWORD,
    ];
    args.extend_from_slice(extra);
    RedisServer::start_with(at, &args)
}

/// The client settings for `tls_server`.
pub fn tls_client_config(dir: &std::path::Path, server: &RedisServer) -> serde_json::Value {
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    serde_json::json!({
        "nodes": {"node_1": {"host": "127.0.0.1", "port": server.port}},
        "password": PASSWORD,
        "ssl": true,
        "ssl_ca_certs": file("ca.crt"),
        "ssl_certfile": file("client.crt"),
        "ssl_keyfile": file("client.key"),
        "socket_connect_timeout": 2,
    })
}

#[test]
fn tls_with_ca_and_client_certificate() {
    let _turn = take_turns();
    let dir = certs();
    let server = tls_server(&dir, port(slot::SHARED), &[]);
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let good = tls_client_config(&dir, &server);
    let cluster = build(good.clone()).unwrap();
    let mut con = cluster.handle();
    let _: () = con.set("over-tls", "yes").unwrap();
    let back: String = con.get("over-tls").unwrap();
    assert_eq!(back, "yes");
    let big = "x".repeat(1 << 20);
    let _: () = con.set("big", &big).unwrap();
    let back: String = con.get("big").unwrap();
    assert_eq!(
        back.len(),
        big.len(),
        "large values cross TLS records intact"
    );

    // Pub/sub over TLS: the reader thread and the caller share the session.
    let mut subscription = cluster.subscription();
    subscription.subscribe(&["news"]).unwrap();
    subscription.psubscribe(&["n*"]).unwrap();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while seen.len() < 4 && std::time::Instant::now() < deadline {
        if seen.len() == 2 {
            let _: i64 = con.publish("news", "hello").unwrap();
        }
        if let Some(message) = subscription
            .next_message(Some(std::time::Duration::from_millis(200)))
            .unwrap()
        {
            seen.push(message.kind.clone());
        }
    }
    assert_eq!(seen, ["subscribe", "psubscribe", "message", "pmessage"]);
    drop(subscription);

    // The same through a rediss:// URL.
    let url = format!(
        "rediss://:{PASSWORD}@127.0.0.1:{}?ssl_ca_certs={}&ssl_certfile={}&ssl_keyfile={}",
        server.port,
        file("ca.crt"),
        file("client.crt"),
        file("client.key")
    );
    let by_url = Cluster::from_urls(&[url]).unwrap();
    let back: String =
        redis::from_redis_value(by_url.execute(&["GET", "over-tls"]).unwrap()).unwrap();
    assert_eq!(back, "yes");

    let fails = |change: &dyn Fn(&mut serde_json::Value), expect: &str| {
        let mut config = good.clone();
        change(&mut config);
        let err = build(config)
            .unwrap()
            .execute(&["GET", "over-tls"])
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("node_1") && text.contains(expect),
            "{expect}: {text}"
        );
        assert!(!text.contains(PASSWORD));
    };
    // The server is not signed by the CA we trust.
    fails(&|c| c["ssl_ca_certs"] = file("other-ca.crt").into(), "TLS");
    // The certificate names 127.0.0.1, not localhost.
    fails(
        &|c| c["nodes"]["node_1"]["host"] = "localhost".into(),
        "TLS",
    );
    // The server requires a client certificate.
    fails(
        &|c| {
            c.as_object_mut().unwrap().remove("ssl_certfile");
            c.as_object_mut().unwrap().remove("ssl_keyfile");
        },
        "",
    );
    // Plain TCP to a TLS port is refused by the server.
    fails(&|c| c["ssl"] = false.into(), "node_1");

    // Relaxed checks work where asked for.
    let mut no_hostname = good.clone();
    no_hostname["nodes"]["node_1"]["host"] = "localhost".into();
    no_hostname["ssl_check_hostname"] = false.into();
    // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
    let ok = build(no_hostname).unwrap().execute(&["GET", "over-tls"]);
    assert!(ok.is_ok(), "{ok:?}");
    let mut unverified = good.clone();
    unverified["ssl_cert_reqs"] = "none".into();
    unverified["ssl_ca_certs"] = file("other-ca.crt").into();
    assert!(
        build(unverified)
            .unwrap()
            .execute(&["GET", "over-tls"])
            .is_ok()
    );
}

#[test]
fn bad_tls_settings_are_config_errors() {
    let dir = certs();
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let base =
        serde_json::json!({"nodes": {"node_1": {"host": "127.0.0.1", "port": 1}}, "ssl": true});
    let error = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut config = base.clone();
        change(&mut config);
        ClusterConfig::from_value(&config).unwrap_err().to_string()
    };
    let text = error(&|c| c["ssl_ca_certs"] = "/nonexistent/ca.pem".into());
    assert!(
        text.contains("ssl_ca_certs") && text.contains("/nonexistent/ca.pem"),
        "{text}"
    );
    let text = error(&|c| c["ssl_ca_certs"] = file("client.key").into());
    assert!(text.contains("ssl_ca_certs"), "{text}");
    let text = error(&|c| {
        c["ssl_ca_certs"] = file("ca.crt").into();
        c["ssl_keyfile"] = file("client.key").into();
    });
    assert!(text.contains("ssl_certfile"), "{text}");
    let text = error(&|c| c["ssl_cert_reqs"] = "sometimes".into());
    assert!(text.contains("ssl_cert_reqs"), "{text}");
    let text = error(&|c| c["ssl"] = "yes".into());
    assert!(text.contains("'ssl'"), "{text}");
}
