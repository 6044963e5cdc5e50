//! Commands grouped by master while they are packed: each master's commands are written in
//! one go, and every reply goes back to its command's place in the caller's order.

/// One master's share: its packed commands, back to back, and their places in the caller's
/// list.
pub(crate) struct Batch {
    /// The node (an index into the topology's nodes, not a unit).
    pub(crate) shard: usize,
    pub(crate) packed: Vec<u8>,
    pub(crate) places: Vec<usize>,
    /// Where each command starts in `packed` (unless `EagerBatches` wrote and took bytes
    /// early), so that one can be sent again alone (a Redis Cluster's redirect).
    pub(crate) starts: Vec<usize>,
}

impl Batch {
    /// The bytes of the batch's `k`-th command.
    pub(crate) fn command(&self, k: usize) -> &[u8] {
        let end = self.starts.get(k + 1).copied().unwrap_or(self.packed.len());
        &self.packed[self.starts[k]..end]
    }
}

#[derive(Default)]
pub(crate) struct MasterBatches {
    count: usize,
    batches: Vec<Batch>,
}

impl MasterBatches {
    /// The buffer the next command for `shard` is packed onto (appended to; only
    /// `EagerBatches` takes what it holds, once written): the command is packed once, straight
    /// into its master's write.
    pub(crate) fn next_for(&mut self, shard: usize) -> &mut Vec<u8> {
        // A handful of masters: a linear search beats hashing.
        let at = match self.batches.iter().position(|b| b.shard == shard) {
            Some(at) => at,
            None => {
                self.batches.push(Batch {
                    shard,
                    packed: Vec::new(),
                    places: Vec::new(),
                    starts: Vec::new(),
                });
                self.batches.len() - 1
            }
        };
        let batch = &mut self.batches[at];
        batch.places.push(self.count);
        batch.starts.push(batch.packed.len());
        self.count += 1;
        &mut batch.packed
    }

    /// The bytes packed for `shard` and not taken yet (see `EagerBatches`), if it has a batch.
    pub(crate) fn packed_mut(&mut self, shard: usize) -> Option<&mut Vec<u8>> {
        self.batches
            .iter_mut()
            .find(|b| b.shard == shard)
            .map(|b| &mut b.packed)
    }

    /// How many commands were packed.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn into_batches(self) -> Vec<Batch> {
        self.batches
    }
}

#[cfg(test)]
mod tests {
    use super::MasterBatches;

    #[test]
    fn commands_are_grouped_by_master_and_keep_their_places() {
        let mut batches = MasterBatches::default();
        for (shard, bytes) in [(2, "a"), (0, "b"), (2, "c"), (1, "d"), (0, "e")] {
            batches.next_for(shard).extend_from_slice(bytes.as_bytes());
        }
        assert_eq!(batches.len(), 5);
        let grouped: Vec<_> = batches
            .into_batches()
            .into_iter()
            .map(|b| (b.shard, String::from_utf8(b.packed).unwrap(), b.places))
            .collect();
        assert_eq!(
            grouped,
            [
                (2, "ac".to_owned(), vec![0, 2]),
                (0, "be".to_owned(), vec![1, 4]),
                (1, "d".to_owned(), vec![3]),
            ]
        );
    }
}
