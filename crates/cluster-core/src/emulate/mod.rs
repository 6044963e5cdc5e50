//! Commands composed by the client when their keys live on several masters: per-node reads
//! (each key read where it is, the online window included), computed here, per-node writes.
//! None of them is atomic across nodes (each step is atomic on its node); each keeps Redis's
//! replies and errors, and none loses data. Which emulation a command uses is the command
//! table's `Emulation`; `run` matches on it, never on a name. SCAN's walk over the masters is
//! here too (`scan.rs`).

mod common;
mod gather;
mod keys;
mod lists;
mod pops;
pub mod scan;
mod sets;
mod sort;
mod strings;
mod zsets;

use redis::Value;

use crate::commands::{Destination, Emulation};
use crate::error::ClusterError;
use crate::executor::Executor;
use common::Key;
use lists::Ends;

/// Runs an emulated command whose keys are `(argument index, master)`, in key-spec order.
pub fn run<A: AsRef<[u8]>>(
    executor: &Executor,
    emulation: Emulation,
    args: &[A],
    placed: &[(usize, usize)],
) -> Result<Value, ClusterError> {
    let positions: Vec<usize> = placed.iter().map(|&(at, _)| at).collect();
    let masters = executor.unit_count();
    let keys: Vec<Key<'_>> = positions
        .iter()
        .map(|&at| executor.placement().place(args[at].as_ref(), masters))
        .collect();
    match emulation {
        Emulation::SetAlgebra(op) => sets::algebra(executor, op, &keys),
        Emulation::SetAlgebraStore(op) => sets::algebra_store(executor, op, keys[0], &keys[1..]),
        Emulation::SetInterCard => sets::intercard(executor, args, &keys),
        Emulation::SetMove => sets::smove(executor, keys[0], keys[1], args[3].as_ref()),
        Emulation::SortedSetAlgebra(op) => zsets::combine(executor, op, args, &keys),
        Emulation::SortedSetAlgebraStore(op) => {
            zsets::combine_store(executor, op, args, keys[0], &keys[1..])
        }
        Emulation::SortedSetInterCard => zsets::intercard(executor, args, &keys),
        Emulation::Rename { only_if_new } => keys::rename(executor, keys[0], keys[1], only_if_new),
        Emulation::CopyKey => keys::copy(executor, args, keys[0], keys[1]),
        Emulation::MSetNx => strings::msetnx(executor, args, &keys, &positions),
        Emulation::HyperLogLogCount => strings::pfcount(executor, &keys),
        Emulation::HyperLogLogMerge => strings::pfmerge(executor, keys[0], &keys[1..]),
        Emulation::ListMove { ends, blocking } => {
            // LMOVE source destination LEFT|RIGHT LEFT|RIGHT [timeout]
            let ends = match ends {
                Some(ends) => ends,
                None => lists::parse_ends(args[3].as_ref(), args[4].as_ref())?,
            };
            let ends = Ends {
                from: ends.0,
                to: ends.1,
            };
            if blocking {
                let timeout = args[args.len() - 1].as_ref();
                lists::blmove(executor, keys[0], keys[1], ends, timeout)
            } else {
                lists::lmove(executor, keys[0], keys[1], ends)
            }
        }
        Emulation::PopFirst { pop, timeout } => {
            pops::pop_first(executor, pop, timeout, args, &keys, &positions)
        }
        Emulation::OnDestination(destination) => {
            let home = match destination {
                Destination::FirstKey => 0,
                Destination::LastKey => keys.len() - 1,
            };
            gather::on_destination(executor, args, &positions, &keys, home)
        }
        Emulation::Sort { read_only } => sort::sort(executor, read_only, args, &keys),
    }
}
