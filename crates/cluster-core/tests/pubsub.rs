//! Pub/sub across masters: PUBLISH goes to the channel's master, a subscription listens there,
//! patterns listen on every master, and the caller reads one merged stream.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use cluster_core::{PubSubMessage, Value};
use support::{cluster_of, slot, start_masters};

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn next(subscription: &mut cluster_core::Subscription) -> PubSubMessage {
    subscription
        .next_message(WAIT)
        .unwrap()
        .expect("a message within 5 s")
}

#[test]
fn channels_on_every_master_and_patterns_arrive_in_one_stream() {
    let servers = start_masters(slot::PUBSUB, 3);
    let cluster = cluster_of(&servers);
    // Channels that live on three different masters.
    let channels: Vec<String> = ["news", "books", "ch2", "weather", "chat", "wx"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    let homes: BTreeSet<usize> = channels
        .iter()
        .map(|c| cluster_core::router::channel_shard(c.as_bytes(), 3))
        .collect();
    assert_eq!(homes.len(), 3, "the channels spread over the masters");

    let mut subscription = cluster.subscription();
    subscription.subscribe(&channels).unwrap();
    let mut confirmed = BTreeSet::new();
    for i in 0..channels.len() {
        let message = next(&mut subscription);
        assert_eq!(message.kind, "subscribe");
        confirmed.insert(String::from_utf8(message.channel).unwrap());
        let _ = i;
    }
    assert_eq!(confirmed, channels.iter().cloned().collect());

    // PUBLISH through the cluster reaches the channel's master, and the subscriber.
    for channel in &channels {
        let receivers = cluster
            .execute(&["PUBLISH", channel.as_str(), &format!("hello {channel}")])
            .unwrap();
        assert_eq!(
            receivers,
            Value::Int(1),
            "{channel}: one subscriber, on the channel's master"
        );
    }
    let mut got = BTreeSet::new();
    for _ in 0..channels.len() {
        let message = next(&mut subscription);
        assert_eq!(message.kind, "message");
        let channel = String::from_utf8(message.channel).unwrap();
        assert_eq!(
            message.data,
            Value::BulkString(format!("hello {channel}").into_bytes())
        );
        got.insert(channel);
    }
    assert_eq!(got, confirmed);

    // A pattern listens on every master: one confirmation, messages from any master.
    subscription.psubscribe(&["w*"]).unwrap();
    let message = next(&mut subscription);
    assert_eq!(
        (message.kind.as_str(), message.data.clone()),
        ("psubscribe", Value::Int(7))
    );
    let _ = cluster.execute(&["PUBLISH", "weather", "rain"]).unwrap();
    let _ = cluster.execute(&["PUBLISH", "wind", "strong"]).unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let message = next(&mut subscription);
        seen.push((message.kind, String::from_utf8(message.channel).unwrap()));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("message".to_owned(), "weather".to_owned()),
            ("pmessage".to_owned(), "weather".to_owned()),
            ("pmessage".to_owned(), "wind".to_owned())
        ]
    );

    // Unsubscribing everything leaves a quiet stream.
    subscription.unsubscribe::<&str>(&[]).unwrap();
    subscription.punsubscribe::<&str>(&[]).unwrap();
    let mut last = None;
    while let Some(message) = subscription
        .next_message(Some(Duration::from_millis(300)))
        .unwrap()
    {
        assert!(message.kind.contains("unsubscribe"), "{message:?}");
        last = Some(message.data);
    }
    assert_eq!(last, Some(Value::Int(0)), "no subscription left");
    assert_eq!(
        cluster.execute(&["PUBLISH", "news", "nobody"]).unwrap(),
        Value::Int(0)
    );
    assert!(
        subscription
            .next_message(Some(Duration::from_millis(200)))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_subscription_logs_in_like_the_pools_and_never_shows_the_password() {
    let server = support::RedisServer::start_with(
        support::port(slot::PUBSUB + 3),
        &["--requirepass", "pub-secret"],
    );
    let config = |password: &str| serde_json::json!({"nodes": {"node_1": {"host": "127.0.0.1", "port": server.port, "password": password}}});
    let cluster = cluster_core::Cluster::new(
        cluster_core::ClusterConfig::from_value(&config("pub-secret")).unwrap(),
    )
    .unwrap();
    let mut subscription = cluster.subscription();
    subscription.subscribe(&["ch"]).unwrap();
    assert_eq!(next(&mut subscription).kind, "subscribe");
    assert_eq!(
        cluster.execute(&["PUBLISH", "ch", "x"]).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        next(&mut subscription).data,
        Value::BulkString(b"x".to_vec())
    );

    let wrong = cluster_core::Cluster::new(
        cluster_core::ClusterConfig::from_value(&config("nope-wrong")).unwrap(),
    )
    .unwrap();
    let err = wrong
        .subscription()
        .subscribe(&["ch"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("WRONGPASS") && !err.contains("nope-wrong"),
        "{err}"
    );
}

#[test]
fn a_waker_is_called_for_each_frame_and_the_message_is_then_ready() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let servers = start_masters(slot::PUBSUB_WAKER, 1);
    let cluster = cluster_of(&servers);
    let mut subscription = cluster.subscription();
    let woken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&woken);
    subscription.set_waker(Some(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })));
    subscription.subscribe(&["wake-me"]).unwrap();
    let wait_for_wakes = |count: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while woken.load(Ordering::SeqCst) < count {
            assert!(std::time::Instant::now() < deadline, "no wake-up");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    // The confirmation woke the caller, and is there without waiting.
    wait_for_wakes(1);
    let confirmed = subscription.next_message(Some(Duration::ZERO)).unwrap();
    assert_eq!(confirmed.map(|m| m.kind), Some("subscribe".to_owned()));
    cluster.execute(&["PUBLISH", "wake-me", "hi"]).unwrap();
    wait_for_wakes(2);
    let message = subscription.next_message(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        message.map(|m| m.data),
        Some(Value::BulkString(b"hi".to_vec()))
    );
    // Without a waker nothing is called any more.
    subscription.set_waker(None);
    cluster.execute(&["PUBLISH", "wake-me", "again"]).unwrap();
    assert!(next(&mut subscription).data == Value::BulkString(b"again".to_vec()));
    assert_eq!(woken.load(Ordering::SeqCst), 2);
}
