//! Running commands as phpredis does: one at a time (atomic mode), queued by `pipeline()` or
//! `multi()` until `exec()` — a pipeline may hold transactions (`pipeline()->multi()->...
//! ->exec()->exec()`) — and phpredis's error model: a server's error reply is `false`, the
//! message kept for `getLastError()`.

use cluster_core::{Cluster, ClusterError, Element, Elements, Value, Watch};
use ext_php_rs::exception::PhpException;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::convert::{Shape, array_zval, bool_zval, bytes_zval, push, reply_to, stored};
use crate::errors::{Failure, failure};
use crate::options::Options;

/// One queued command and the shape of its reply.
pub type Queued = (Vec<Vec<u8>>, Shape);

/// What `exec()` of a pipeline runs, in order.
pub enum Step {
    One(Queued),
    Transaction(Vec<Queued>),
}

/// Commands waiting for `exec()`.
pub struct Queue {
    /// `pipeline()` (or `multi(Redis::PIPELINE)`) started it: `exec()` sends everything.
    pub pipeline: bool,
    pub steps: Vec<Step>,
    /// The transaction being queued (`multi()`), if one is open.
    pub transaction: Option<Vec<Queued>>,
}

impl Queue {
    pub fn push(&mut self, command: Queued) {
        match self.transaction.as_mut() {
            Some(transaction) => transaction.push(command),
            None => self.steps.push(Step::One(command)),
        }
    }
}

/// MGET's answer (`Shape::Values`, values not serialized): the values gathered in one buffer
/// while the replies are read (`Cluster::execute_items`), then each made a PHP string: one
/// copy into the buffer and one into the string, no `Value` or `Vec` per value. The PHP strings
/// are made only once every connection is back: PHP's allocator may end the request (memory
/// limit) without returning, which must not happen while a connection is mid-reply. A reply
/// that took another path is shaped as usual.
pub fn plain_values<A: AsRef<[u8]>>(
    cluster: &Cluster,
    args: &[A],
    options: &Options,
    last_error: &mut Option<String>,
) -> Result<Zval, PhpException> {
    // MGET key...: one value per key.
    let count = args.len().saturating_sub(1);
    let mut elements = Elements::new(count);
    let result = cluster.execute_items(args, &mut |at, item| elements.put(at, item));
    match result {
        Ok(None) => {
            let mut table = ZendHashTable::with_capacity(count as u32);
            elements.each(|element| {
                let value = match element {
                    Element::Bytes(bytes) => bytes_zval(bytes),
                    // Nil (a missing key) is false; nothing else comes for MGET.
                    Element::Value(value) => stored(value, options)?,
                    Element::Missing => bool_zval(false),
                };
                push(&mut table, value)
            })?;
            Ok(array_zval(table))
        }
        Ok(Some(value)) => shaped(args, Ok(value), Shape::Values, options, last_error),
        Err(error) => shaped(args, Err(error), Shape::Values, options, last_error),
    }
}

/// The outcome of one command (alone, or one reply of a pipeline or a transaction): its value,
/// or phpredis's model for an error reply — `false`, or an exception for the codes phpredis
/// throws for and with `OPT_THROW_ERRORS` — the message kept for `getLastError()` either way.
pub fn shaped<A: AsRef<[u8]>>(
    args: &[A],
    result: Result<Value, ClusterError>,
    shape: Shape,
    options: &Options,
    last_error: &mut Option<String>,
) -> Result<Zval, PhpException> {
    let error = match result {
        Ok(Value::ServerError(error)) => ClusterError::Server {
            node: String::new(),
            error,
        },
        Ok(value) => return reply_to(args, value, shape, options),
        Err(error) => error,
    };
    if matches!(
        error,
        ClusterError::Server { .. } | ClusterError::Command(_)
    ) {
        *last_error = Some(error.to_string());
    }
    match failure(error, options.throw_errors) {
        Failure::Reply => Ok(false_zval()),
        Failure::Throw(exception) => Err(exception),
    }
}

pub fn false_zval() -> Zval {
    let mut zval = Zval::new();
    zval.set_bool(false);
    zval
}

/// Runs a pipeline's steps: runs of single commands as one engine pipeline (batched per
/// master), each transaction as MULTI/EXEC on its master; one reply per step, in order.
pub fn run_steps(
    cluster: &Cluster,
    steps: Vec<Step>,
    watch: &mut Option<Watch>,
    options: &Options,
    last_error: &mut Option<String>,
) -> Result<Zval, PhpException> {
    let mut out = ZendHashTable::with_capacity(steps.len() as u32);
    let mut batch: Vec<Queued> = Vec::new();
    for step in steps {
        match step {
            Step::One(command) => batch.push(command),
            Step::Transaction(commands) => {
                flush_batch(cluster, &mut batch, options, last_error, &mut out)?;
                // A `watch()` before the pipeline guards its first transaction, as on one
                // connection (the watch is gone after that transaction's EXEC).
                let replies =
                    run_transaction(cluster, watch.take(), commands, options, last_error)?;
                push(&mut out, replies)?;
            }
        }
    }
    flush_batch(cluster, &mut batch, options, last_error, &mut out)?;
    Ok(array_zval(out))
}

fn flush_batch(
    cluster: &Cluster,
    batch: &mut Vec<Queued>,
    options: &Options,
    last_error: &mut Option<String>,
    out: &mut ZendHashTable,
) -> Result<(), PhpException> {
    if batch.is_empty() {
        return Ok(());
    }
    let (commands, shapes): (Vec<Vec<Vec<u8>>>, Vec<Shape>) =
        std::mem::take(batch).into_iter().unzip();
    let results = match cluster.pipeline(&commands) {
        Ok(results) => results,
        Err(error) => return Err(crate::errors::exception(error)),
    };
    for ((result, shape), args) in results.into_iter().zip(shapes).zip(&commands) {
        // A node that failed is an exception, as in phpredis (its commands' fate is unknown);
        // an error reply is `false` in its place.
        let value = match result {
            ok @ Ok(_) => shaped(args, ok, shape, options, last_error)?,
            Err(error @ (ClusterError::Server { .. } | ClusterError::Command(_))) => {
                shaped(args, Err(error), shape, options, last_error)?
            }
            Err(error) => return Err(crate::errors::exception(error)),
        };
        push(out, value)?;
    }
    Ok(())
}

/// MULTI/EXEC of the queued commands on their one master — on the connection `watch` holds,
/// when there is one — the replies, `false` in place of a command the server refused;
/// `false` for the whole when EXEC was aborted (a watched key changed).
pub fn run_transaction(
    cluster: &Cluster,
    watch: Option<Watch>,
    commands: Vec<Queued>,
    options: &Options,
    last_error: &mut Option<String>,
) -> Result<Zval, PhpException> {
    if commands.is_empty() && watch.is_none() {
        return Ok(array_zval(ZendHashTable::new()));
    }
    let (commands, shapes): (Vec<Vec<Vec<u8>>>, Vec<Shape>) = commands.into_iter().unzip();
    let result = match watch {
        Some(watch) => watch.transaction(&commands),
        None => cluster.transaction(&commands),
    };
    transaction_replies(result, &commands, shapes, options, last_error)
}

/// The PHP value of an EXEC's outcome.
fn transaction_replies(
    result: Result<Value, ClusterError>,
    commands: &[Vec<Vec<u8>>],
    shapes: Vec<Shape>,
    options: &Options,
    last_error: &mut Option<String>,
) -> Result<Zval, PhpException> {
    match result {
        Ok(Value::Array(items)) => {
            let mut out = ZendHashTable::with_capacity(items.len() as u32);
            for ((value, shape), args) in items.into_iter().zip(shapes).zip(commands) {
                push(
                    &mut out,
                    shaped(args, Ok(value), shape, options, last_error)?,
                )?;
            }
            Ok(array_zval(out))
        }
        // EXEC answered nil: a watched key changed.
        Ok(_) => Ok(false_zval()),
        Err(error) => shaped(&[b"EXEC"], Err(error), Shape::Raw, options, last_error),
    }
}
