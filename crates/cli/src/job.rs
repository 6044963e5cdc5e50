//! What `copy` and `reshard` share: a job over every source master, each walked in its own
//! thread (`readahead.rs`), with a resume point per source (`state.rs`) recorded after
//! confirmed batches.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cluster_core::{ClusterConfig, NodeConfig};

use crate::error::ToolError;
use crate::nodes::connect;
use crate::state::{CopyState, SourceProgress};

/// The addresses of a config's masters, without credentials.
pub fn addresses(config: &ClusterConfig) -> Vec<String> {
    config.masters.iter().map(NodeConfig::addr).collect()
}

/// How often the state file is written: after the first confirmed batch, then at most this
/// often, and at the end. A run killed in between redoes the batches since (safe to redo: a
/// copy restores them again, a move finds only the keys it had not moved yet). Writing it after
/// every batch cost the move about half of its CPU time, in the file system.
const WRITE_EVERY: Duration = Duration::from_millis(100);

/// How often the state file is forced to disk (fsync).
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// When the state file was last written, and last forced to disk.
struct Saves {
    written: Option<Instant>,
    synced: Instant,
    /// Confirmed batches not in the file yet (written when the job ends, however it ends).
    unsaved: bool,
}

impl Saves {
    fn new() -> Mutex<Saves> {
        Mutex::new(Saves {
            written: None,
            synced: Instant::now(),
            unsaved: false,
        })
    }
}

pub struct Job<'a> {
    state: Mutex<CopyState>,
    /// At most this many keys written per second over the whole job, when set.
    pace: Option<Pace>,
    saves: Mutex<Saves>,
    path: Option<&'a Path>,
    /// The job continued from a state file.
    pub resumed: bool,
}

impl<'a> Job<'a> {
    /// Starts (or, from `path`, resumes) the job `name` from `from` to `to`. Every node is
    /// reached first, so an unreachable one changes nothing.
    pub fn open(
        name: String,
        from: &ClusterConfig,
        to: &ClusterConfig,
        batch: usize,
        path: Option<&'a Path>,
    ) -> Result<Job<'a>, ToolError> {
        if batch == 0 {
            return Err(ToolError::Config("--batch must be at least 1".to_owned()));
        }
        let saved = match path {
            Some(path) => CopyState::load(path, &name)?,
            None => None,
        };
        let resumed = saved.is_some();
        let mut state = saved.unwrap_or(CopyState {
            job: name,
            ..CopyState::default()
        });
        for addr in addresses(from) {
            state
                .sources
                .entry(addr)
                .or_insert_with(SourceProgress::default);
        }
        for node in from.masters.iter().chain(&to.masters) {
            connect(node)?;
        }
        Ok(Job {
            state: Mutex::new(state),
            pace: None,
            saves: Saves::new(),
            path,
            resumed,
        })
    }

    /// Writes at most `keys_per_second` keys per second over all sources (`--rate`): a live
    /// move leaves the servers room for the application's own commands.
    pub fn with_rate(mut self, keys_per_second: Option<f64>) -> Result<Job<'a>, ToolError> {
        if let Some(rate) = keys_per_second {
            if !(rate.is_finite() && rate >= 1.0) {
                return Err(ToolError::Config(format!(
                    "--rate must be at least 1 key per second, not {rate}"
                )));
            }
            self.pace = Some(Pace {
                per_second: rate,
                next: Mutex::new(Instant::now()),
            });
        }
        Ok(self)
    }

    /// Counts `keys` written and, under a rate, waits until the job is back on its pace. Time
    /// spent not writing (collecting a source's names, waiting on a server) earns at most
    /// `MAX_CREDIT` of keys written faster than the rate: a move never catches up in a burst.
    pub fn pace(&self, keys: u64) {
        let Some(pace) = &self.pace else { return };
        let now = Instant::now();
        let due = {
            let mut next = pace.next.lock().unwrap_or_else(|p| p.into_inner());
            let earliest = now.checked_sub(MAX_CREDIT).unwrap_or(now);
            *next = (*next).max(earliest) + Duration::from_secs_f64(keys as f64 / pace.per_second);
            *next
        };
        if let Some(wait) = due.checked_duration_since(now) {
            std::thread::sleep(wait);
        }
    }

    /// Runs `walk(i)` for every source master `i` at once; the first error, if any.
    pub fn run_sources(
        &self,
        sources: usize,
        walk: impl Fn(usize) -> Result<(), ToolError> + Sync,
    ) -> Result<(), ToolError> {
        let walk = &walk;
        let ran = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..sources)
                .map(|index| scope.spawn(move || walk(index)))
                .collect();
            // The scope joins every worker; the first error (or panic) is the job's. A panic is
            // not bad input: other workers may have copied keys by then.
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|panic| Err(ToolError::Worker(panic_message(&*panic))))
            })
        });
        // Ended by an error too: what was confirmed is in the state file.
        let saved = self.save_the_rest();
        ran.and(saved)
    }

    /// Writes (and forces to disk) the confirmed batches the file does not have yet.
    fn save_the_rest(&self) -> Result<(), ToolError> {
        let Some(path) = self.path else {
            return Ok(());
        };
        let state = self.lock();
        let mut saves = self.saves.lock().unwrap_or_else(|p| p.into_inner());
        if saves.unsaved {
            state.save(path, true)?;
            saves.unsaved = false;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CopyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keys copied before this run (by the run this one resumes).
    pub fn resume_copied(&self) -> u64 {
        self.lock().copied
    }

    /// The cursor source `addr` continues from; `None` when it was walked to its end.
    pub fn resume_point(&self, addr: &str) -> Option<u64> {
        let state = self.lock();
        let at = &state.sources[addr];
        (!at.done).then_some(at.cursor)
    }

    /// Records a confirmed batch of source `addr`: its next cursor (0: the end), the keys it
    /// copied, those that expired meanwhile and those it could not place; saves the state when
    /// asked to. Answers the keys copied so far.
    pub fn advance(
        &self,
        addr: &str,
        cursor: u64,
        done: &Advanced,
        save: bool,
    ) -> Result<u64, ToolError> {
        let mut state = self.lock();
        let at = state
            .sources
            .get_mut(addr)
            .expect("every source is in the state");
        at.cursor = cursor;
        at.done = cursor == 0;
        state.copied += done.copied;
        state.expired += done.expired;
        state.unplaceable += done.unplaceable;
        if let Some(path) = self.path
            && save
        {
            let mut saves = self.saves.lock().unwrap_or_else(|p| p.into_inner());
            let end = at_end(&state);
            if end || saves.written.is_none_or(|at| at.elapsed() >= WRITE_EVERY) {
                let durable = end || saves.synced.elapsed() >= SYNC_EVERY;
                state.save(path, durable)?;
                saves.written = Some(Instant::now());
                saves.unsaved = false;
                if durable {
                    saves.synced = Instant::now();
                }
            } else {
                saves.unsaved = true;
            }
        }
        Ok(state.copied)
    }

    pub fn into_state(self) -> CopyState {
        self.state.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a confirmed batch did (`Job::advance`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Advanced {
    pub copied: u64,
    pub expired: u64,
    pub unplaceable: u64,
}

/// A job's rate: when it may write its next key (a token bucket `MAX_CREDIT` deep).
struct Pace {
    per_second: f64,
    next: Mutex<Instant>,
}

/// How far behind its pace a job may fall and then catch up at full speed.
const MAX_CREDIT: Duration = Duration::from_millis(100);

/// Every source walked to its end: the last save of the job, forced to disk.
fn at_end(state: &CopyState) -> bool {
    state.sources.values().all(|s| s.done)
}

/// What a panic said, when it said it with text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker that panics after others did their part is not "bad input, nothing changed"
    /// (exit 2): it was reported as `ToolError::Config` before.
    #[test]
    fn a_panicking_worker_is_not_bad_input() {
        let job = Job {
            state: Mutex::new(CopyState::default()),
            pace: None,
            saves: Saves::new(),
            path: None,
            resumed: false,
        };
        let done = std::sync::atomic::AtomicUsize::new(0);
        let error = job
            .run_sources(3, |index| {
                if index == 1 {
                    panic!("worker {index} hit a bug");
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(&error, ToolError::Worker(m) if m == "worker 1 hit a bug"),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("run the same command again"),
            "{error}"
        );
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(crate::cli::exit_status(&error), 1);
    }

    /// `--rate`: the job waits until the keys written fit the rate (a lower bound only: a
    /// loaded machine may wait longer), catches up on time it spent idle only by `MAX_CREDIT`,
    /// and refuses a rate below one key per second.
    #[test]
    fn a_rate_paces_the_job() {
        let job = || Job {
            state: Mutex::new(CopyState::default()),
            pace: None,
            saves: Saves::new(),
            path: None,
            resumed: false,
        };
        for bad in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                job().with_rate(Some(bad)),
                Err(ToolError::Config(_))
            ));
        }
        let paced = job().with_rate(Some(200.0)).unwrap();
        let started = Instant::now();
        paced.pace(20);
        paced.pace(20);
        assert!(started.elapsed() >= Duration::from_millis(190));
        // Half a second without writing earns 100 ms of catching up, not half a second.
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        paced.pace(60);
        assert!(started.elapsed() >= Duration::from_millis(190));
        let free = job().with_rate(None).unwrap();
        let started = Instant::now();
        free.pace(1_000_000);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
