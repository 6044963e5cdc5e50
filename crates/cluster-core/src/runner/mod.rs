//! A fixed set of engine threads that run the asyncio client's calls, and the queue their
//! outcomes wait in until the event loop takes them.
//!
//! An awaited call must not block the event loop, and thousands of concurrent awaits must not
//! need thousands of threads. The engine is synchronous (blocking sockets, its own pools,
//! health checks and emulations), so the calls run here: the loop thread queues a job (its
//! arguments already copied out of Python) and goes on; one of `workers` threads runs it
//! without the GIL and queues the outcome; the loop is woken through a pipe it watches
//! (`loop.add_reader`) at most once per batch of outcomes, and converts them to Python objects
//! itself, when it drains. Worker threads never take the GIL, so they never stall the loop.
//!
//! Short calls that can share a round trip (`submit_item`) are taken together: a worker takes
//! every such call queued at the front, up to `MAX_BATCH`, and runs them with the caller's
//! `batch` function (the asyncio client runs them as one pipeline: one write and one read per
//! master for the lot, instead of one round trip each). Under load the queue fills while the
//! workers wait for servers, so batches grow exactly when round trips are the bottleneck; a
//! lone call runs alone, with no wait for company.
//!
//! A blocking command (BLPOP, XREAD BLOCK, WAIT) would hold a worker for as long as it
//! waits: it gets a thread of its own for that one call, which a `Cancel` ends (asyncio
//! cancellation, `wait_for`'s timeout) by shutting its socket down, as redis.asyncio closes
//! the connection of a cancelled call. Ordinary calls are short; a cancelled one finishes and
//! its outcome is dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use crate::interrupt::{self, Cancel};

mod wake;
use wake::Wake;

/// What a job does, on an engine thread.
pub type Work<T> = Box<dyn FnOnce() -> T + Send>;

/// Runs a batch of items; one outcome per item, in order.
pub type Batch<T, C> = Box<dyn Fn(Vec<C>) -> Vec<T> + Send + Sync>;

/// A job or batch that panicked (a bug): its callers get this outcome instead of waiting
/// forever for one, with the panic's message.
#[derive(Debug)]
pub struct Panicked(pub String);

/// The most items one batch takes.
pub const MAX_BATCH: usize = 128;

enum Job<T, C> {
    Work(Work<T>),
    Item(C),
}

/// Threads and queues shared by the client's runner and its worker threads.
struct Shared<T, C> {
    jobs: Mutex<Jobs<T, C>>,
    job_ready: Condvar,
    outcomes: Mutex<Vec<(u64, T)>>,
    wake: Wake,
    /// The blocking calls in flight, by ticket, for `cancel`.
    blocking: Mutex<HashMap<u64, Cancel>>,
    batch: Batch<T, C>,
}

struct Jobs<T, C> {
    queue: VecDeque<(u64, Job<T, C>)>,
    /// Workers waiting for a job: a new job wakes one only if there is one to wake.
    idle: usize,
    closed: bool,
}

/// Runs jobs on engine threads; outcomes are taken with `drain` when `fileno()` is readable.
pub struct Runner<T: Send + 'static, C: Send + 'static = ()> {
    shared: Arc<Shared<T, C>>,
}

fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T: From<Panicked> + Send + 'static, C: Send + 'static> Runner<T, C> {
    /// Starts `workers` threads (at least one); `batch` runs the items of `submit_item`.
    pub fn start(workers: usize, batch: Batch<T, C>) -> std::io::Result<Runner<T, C>> {
        let shared = Arc::new(Shared {
            jobs: Mutex::new(Jobs {
                queue: VecDeque::new(),
                idle: 0,
                closed: false,
            }),
            job_ready: Condvar::new(),
            outcomes: Mutex::new(Vec::new()),
            wake: Wake::new()?,
            blocking: Mutex::new(HashMap::new()),
            batch,
        });
        let runner = Runner { shared };
        for index in 0..workers.max(1) {
            let shared = Arc::clone(&runner.shared);
            // A failure here drops `runner`, which closes it: the threads already started end.
            thread::Builder::new()
                .name(format!("rediscluster-aio-{index}"))
                .spawn(move || {
                    signals_to_other_threads();
                    work(&shared)
                })?;
        }
        Ok(runner)
    }

    /// The descriptor that becomes readable when outcomes are waiting.
    pub fn fileno(&self) -> i32 {
        self.shared.wake.fileno()
    }

    /// Queues an ordinary (short) call for the workers.
    pub fn submit(&self, ticket: u64, work: Work<T>) -> Result<(), Closed> {
        self.queue(ticket, Job::Work(work))
    }

    /// Queues a short call that may run in one batch with others (see the module's comment).
    pub fn submit_item(&self, ticket: u64, item: C) -> Result<(), Closed> {
        self.queue(ticket, Job::Item(item))
    }

    fn queue(&self, ticket: u64, job: Job<T, C>) -> Result<(), Closed> {
        let mut jobs = lock(&self.shared.jobs);
        if jobs.closed {
            return Err(Closed);
        }
        jobs.queue.push_back((ticket, job));
        if jobs.idle > 0 {
            self.shared.job_ready.notify_one();
        }
        Ok(())
    }

    /// Runs a call that may wait for long on a thread of its own, which `cancel(ticket)` can
    /// end.
    pub fn submit_blocking(&self, ticket: u64, work: Work<T>) -> Result<(), Closed> {
        let cancel = Cancel::new();
        {
            // Checked and registered under the jobs lock, which `close` takes first: a call
            // is either refused or registered before `close` cancels what is registered.
            let jobs = lock(&self.shared.jobs);
            if jobs.closed {
                return Err(Closed);
            }
            lock(&self.shared.blocking).insert(ticket, cancel.clone());
        }
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("rediscluster-aio-blocking".to_owned())
            .spawn(move || {
                signals_to_other_threads();
                let outcome = interrupt::with_cancel(&cancel, || unwound(work));
                // Gone from the map: cancelled by its caller, who wants no outcome. Still
                // there: done, or ended by `close`, whose callers get what the call answered.
                if lock(&shared.blocking).remove(&ticket).is_some() {
                    finished(&shared, ticket, outcome);
                }
            });
        if spawned.is_err() {
            lock(&self.shared.blocking).remove(&ticket);
            return Err(Closed);
        }
        Ok(())
    }

    /// A handle that queues outcomes under a ticket from any thread, as many as it likes (a
    /// stream of events: the asyncio pub/sub's wake-ups).
    pub fn poster(&self) -> Poster<T, C> {
        Poster {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Ends a blocking call; its outcome is never delivered. An ordinary call runs to its end
    /// and its outcome is delivered, for the caller to drop.
    pub fn cancel(&self, ticket: u64) {
        if let Some(cancel) = lock(&self.shared.blocking).remove(&ticket) {
            cancel.cancel();
        }
    }

    /// Up to `max` waiting outcomes, oldest first. The descriptor stays readable while more
    /// wait, so a loop that takes a batch per wake-up still sees the rest (and runs its other
    /// callbacks in between: a bounded batch bounds the loop's lag).
    pub fn drain(&self, max: usize) -> Vec<(u64, T)> {
        self.shared.wake.clear();
        let mut outcomes = lock(&self.shared.outcomes);
        if outcomes.len() <= max {
            return std::mem::take(&mut *outcomes);
        }
        let rest = outcomes.split_off(max);
        let taken = std::mem::replace(&mut *outcomes, rest);
        drop(outcomes);
        self.shared.wake.signal();
        taken
    }
}

impl<T: Send + 'static, C: Send + 'static> Runner<T, C> {
    /// Stops the workers once the jobs already queued have run; blocking calls in flight are
    /// ended, and their outcome (an interrupted call) delivered. Later submissions fail with
    /// `Closed`.
    pub fn close(&self) {
        lock(&self.shared.jobs).closed = true;
        self.shared.job_ready.notify_all();
        for cancel in lock(&self.shared.blocking).values() {
            cancel.cancel();
        }
    }
}

impl<T: Send + 'static, C: Send + 'static> Drop for Runner<T, C> {
    fn drop(&mut self) {
        self.close();
    }
}

/// Queues outcomes for the runner's caller (see `Runner::poster`).
pub struct Poster<T, C> {
    shared: Arc<Shared<T, C>>,
}

impl<T, C> Poster<T, C> {
    pub fn post(&self, ticket: u64, outcome: T) {
        finished(&self.shared, ticket, outcome);
    }
}

/// The runner was closed: nothing more runs.
#[derive(Debug)]
pub struct Closed;

/// Runs `job`; a panic is its outcome (see `Panicked`).
fn unwound<R: From<Panicked>>(job: impl FnOnce() -> R) -> R {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        R::from(Panicked(text))
    })
}

/// A worker: runs queued jobs, oldest first, until the runner closes and the queue is empty.
fn work<T: From<Panicked>, C>(shared: &Shared<T, C>) {
    loop {
        let (ticket, job, mut batch) = {
            let mut jobs = lock(&shared.jobs);
            loop {
                if let Some((ticket, job)) = jobs.queue.pop_front() {
                    let batch = match job {
                        Job::Item(_) => take_items(&mut jobs.queue),
                        Job::Work(_) => Vec::new(),
                    };
                    break (ticket, job, batch);
                }
                if jobs.closed {
                    return;
                }
                jobs.idle += 1;
                jobs = shared
                    .job_ready
                    .wait(jobs)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                jobs.idle -= 1;
            }
        };
        match job {
            Job::Work(work) => finished(shared, ticket, unwound(work)),
            Job::Item(item) => {
                batch.insert(0, (ticket, Job::Item(item)));
                let (tickets, items): (Vec<u64>, Vec<C>) = batch
                    .into_iter()
                    .filter_map(|(ticket, job)| match job {
                        Job::Item(item) => Some((ticket, item)),
                        Job::Work(_) => None,
                    })
                    .unzip();
                let count = items.len();
                let outcomes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (shared.batch)(items)
                }));
                // One outcome per item, whatever happened: a caller never waits forever.
                let outcomes: Vec<T> = match outcomes {
                    Ok(outcomes) if outcomes.len() == count => outcomes,
                    Ok(_) => (0..count)
                        .map(|_| T::from(Panicked("a batch answered the wrong count".into())))
                        .collect(),
                    Err(_) => (0..count)
                        .map(|_| T::from(Panicked("a batch panicked".into())))
                        .collect(),
                };
                lock(&shared.outcomes).extend(tickets.into_iter().zip(outcomes));
                shared.wake.signal();
            }
        }
    }
}

/// The items queued right after the one taken, up to `MAX_BATCH` in all.
fn take_items<T, C>(queue: &mut VecDeque<(u64, Job<T, C>)>) -> Vec<(u64, Job<T, C>)> {
    let mut taken = Vec::new();
    while taken.len() + 1 < MAX_BATCH && matches!(queue.front(), Some((_, Job::Item(_)))) {
        taken.extend(queue.pop_front());
    }
    taken
}

/// Queues an outcome and wakes the loop if nothing was waiting already.
fn finished<T, C>(shared: &Shared<T, C>, ticket: u64, outcome: T) {
    lock(&shared.outcomes).push((ticket, outcome));
    shared.wake.signal();
}

/// Signals go to the application's own threads: an engine thread never runs a handler, and
/// its reads are not interrupted by a signal meant for the program (CPython runs its handlers
/// on the main thread anyway).
fn signals_to_other_threads() {
    // SAFETY: a zeroed sigset_t is filled by sigfillset before use; pthread_sigmask changes
    // only this thread's mask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    type TestRunner = Runner<u64, u64>;

    /// A panicked job's outcome in these tests.
    const PANICKED: u64 = u64::MAX;

    impl From<Panicked> for u64 {
        fn from(_: Panicked) -> u64 {
            PANICKED
        }
    }

    /// A runner whose batches answer each item plus 1000.
    fn start(workers: usize) -> TestRunner {
        Runner::start(
            workers,
            Box::new(|items: Vec<u64>| items.into_iter().map(|i| i + 1000).collect()),
        )
        .unwrap()
    }

    fn wait_for(runner: &TestRunner, count: usize) -> Vec<(u64, u64)> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = Vec::new();
        while got.len() < count {
            assert!(Instant::now() < deadline, "only {} outcomes", got.len());
            got.extend(runner.drain(usize::MAX));
            thread::sleep(Duration::from_millis(1));
        }
        got
    }

    #[test]
    fn every_job_runs_once_and_its_outcome_keeps_its_ticket() {
        let runner = start(3);
        for ticket in 0..500u64 {
            runner.submit(ticket, Box::new(move || ticket * 2)).unwrap();
        }
        let mut got = wait_for(&runner, 500);
        got.sort();
        assert_eq!(got, (0..500).map(|t| (t, t * 2)).collect::<Vec<_>>());
        assert!(runner.drain(usize::MAX).is_empty());
    }

    #[test]
    fn queued_items_run_in_batches_and_work_keeps_its_place() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&sizes);
        let runner: TestRunner = Runner::start(
            1,
            Box::new(move |items: Vec<u64>| {
                lock(&seen).push(items.len());
                items.into_iter().map(|i| i + 1000).collect()
            }),
        )
        .unwrap();
        let (hold, held) = std::sync::mpsc::channel::<()>();
        // The only worker waits here while the rest is queued behind it.
        runner
            .submit(0, Box::new(move || held.recv().map_or(0, |()| 0)))
            .unwrap();
        for ticket in 1..=300u64 {
            runner.submit_item(ticket, ticket).unwrap();
        }
        runner.submit(301, Box::new(|| 301)).unwrap();
        runner.submit_item(302, 302).unwrap();
        hold.send(()).unwrap();
        let got = wait_for(&runner, 303);
        // Outcomes come in run order, items answered by the batch function (+1000).
        let expected: Vec<(u64, u64)> = std::iter::once((0, 0))
            .chain((1..=300).map(|t| (t, t + 1000)))
            .chain([(301, 301), (302, 1302)])
            .collect();
        assert_eq!(got, expected);
        assert_eq!(
            *lock(&sizes),
            vec![MAX_BATCH, MAX_BATCH, 300 - 2 * MAX_BATCH, 1]
        );
    }

    #[test]
    fn a_bounded_drain_leaves_the_rest_signalled() {
        let runner = start(1);
        for ticket in 0..10u64 {
            runner.submit(ticket, Box::new(move || ticket)).unwrap();
        }
        wait_for_readable(&runner);
        thread::sleep(Duration::from_millis(50));
        let first = runner.drain(4);
        assert_eq!(first.len(), 4);
        assert!(readable(runner.fileno()), "the rest is still signalled");
        let rest = wait_for(&runner, 6);
        assert_eq!(rest.len(), 6);
    }

    #[test]
    fn a_cancelled_blocking_call_delivers_nothing_and_a_closed_one_delivers_its_outcome() {
        let runner = start(1);
        // Each call waits until it is ended, then answers whether it was.
        let wait_for_cancel = || -> Work<u64> {
            Box::new(|| {
                while !interrupt::requested() {
                    thread::sleep(Duration::from_millis(1));
                }
                7
            })
        };
        runner.submit_blocking(1, wait_for_cancel()).unwrap();
        runner.submit_blocking(2, wait_for_cancel()).unwrap();
        runner.cancel(1);
        thread::sleep(Duration::from_millis(50));
        assert!(
            runner.drain(usize::MAX).is_empty(),
            "1 was cancelled, 2 waits"
        );
        runner.close();
        assert_eq!(wait_for(&runner, 1), vec![(2, 7)]);
        thread::sleep(Duration::from_millis(50));
        assert!(runner.drain(usize::MAX).is_empty());
    }

    #[test]
    fn a_poster_queues_outcomes_from_any_thread() {
        let runner = start(1);
        let poster = runner.poster();
        thread::spawn(move || (0..3).for_each(|i| poster.post(9, i)))
            .join()
            .unwrap();
        assert_eq!(wait_for(&runner, 3), vec![(9, 0), (9, 1), (9, 2)]);
    }

    #[test]
    fn a_job_or_batch_that_panics_answers_its_callers_and_the_worker_goes_on() {
        let runner: TestRunner = Runner::start(
            1,
            Box::new(|items: Vec<u64>| {
                assert!(!items.contains(&13), "unlucky batch");
                items
            }),
        )
        .unwrap();
        runner.submit(1, Box::new(|| panic!("a bug"))).unwrap();
        runner.submit(2, Box::new(|| 2)).unwrap();
        let mut got = wait_for(&runner, 2);
        runner.submit_item(3, 13).unwrap();
        got.extend(wait_for(&runner, 1));
        runner
            .submit_blocking(4, Box::new(|| panic!("a blocking bug")))
            .unwrap();
        got.extend(wait_for(&runner, 1));
        runner.submit_item(5, 5).unwrap();
        got.extend(wait_for(&runner, 1));
        assert_eq!(
            got,
            vec![(1, PANICKED), (2, 2), (3, PANICKED), (4, PANICKED), (5, 5)]
        );
    }

    #[test]
    fn a_closed_runner_refuses_jobs() {
        let runner = start(1);
        runner.close();
        assert!(runner.submit(1, Box::new(|| 1)).is_err());
        assert!(runner.submit_blocking(2, Box::new(|| 2)).is_err());
    }

    fn wait_for_readable(runner: &TestRunner) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !readable(runner.fileno()) {
            assert!(Instant::now() < deadline);
            thread::sleep(Duration::from_millis(1));
        }
    }

    fn readable(fd: i32) -> bool {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, a zero timeout.
        unsafe { libc::poll(&mut poll, 1, 0) == 1 }
    }
}
