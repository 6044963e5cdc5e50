//! `AsyncCore`: the asyncio client's calls, run on the engine's threads (`cluster_core::runner`)
//! so that the event loop never waits for a server. Each method copies its arguments out of
//! Python and queues the call under a ticket (the Python side keeps a future per ticket); the
//! loop watches `fileno()` and calls `drain()`, which converts the outcomes to Python objects
//! on the loop's own thread, exactly as the synchronous `Core` converts its replies.

use cluster_core::commands::{Flags, Strategy};
use cluster_core::runner::{Batch, Panicked, Runner, Work};
use cluster_core::{Cluster, ClusterError, Elements, PubSubMessage, Value};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::client::{Core, command_items, replies_list};
use crate::convert::{borrowed_args, elements_list, reply};
use crate::errors::to_pyerr;
use crate::subscription::{Subscription, message_tuple};
use crate::watch::{self, SharedWatch, Watch};

/// One command's arguments copied out of Python: the bytes back to back, and where each ends.
struct OwnedArgs {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl OwnedArgs {
    /// The arguments of a call given as a tuple.
    fn from_tuple(args: &Bound<'_, PyTuple>) -> PyResult<OwnedArgs> {
        let items: Vec<Bound<'_, PyAny>> = args.iter().collect();
        OwnedArgs::from_python(&items)
    }

    fn from_python(items: &[Bound<'_, PyAny>]) -> PyResult<OwnedArgs> {
        let args = borrowed_args(items)?;
        let mut owned = OwnedArgs {
            bytes: Vec::with_capacity(args.iter().map(|a| a.as_ref().len()).sum()),
            ends: Vec::with_capacity(args.len()),
        };
        for arg in &args {
            owned.bytes.extend_from_slice(arg.as_ref());
            owned.ends.push(owned.bytes.len());
        }
        Ok(owned)
    }

    fn view(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let arg = &self.bytes[start..end];
                start = end;
                arg
            })
            .collect()
    }

    fn name(&self) -> &[u8] {
        &self.bytes[..self.ends.first().copied().unwrap_or(0)]
    }

    /// How the command is queued (see `Queueing`).
    fn queueing(&self, cluster: &Cluster) -> Queueing {
        let name = self.name();
        if name.eq_ignore_ascii_case(b"WAIT") || name.eq_ignore_ascii_case(b"WAITAOF") {
            return Queueing::Blocking;
        }
        let Some(spec) = cluster_core::commands::command(name) else {
            return Queueing::Alone;
        };
        if spec.flags.contains(Flags::BLOCKING) {
            return Queueing::Blocking;
        }
        // A pipeline sends reads to the masters: while replicas serve reads, a read runs
        // alone, so that it goes where the synchronous client would send it.
        let single = matches!(spec.strategy, Strategy::Single) && spec.subcommands.is_empty();
        let read = spec.flags.contains(Flags::READ);
        if single && !(read && cluster.reads_go_to_replicas()) {
            Queueing::Batched(read)
        } else {
            Queueing::Alone
        }
    }
}

/// How a command waits for an engine thread.
enum Queueing {
    /// One node's command: may share a pipeline with the others queued with it (`true`: a
    /// read, sent again alone when its connection broke, as the synchronous client does).
    Batched(bool),
    /// Runs by itself (split, fan-out, emulated, a read a replica may answer, ...).
    Alone,
    /// May wait for long on the server: a thread of its own, ended by a cancel.
    Blocking,
}

/// What a call answered, held until the loop converts it.
enum Outcome {
    Reply(Result<Value, ClusterError>, bool),
    /// A split read's elements (`Cluster::execute_items`), or the reply that came instead.
    Items(Result<Option<Value>, ClusterError>, Elements, bool),
    Replies(
        Result<Vec<Result<Value, ClusterError>>, ClusterError>,
        Vec<bool>,
    ),
    Transaction(Result<Value, ClusterError>, Vec<bool>),
    /// A new watch (a `Watch` for the pipeline).
    Watching(Result<cluster_core::Watch, ClusterError>),
    /// Done, with nothing to answer (`None`); also a pub/sub's wake-up.
    Done(Result<(), ClusterError>),
    /// A pub/sub's event, or `None` when nothing has arrived.
    Message(Result<Option<PubSubMessage>, ClusterError>, bool),
}

impl Outcome {
    /// The Python object for the future: `(value, failed)`; a failure is the exception
    /// instance the synchronous client would raise.
    fn into_python(self, py: Python<'_>) -> PyResult<(Py<PyAny>, bool)> {
        let converted = match self {
            // A command run in a batch answers its error reply in place, as in a pipeline;
            // alone, it raises it.
            Outcome::Reply(Ok(Value::ServerError(error)), _) => {
                let text = crate::errors::server_text(&error);
                return Ok((crate::errors::server_error_object(py, &text)?, true));
            }
            Outcome::Reply(result, decode) => result.map(|value| reply(py, value, decode)),
            Outcome::Items(result, elements, decode) => result.map(|answered| match answered {
                Some(value) => reply(py, value, decode),
                None => elements_list(py, elements, decode),
            }),
            Outcome::Replies(result, decode) => {
                result.map(|replies| replies_list(py, replies, decode))
            }
            Outcome::Transaction(result, decode) => result.map(|value| match value {
                Value::Array(items) => replies_list(py, items.into_iter().map(Ok), decode),
                other => reply(py, other, false),
            }),
            Outcome::Watching(result) => {
                result.map(|watch| Ok(Py::new(py, Watch::new(watch))?.into_any()))
            }
            Outcome::Done(result) => result.map(|()| Ok(py.None())),
            Outcome::Message(result, decode) => result.map(|polled| match polled {
                Some(message) => Ok(message_tuple(py, message, decode)?
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()),
                None => Ok(py.None()),
            }),
        };
        let error = match converted {
            Ok(object) => return Ok((object?, false)),
            // Only `close` ends a call whose outcome is delivered (a cancelled one's is not).
            Err(ClusterError::Interrupted { node }) => crate::errors::connection_error(&format!(
                "the client was closed while this call waited on {node}"
            )),
            Err(error) => to_pyerr(py, error),
        };
        Ok((error.into_value(py).into_any(), true))
    }
}

#[pyclass(module = "rediscluster._core", frozen)]
pub struct AsyncCore {
    cluster: Cluster,
    runner: Runner<Outcome, BatchItem>,
}

#[pymethods]
impl AsyncCore {
    /// Runs the calls of `core`'s engine (the same pools, health checks and settings) on
    /// `workers` engine threads.
    #[new]
    fn new(core: &Core, workers: usize) -> PyResult<AsyncCore> {
        let cluster = core.cluster().clone();
        Ok(AsyncCore {
            runner: Runner::start(workers, batch(cluster.clone()))?,
            cluster,
        })
    }

    /// Readable when outcomes are waiting: watch it with `loop.add_reader`.
    fn fileno(&self) -> i32 {
        self.runner.fileno()
    }

    /// Queues one command; its outcome comes back under `ticket`.
    fn execute(&self, ticket: u64, args: &Bound<'_, PyTuple>, decode: bool) -> PyResult<()> {
        let args = OwnedArgs::from_tuple(args)?;
        let queueing = args.queueing(&self.cluster);
        if let Queueing::Batched(read) = queueing {
            let item = BatchItem { args, decode, read };
            return self.runner.submit_item(ticket, item).map_err(|_| closed());
        }
        let cluster = self.cluster.clone();
        let work: Work<Outcome> = Box::new(move || {
            let view = args.view();
            let mut elements = Elements::new(view.len().saturating_sub(1));
            let answered = cluster.execute_items(&view, &mut |at, item| elements.put(at, item));
            Outcome::Items(answered, elements, decode)
        });
        self.submit(ticket, matches!(queueing, Queueing::Blocking), work)
    }

    /// Queues one command for the named master, as is.
    fn execute_on(
        &self,
        ticket: u64,
        node: String,
        args: &Bound<'_, PyTuple>,
        decode: bool,
    ) -> PyResult<()> {
        let args = OwnedArgs::from_tuple(args)?;
        let cluster = self.cluster.clone();
        let blocking = self.may_block(&args);
        let work: Work<Outcome> =
            Box::new(move || Outcome::Reply(cluster.execute_on(&node, &args.view()), decode));
        self.submit(ticket, blocking, work)
    }

    /// Queues a pipeline (see `Core.pipeline`).
    fn pipeline(
        &self,
        ticket: u64,
        commands: &Bound<'_, PyList>,
        decode: Vec<bool>,
    ) -> PyResult<()> {
        let commands = owned_commands(commands, &decode)?;
        // A BLPOP in a pipeline waits as one outside it: a thread of its own, cancellable.
        let blocking = self.any_blocks(&commands);
        let cluster = self.cluster.clone();
        let work: Work<Outcome> = Box::new(move || {
            let views = views(&commands);
            Outcome::Replies(cluster.pipeline(&views), decode)
        });
        self.submit(ticket, blocking, work)
    }

    /// Queues a MULTI/EXEC transaction (see `Core.transaction`).
    fn transaction(
        &self,
        ticket: u64,
        commands: &Bound<'_, PyList>,
        decode: Vec<bool>,
    ) -> PyResult<()> {
        let commands = owned_commands(commands, &decode)?;
        let cluster = self.cluster.clone();
        let work: Work<Outcome> = Box::new(move || {
            let views = views(&commands);
            Outcome::Transaction(cluster.transaction(&views), decode)
        });
        self.submit(ticket, false, work)
    }

    /// WATCH on one held connection of the master owning every key (see `Core.watch`); the
    /// outcome is the `Watch`.
    fn watch(&self, ticket: u64, keys: &Bound<'_, PyTuple>) -> PyResult<()> {
        let keys = OwnedArgs::from_tuple(keys)?;
        let cluster = self.cluster.clone();
        let work: Work<Outcome> = Box::new(move || Outcome::Watching(cluster.watch(&keys.view())));
        self.submit(ticket, false, work)
    }

    /// `Watch.watch_more`, on an engine thread.
    fn watch_more(&self, ticket: u64, watch: &Watch, keys: &Bound<'_, PyTuple>) -> PyResult<()> {
        let keys = OwnedArgs::from_tuple(keys)?;
        let watch = watch.shared();
        let work: Work<Outcome> =
            Box::new(move || Outcome::Done(on_watch(&watch, |w| w.watch_more(&keys.view()))));
        self.submit(ticket, false, work)
    }

    /// `Watch.execute`, on an engine thread.
    fn watch_execute(
        &self,
        ticket: u64,
        watch: &Watch,
        args: &Bound<'_, PyTuple>,
        decode: bool,
    ) -> PyResult<()> {
        let args = OwnedArgs::from_tuple(args)?;
        let blocking = self.may_block(&args);
        let watch = watch.shared();
        let work: Work<Outcome> =
            Box::new(move || Outcome::Reply(on_watch(&watch, |w| w.execute(&args.view())), decode));
        self.submit(ticket, blocking, work)
    }

    /// `Watch.transaction`, on an engine thread: the watch ends.
    fn watch_transaction(
        &self,
        ticket: u64,
        watch: &Watch,
        commands: &Bound<'_, PyList>,
        decode: Vec<bool>,
    ) -> PyResult<()> {
        let commands = owned_commands(commands, &decode)?;
        let watch = watch.shared();
        let work: Work<Outcome> = Box::new(move || {
            let views = views(&commands);
            let ended = watch::lock(&watch).take().ok_or_else(watch::ended);
            Outcome::Transaction(ended.and_then(|w| w.transaction(&views)), decode)
        });
        self.submit(ticket, false, work)
    }

    /// `Watch.unwatch`, on an engine thread.
    fn unwatch(&self, ticket: u64, watch: &Watch) -> PyResult<()> {
        let watch = watch.shared();
        let work: Work<Outcome> = Box::new(move || {
            let taken = watch::lock(&watch).take();
            Outcome::Done(taken.map_or(Ok(()), cluster_core::Watch::unwatch))
        });
        self.submit(ticket, false, work)
    }

    /// Changes a pub/sub's subscriptions (`kind`: subscribe, ssubscribe, psubscribe,
    /// unsubscribe, sunsubscribe, punsubscribe) on an engine thread: a first channel on a
    /// master opens its connection there.
    fn subscription_change(
        &self,
        ticket: u64,
        subscription: &Subscription,
        kind: &str,
        names: Vec<Vec<u8>>,
    ) -> PyResult<()> {
        type Change = fn(&mut cluster_core::Subscription, &[Vec<u8>]) -> Result<(), ClusterError>;
        let change: Change = match kind {
            "subscribe" => |s, n| s.subscribe(n),
            "ssubscribe" => |s, n| s.ssubscribe(n),
            "psubscribe" => |s, n| s.psubscribe(n),
            "unsubscribe" => |s, n| s.unsubscribe(n),
            "sunsubscribe" => |s, n| s.sunsubscribe(n),
            "punsubscribe" => |s, n| s.punsubscribe(n),
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "no subscription change named {other:?}"
                )));
            }
        };
        let work = on_subscription(subscription, move |open| change(open, &names));
        self.submit(ticket, false, work)
    }

    /// From now on, every frame the pub/sub's connections receive queues a wake-up (`None`)
    /// under `stream`; the outcome of `ticket` says it is set. On an engine thread: the
    /// subscription's lock may be held by another change.
    fn wake_on(&self, ticket: u64, stream: u64, subscription: &Subscription) -> PyResult<()> {
        let poster = self.runner.poster();
        let waker: cluster_core::pubsub::Waker =
            std::sync::Arc::new(move || poster.post(stream, Outcome::Done(Ok(()))));
        let work = on_subscription(subscription, move |open| {
            open.set_waker(Some(waker));
            Ok(())
        });
        self.submit(ticket, false, work)
    }

    /// The pub/sub's next event if one has arrived, else `None`, without waiting; a master
    /// whose connection was lost is reconnected and resubscribed first. On an engine thread,
    /// so that neither the reconnection nor the subscription's lock holds the loop.
    fn subscription_poll(
        &self,
        ticket: u64,
        subscription: &Subscription,
        decode: bool,
    ) -> PyResult<()> {
        let shared = subscription.shared();
        let work: Work<Outcome> = Box::new(move || {
            let mut open = shared.lock().unwrap_or_else(|p| p.into_inner());
            let polled = match open.as_mut() {
                Some(open) => open.next_message(Some(std::time::Duration::ZERO)),
                None => Ok(None),
            };
            Outcome::Message(polled, decode)
        });
        self.submit(ticket, false, work)
    }

    /// Ends the call of `ticket` if it is a blocking one (its connection is closed, nothing is
    /// popped for it); an ordinary call runs to its end.
    fn cancel(&self, ticket: u64) {
        self.runner.cancel(ticket);
    }

    /// Up to `max` outcomes as `(ticket, value, failed)`.
    fn drain(&self, py: Python<'_>, max: usize) -> Vec<(u64, Py<PyAny>, bool)> {
        self.runner
            .drain(max)
            .into_iter()
            .map(|(ticket, outcome)| match outcome.into_python(py) {
                Ok((value, failed)) => (ticket, value, failed),
                // A reply Python cannot take (not UTF-8 under decode_responses): that call's
                // own exception, as the synchronous client raises it.
                Err(error) => (ticket, error.into_value(py).into_any(), true),
            })
            .collect()
    }

    /// Stops the engine threads once the queued calls ran; blocking calls are cancelled.
    fn close(&self) {
        self.runner.close();
    }
}

impl AsyncCore {
    /// Does the command wait on the server (BLPOP, XREAD BLOCK, WAIT)?
    fn may_block(&self, args: &OwnedArgs) -> bool {
        matches!(args.queueing(&self.cluster), Queueing::Blocking)
    }

    /// Does any of the commands?
    fn any_blocks(&self, commands: &[OwnedArgs]) -> bool {
        commands.iter().any(|args| self.may_block(args))
    }

    fn submit(&self, ticket: u64, blocking: bool, work: Work<Outcome>) -> PyResult<()> {
        let submitted = match blocking {
            true => self.runner.submit_blocking(ticket, work),
            false => self.runner.submit(ticket, work),
        };
        submitted.map_err(|_| closed())
    }
}

fn closed() -> PyErr {
    crate::errors::connection_error("this client's engine threads were stopped (aclose())")
}

/// A one-node command queued for a batch.
struct BatchItem {
    args: OwnedArgs,
    decode: bool,
    read: bool,
}

/// Runs a batch of one-node commands as one pipeline (one write and one read per master).
/// When planning refuses the pipeline (one command is malformed, or names keys on several
/// masters), each runs alone and gets its own answer: one caller's mistake is not another's.
/// A read whose connection broke (an idle connection gone stale after a server restart) runs
/// again alone, as the synchronous client retries it; a write never does (it may have been
/// applied).
fn batch(cluster: Cluster) -> Batch<Outcome, BatchItem> {
    Box::new(move |items: Vec<BatchItem>| {
        let views: Vec<Vec<&[u8]>> = items.iter().map(|item| item.args.view()).collect();
        let alone = |view: &Vec<&[u8]>, item: &BatchItem| {
            Outcome::Reply(cluster.execute(view), item.decode)
        };
        match cluster.pipeline(&views) {
            Ok(replies) => replies
                .into_iter()
                .zip(views.iter().zip(&items))
                .map(|(reply, (view, item))| match reply {
                    Err(ClusterError::Connection { .. }) if item.read => alone(view, item),
                    reply => Outcome::Reply(reply, item.decode),
                })
                .collect(),
            Err(_) => views
                .iter()
                .zip(&items)
                .map(|(view, item)| alone(view, item))
                .collect(),
        }
    })
}

impl From<Panicked> for Outcome {
    /// A bug in the engine: the caller gets an error naming it instead of waiting forever.
    fn from(panicked: Panicked) -> Outcome {
        let message = format!("ERR internal error in the engine: {}", panicked.0);
        Outcome::Reply(Err(ClusterError::Command(message)), false)
    }
}

/// A job running `change` on the open subscription (a closed one is an error).
fn on_subscription(
    subscription: &Subscription,
    change: impl FnOnce(&mut cluster_core::Subscription) -> Result<(), ClusterError> + Send + 'static,
) -> Work<Outcome> {
    let shared = subscription.shared();
    Box::new(move || {
        let mut open = shared.lock().unwrap_or_else(|p| p.into_inner());
        Outcome::Done(match open.as_mut() {
            Some(subscription) => change(subscription),
            None => Err(ClusterError::Command(
                "ERR the subscription is closed".to_owned(),
            )),
        })
    })
}

/// Runs `call` on the watch, or fails when it has ended.
fn on_watch<R>(
    watch: &SharedWatch,
    call: impl FnOnce(&mut cluster_core::Watch) -> Result<R, ClusterError>,
) -> Result<R, ClusterError> {
    call(watch::active(&mut watch::lock(watch))?)
}

/// Each command's arguments as slices, for the engine.
fn views(commands: &[OwnedArgs]) -> Vec<Vec<&[u8]>> {
    commands.iter().map(OwnedArgs::view).collect()
}

fn owned_commands(commands: &Bound<'_, PyList>, decode: &[bool]) -> PyResult<Vec<OwnedArgs>> {
    command_items(commands, decode)?
        .iter()
        .map(|items| OwnedArgs::from_python(items))
        .collect()
}
