//! A caller's signal handler ends a wait (see `cluster_core::interrupt`): a blocking pop on
//! one master (the read interrupted by EINTR) and one emulated over several masters (its polls)
//! end with `ClusterError::Interrupted` when the caller's check asks, and go on when it does
//! not; over TLS too (rustls retries EINTR itself). The interrupted connection is closed, so its
//! late reply is never read as another's. A `Cancel` from another thread ends the same waits
//! (what an asyncio task's cancellation does), and nothing is popped for the cancelled call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cluster_core::interrupt;
use cluster_core::{Cluster, ClusterConfig, ClusterError, Value};

use super::security::{certs, tls_client_config, tls_server};
use crate::support::{cluster_of, key_on, port, slot, start_masters, take_turns};

/// Set by the SIGUSR1 handler; what the test's check reports.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// SIGUSR1 handled without SA_RESTART, as CPython installs its handlers: a blocked `recv`
/// fails with EINTR.
fn install_handler() {
    // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic
    // (async-signal-safe), and the struct outlives the call.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
}

fn ask_to_stop() -> bool {
    SIGNALLED.load(Ordering::SeqCst)
}

fn never_stop() -> bool {
    false
}

/// Runs `command` on another thread under `check`, sends that thread SIGUSR1 after 200 ms,
/// and returns the outcome with how long it took.
fn signalled_during(
    cluster: &Cluster,
    check: interrupt::Check,
    command: &[&str],
) -> (Result<Value, ClusterError>, Duration) {
    install_handler();
    SIGNALLED.store(false, Ordering::SeqCst);
    thread::scope(|scope| {
        let (ready, started) = mpsc::channel();
        let waiter = scope.spawn(move || {
            // SAFETY: pthread_self has no preconditions.
            ready.send(unsafe { libc::pthread_self() }).unwrap();
            let began = Instant::now();
            let result = interrupt::with_check(check, || cluster.execute(command));
            (result, began.elapsed())
        });
        let thread_id = started.recv().unwrap();
        thread::sleep(Duration::from_millis(200));
        // SAFETY: the thread is alive until joined below (it waits on the server meanwhile).
        assert_eq!(unsafe { libc::pthread_kill(thread_id, libc::SIGUSR1) }, 0);
        waiter.join().unwrap()
    })
}

/// Waits until the server has dropped the interrupted connection's BLPOP (it does so when it
/// sees the socket closed): an element pushed before that would go to the dead client.
fn wait_until_nobody_blocks(cluster: &Cluster, node: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = match cluster.execute_on(node, &["INFO", "clients"]).unwrap() {
            Value::BulkString(text) => String::from_utf8(text).unwrap(),
            other => panic!("{other:?}"),
        };
        if info.contains("blocked_clients:0") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{node} still has a blocked client"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_check_that_asks_ends_a_blocking_read_and_the_connection_is_not_reused() {
    let _turn = take_turns();
    let servers = start_masters(slot::SHARED, 3);
    let cluster = cluster_of(&servers);
    let key = key_on(&cluster, "node_2");

    let (result, took) = signalled_during(&cluster, ask_to_stop, &["BLPOP", &key, "0"]);
    assert!(
        matches!(&result, Err(ClusterError::Interrupted { node }) if node == "node_2"),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Had the interrupted connection gone back to the pool, its BLPOP would take this element
    // and the next BLPOP would wait.
    wait_until_nobody_blocks(&cluster, "node_2");
    cluster.execute(&["RPUSH", &key, "v"]).unwrap();
    let popped = cluster.execute(&["BLPOP", &key, "1"]).unwrap();
    assert_eq!(
        popped,
        Value::Array(vec![
            Value::BulkString(key.clone().into_bytes()),
            Value::BulkString(b"v".to_vec())
        ])
    );
}

#[test]
fn a_check_that_asks_ends_a_blocking_pop_emulated_over_several_masters() {
    let _turn = take_turns();
    let servers = start_masters(slot::SHARED, 3);
    let cluster = cluster_of(&servers);
    let (one, two) = (key_on(&cluster, "node_1"), key_on(&cluster, "node_3"));

    let (result, took) = signalled_during(&cluster, ask_to_stop, &["BLPOP", &one, &two, "0"]);
    assert!(
        matches!(result, Err(ClusterError::Interrupted { .. })),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_check_that_does_not_ask_lets_the_wait_go_on() {
    let _turn = take_turns();
    let servers = start_masters(slot::SHARED, 3);
    let cluster = cluster_of(&servers);
    let key = key_on(&cluster, "node_1");

    let (result, took) = signalled_during(&cluster, never_stop, &["BLPOP", &key, "1"]);
    assert_eq!(result.unwrap(), Value::Nil);
    assert!(SIGNALLED.load(Ordering::SeqCst), "the signal arrived");
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[test]
fn a_check_that_asks_ends_a_blocking_read_over_tls() {
    let _turn = take_turns();
    let dir = certs();
    let server = tls_server(&dir, port(slot::SHARED), &[]);
    let mut config = tls_client_config(&dir, &server);
    config["mastersonly"] = true.into();
    let cluster = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();

    let (result, took) = signalled_during(&cluster, ask_to_stop, &["BLPOP", "tls-list", "0"]);
    assert!(
        matches!(result, Err(ClusterError::Interrupted { .. })),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    wait_until_nobody_blocks(&cluster, "node_1");
    cluster.execute(&["RPUSH", "tls-list", "v"]).unwrap();
    assert_eq!(
        cluster.execute(&["LPOP", "tls-list"]).unwrap(),
        Value::BulkString(b"v".to_vec())
    );
}

/// Runs `command` on another thread under a cancel handle, cancels it after 200 ms from this
/// one, and returns the outcome with how long it took.
fn cancelled_during(
    cluster: &Cluster,
    command: &[&str],
) -> (Result<Value, ClusterError>, Duration) {
    let cancel = interrupt::Cancel::new();
    thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let began = Instant::now();
            let result = interrupt::with_cancel(&cancel, || cluster.execute(command));
            (result, began.elapsed())
        });
        thread::sleep(Duration::from_millis(200));
        cancel.cancel();
        waiter.join().unwrap()
    })
}

#[test]
fn a_cancel_ends_a_blocking_read_and_nothing_is_popped_for_it() {
    let _turn = take_turns();
    let servers = start_masters(slot::SHARED, 3);
    let cluster = cluster_of(&servers);
    let key = key_on(&cluster, "node_3");

    let (result, took) = cancelled_during(&cluster, &["BLPOP", &key, "0"]);
    assert!(
        matches!(&result, Err(ClusterError::Interrupted { node }) if node == "node_3"),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The server dropped the cancelled client: an element pushed now stays in the list.
    wait_until_nobody_blocks(&cluster, "node_3");
    cluster.execute(&["RPUSH", &key, "kept"]).unwrap();
    assert_eq!(
        cluster.execute(&["LRANGE", &key, "0", "-1"]).unwrap(),
        Value::Array(vec![Value::BulkString(b"kept".to_vec())])
    );
    cluster.execute(&["DEL", &key]).unwrap();
}

#[test]
fn a_cancel_ends_a_blocking_pop_emulated_over_several_masters() {
    let _turn = take_turns();
    let servers = start_masters(slot::SHARED, 3);
    let cluster = cluster_of(&servers);
    let (one, two) = (key_on(&cluster, "node_1"), key_on(&cluster, "node_2"));

    let (result, took) = cancelled_during(&cluster, &["BLPOP", &one, &two, "0"]);
    assert!(
        matches!(result, Err(ClusterError::Interrupted { .. })),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The client is usable at once, and its calls are no longer cancelled.
    assert_eq!(
        cluster.execute(&["LPUSH", &one, "x"]).unwrap(),
        Value::Int(1)
    );
    cluster.execute(&["DEL", &one]).unwrap();
}
