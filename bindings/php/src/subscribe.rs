//! phpredis's `subscribe($channels, $callback)` / `psubscribe($patterns, $callback)`: the call
//! blocks, handing every message to `$callback($redis, $channel, $message)` (`psubscribe`:
//! `$callback($redis, $pattern, $channel, $message)`), until the callback has unsubscribed
//! from everything (`$redis->unsubscribe(...)` / `punsubscribe(...)` inside it). Channels live
//! on their masters (the engine's `Subscription`: one connection per master that has some).
//!
//! While the loop runs, the subscription is kept in the client, not on this function's stack:
//! the callback calls back into the client (`unsubscribe`), and no Rust borrow of the client is
//! held across that call.

use std::time::Duration;

use cluster_core::{ClusterError, PubSubMessage, Subscription, Value};
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::types::{ZendCallable, ZendHashTable, Zval};

use crate::args::list_or_one;
use crate::client::{RedisCluster, This};
use crate::convert::{arg, array_zval, insert_keyed};
use crate::errors::{exception, invalid};
use crate::options::Options;

/// `SUBSCRIBE` or `PSUBSCRIBE`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channels,
    Patterns,
}

impl RedisCluster {
    /// The loop of `subscribe()` / `psubscribe()`.
    pub(crate) fn subscribe_loop(
        self_: &mut This,
        kind: Kind,
        names: &Zval,
        callback: &Zval,
    ) -> Result<Zval, PhpException> {
        let names = prefixed(&Self::this(self_)?.options, names)?;
        if names.is_empty() {
            return Err(invalid("subscribe: give at least one channel"));
        }
        let callable = ZendCallable::new(callback)
            .map_err(|_| invalid("subscribe: the callback is not callable"))?;
        let timeout = {
            let client = Self::this(self_)?;
            if client.subscription.is_some() {
                return Err(invalid("subscribe: already in a subscribe() callback"));
            }
            let mut subscription = client.cluster.subscription();
            let subscribed = match kind {
                Kind::Channels => subscription.subscribe(&names),
                Kind::Patterns => subscription.psubscribe(&names),
            };
            subscribed.map_err(exception)?;
            client.subscription = Some(subscription);
            read_timeout(&client.options)
        };
        // The callback's `$redis`, made from `self_`: the callback reaches the client through
        // a pointer derived from ours, which the compiler must then assume the call may change,
        // so every read of the client after the call is a fresh one.
        let this_zval = self_.into_zval(false).map_err(|e| invalid(e.to_string()))?;
        loop {
            // Take the next message with the subscription borrowed only for that.
            let next = {
                let client = Self::this(self_)?;
                let Some(subscription) = client.subscription.as_mut() else {
                    break;
                };
                if nothing_left(subscription) {
                    break;
                }
                subscription.next_message(timeout)
            };
            let message = match next {
                Ok(Some(message)) => message,
                Ok(None) => {
                    Self::this(self_)?.subscription = None;
                    return Err(exception(ClusterError::Command(
                        "read error on connection: no message within the read timeout".to_owned(),
                    )));
                }
                Err(error) => {
                    Self::this(self_)?.subscription = None;
                    return Err(exception(error));
                }
            };
            let Some(params) = callback_params(&message) else {
                continue; // a (un)subscribe confirmation
            };
            let mut args: Vec<&dyn ext_php_rs::convert::IntoZvalDyn> = vec![&this_zval];
            args.extend(
                params
                    .iter()
                    .map(|p| p as &dyn ext_php_rs::convert::IntoZvalDyn),
            );
            // The callback may call unsubscribe() on this client: no borrow is held here.
            let called = callable.try_call(args);
            if ext_php_rs::zend::ExecutorGlobals::has_exception() {
                // The callback threw: the loop ends and the exception goes on to the caller.
                Self::this(self_)?.subscription = None;
                return Ok(Zval::new());
            }
            if let Err(error) = called {
                Self::this(self_)?.subscription = None;
                return Err(invalid(format!("subscribe: the callback failed: {error}")));
            }
        }
        Self::this(self_)?.subscription = None;
        let mut done = Zval::new();
        done.set_bool(true);
        Ok(done)
    }

    /// `unsubscribe($channels)` / `punsubscribe($patterns)` inside a callback: `[name => true]`.
    pub(crate) fn unsubscribe_from(
        self_: &mut This,
        kind: Kind,
        names: Option<&Zval>,
    ) -> Result<Zval, PhpException> {
        let client = Self::this(self_)?;
        let options = &client.options;
        let Some(subscription) = client.subscription.as_mut() else {
            let mut no = Zval::new();
            no.set_bool(false);
            return Ok(no);
        };
        let names: Vec<Vec<u8>> = match names {
            Some(names) => prefixed(options, names)?,
            None => match kind {
                Kind::Channels => subscription.channels(),
                Kind::Patterns => subscription.patterns(),
            },
        };
        let done = match kind {
            Kind::Channels => subscription.unsubscribe(&names),
            Kind::Patterns => subscription.punsubscribe(&names),
        };
        done.map_err(exception)?;
        let mut out = ZendHashTable::new();
        for name in names {
            let mut yes = Zval::new();
            yes.set_bool(true);
            insert_keyed(&mut out, &name, yes)?;
        }
        Ok(array_zval(out))
    }
}

/// Channel names or patterns as phpredis sends them: with the client's `OPT_PREFIX`.
fn prefixed(options: &Options, names: &Zval) -> Result<Vec<Vec<u8>>, PhpException> {
    list_or_one(names)
        .into_iter()
        .map(|name| Ok(options.key(arg(name)?)))
        .collect()
}

fn nothing_left(subscription: &Subscription) -> bool {
    subscription.channels().is_empty()
        && subscription.patterns().is_empty()
        && subscription.shard_channels().is_empty()
}

/// phpredis's read timeout for a subscription: the client's, none when it is 0 or negative.
fn read_timeout(options: &Options) -> Option<Duration> {
    (options.read_timeout > 0.0).then(|| Duration::from_secs_f64(options.read_timeout))
}

/// The callback's arguments after `$redis`: `[$channel, $message]` or `[$pattern, $channel,
/// $message]`; `None` for what is not a message.
fn callback_params(message: &PubSubMessage) -> Option<Vec<Zval>> {
    let text = |bytes: &[u8]| {
        let mut zval = Zval::new();
        zval.set_binary(bytes.to_vec());
        zval
    };
    let payload = match &message.data {
        Value::BulkString(bytes) => text(bytes),
        Value::SimpleString(s) => text(s.as_bytes()),
        _ => Zval::new(),
    };
    match message.kind.as_str() {
        "message" | "smessage" => Some(vec![text(&message.channel), payload]),
        "pmessage" => Some(vec![
            text(message.pattern.as_deref().unwrap_or_default()),
            text(&message.channel),
            payload,
        ]),
        _ => None,
    }
}
