//! A Redis Cluster's slot map as the client knows it: which node (an index into the
//! topology's nodes) serves each of the 16384 slots, and which nodes are masters now. Read on
//! every command without a lock; written when the cluster's map is read again (at start, after
//! a `MOVED`, after a node failed) and, for one slot, by the `MOVED` reply that names it.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::placement::distribution::SLOTS;

/// The map is read again at most this often when redirects ask for it: a `MOVED` during a
/// slot migration or a failover usually comes with many more, and the one slot it names is
/// set at once anyway.
pub const REFRESH_AT_MOST_EVERY: Duration = Duration::from_millis(100);

pub struct SlotMap {
    owners: Box<[AtomicU16]>,
    masters: RwLock<Vec<usize>>,
    /// When the map was last read; held while it is being read (one reader at a time, the
    /// others go on with the map they have).
    last_read: Mutex<Option<Instant>>,
    /// A slot moved since the map was last read: the list of masters may be out of date.
    moved_since_read: AtomicBool,
}

impl Default for SlotMap {
    fn default() -> SlotMap {
        SlotMap {
            owners: (0..SLOTS).map(|_| AtomicU16::new(0)).collect(),
            masters: RwLock::new(Vec::new()),
            last_read: Mutex::new(None),
            moved_since_read: AtomicBool::new(false),
        }
    }
}

impl SlotMap {
    /// The node serving `slot`.
    #[inline]
    pub fn owner(&self, slot: usize) -> usize {
        // Acquire: the node an index names was added before the index was stored.
        usize::from(self.owners[slot].load(Ordering::Acquire))
    }

    /// `slot` is served by `node` from now on (a `MOVED` said so).
    pub fn set_owner(&self, slot: usize, node: usize) {
        self.owners[slot].store(node_id(node), Ordering::Release);
        self.moved_since_read.store(true, Ordering::Release);
        let mut masters = self.masters.write().unwrap_or_else(|p| p.into_inner());
        if !masters.contains(&node) {
            masters.push(node);
        }
    }

    /// The nodes that are masters now, in the order the map listed them.
    pub fn masters(&self) -> Vec<usize> {
        self.masters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether a slot moved since the map was last read (then the masters are read again
    /// before a command that runs on every master).
    pub fn moved_since_read(&self) -> bool {
        self.moved_since_read.load(Ordering::Acquire)
    }

    /// Installs a whole map: `(node, inclusive slot ranges)` per master. Slots the map does
    /// not assign keep their last owner (whose server answers for them, with an error).
    pub fn install(&self, served: &[(usize, Vec<(usize, usize)>)]) {
        for (node, ranges) in served {
            for &(start, end) in ranges {
                for slot in start..=end.min(SLOTS - 1) {
                    self.owners[slot].store(node_id(*node), Ordering::Release);
                }
            }
        }
        *self.masters.write().unwrap_or_else(|p| p.into_inner()) =
            served.iter().map(|(node, _)| *node).collect();
    }

    /// Runs `read` (reading the whole map again) unless another caller is at it right now or
    /// did it less than `REFRESH_AT_MOST_EVERY` ago (unless `now_anyway`); whether it ran.
    pub fn read_again<E>(
        &self,
        now_anyway: bool,
        read: impl FnOnce() -> Result<(), E>,
    ) -> Result<bool, E> {
        let Ok(mut last) = self.last_read.try_lock() else {
            return Ok(false);
        };
        if !now_anyway && last.is_some_and(|at| at.elapsed() < REFRESH_AT_MOST_EVERY) {
            return Ok(false);
        }
        self.moved_since_read.store(false, Ordering::Release);
        let result = read();
        if result.is_err() {
            self.moved_since_read.store(true, Ordering::Release);
        }
        *last = Some(Instant::now());
        result.map(|()| true)
    }
}

fn node_id(node: usize) -> u16 {
    u16::try_from(node).expect("fewer than 65536 nodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_then_move_one_slot() {
        let map = SlotMap::default();
        map.install(&[(0, vec![(0, 8191)]), (2, vec![(8192, 16383)])]);
        assert_eq!((map.owner(0), map.owner(8191), map.owner(8192)), (0, 0, 2));
        assert_eq!(map.masters(), vec![0, 2]);
        map.set_owner(100, 5);
        assert_eq!(map.owner(100), 5);
        assert_eq!(map.masters(), vec![0, 2, 5]);
    }

    #[test]
    fn reads_again_at_most_every_interval() {
        let map = SlotMap::default();
        assert_eq!(map.read_again(false, || Ok::<_, ()>(())), Ok(true));
        assert_eq!(map.read_again(false, || Ok::<_, ()>(())), Ok(false));
        assert_eq!(map.read_again(true, || Ok::<_, ()>(())), Ok(true));
    }
}
