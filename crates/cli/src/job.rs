//! What `copy` and `reshard` share: a job over every source master, each walked with SCAN in
//! its own thread, with a resume point per source (`state.rs`) recorded after every confirmed
//! batch.

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

/// How often the state file is forced to disk (it is written after every batch).
const SYNC_EVERY: Duration = Duration::from_secs(1);

pub struct Job<'a> {
    state: Mutex<CopyState>,
    /// When the state file was last forced to disk.
    synced: Mutex<Instant>,
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
            synced: Mutex::new(Instant::now()),
            path,
            resumed,
        })
    }

    /// Runs `walk(i)` for every source master `i` at once; the first error, if any.
    pub fn run_sources(
        &self,
        sources: usize,
        walk: impl Fn(usize) -> Result<(), ToolError> + Sync,
    ) -> Result<(), ToolError> {
        let walk = &walk;
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..sources)
                .map(|index| scope.spawn(move || walk(index)))
                .collect();
            // The scope joins every worker; the first error (or panic) is the job's. A panic is
            // not bad input: other workers may have copied keys by then.
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|panic| Err(ToolError::Worker(panic_message(&*panic))))
            })
        })
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
    /// copied and those that expired meanwhile; saves the state when asked to. Answers the keys
    /// copied so far.
    pub fn advance(
        &self,
        addr: &str,
        cursor: u64,
        copied: u64,
        expired: u64,
        save: bool,
    ) -> Result<u64, ToolError> {
        let mut state = self.lock();
        let at = state
            .sources
            .get_mut(addr)
            .expect("every source is in the state");
        at.cursor = cursor;
        at.done = cursor == 0;
        state.copied += copied;
        state.expired += expired;
        if let Some(path) = self.path
            && save
        {
            let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
            let durable = at_end(&state) || synced.elapsed() >= SYNC_EVERY;
            state.save(path, durable)?;
            if durable {
                *synced = Instant::now();
            }
        }
        Ok(state.copied)
    }

    pub fn into_state(self) -> CopyState {
        self.state.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

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
            synced: Mutex::new(Instant::now()),
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
}
