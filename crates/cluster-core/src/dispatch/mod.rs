//! Runs a planned command by its strategy: one shard through the executor (the online window's
//! reads where a key may still be on its old master), a split over masters merged by `merge`,
//! an emulation, a fan-out, SCAN's walk, or a connection setting (`session.rs`).

mod session;

use redis::Value;

use crate::commands::SplitMerge;
use crate::error::ClusterError;
use crate::executor::window::KeyRead;
use crate::executor::{Executor, pack_keys};
use crate::merge;
use crate::router::{self, DEFAULT_SHARD, Plan, SplitGroup};
use crate::wire::items::Item;
use crate::wire::request::pack_command;
use crate::{emulate, emulate::scan};

/// Runs `args`, planned as `plan`; the reply may be a `Value::ServerError` (kept as a value so
/// pipelines can report it in place). Also returns the master that answered, for errors.
pub fn run<'e, A: AsRef<[u8]>>(
    executor: &'e Executor,
    args: &[A],
    plan: Plan<'_>,
) -> Result<(Value, &'e str), ClusterError> {
    match plan {
        Plan::Single {
            read: true,
            composable: true,
            ..
        } if executor.window_open() => {
            // Several keys that may sit on different old masters: composed key by key.
            run(
                executor,
                args,
                router::plan_composed(args, executor.placement(), executor.unit_count())?,
            )
        }
        Plan::Single {
            shard,
            read,
            stored_keys,
            first_key,
            names_key,
            ..
        } => {
            let mut packed = Vec::new();
            pack_command(args, &stored_keys, &mut packed);
            let reply = match executor.moving_key(args, first_key, read) {
                Some(key) => executor.read_key(key, packed)?,
                None => executor.single(shard, &packed, read)?,
            };
            let reply = match names_key {
                true => merge::caller_key_name(args, &stored_keys, reply),
                false => reply,
            };
            Ok((reply, executor.master_name(shard)))
        }
        Plan::Split {
            merge,
            read,
            unit,
            groups,
        } => {
            let node = executor.master_name(groups[0].shard);
            if read && executor.window_open() {
                return Ok((split_in_window(executor, args, merge, unit, &groups)?, node));
            }
            let replies = executor.split(args, read, unit, &groups);
            if !read {
                merge::all_applied(args[0].as_ref(), &replies)?;
            }
            Ok((merge::split(merge, replies, &groups, unit)?, node))
        }
        Plan::Emulated { emulation, keys } => {
            let reply = emulate::run(executor, emulation, args, &keys)?;
            Ok((reply, executor.master_name(keys[0].1)))
        }
        Plan::FanOut { merge } => {
            let mut packed = Vec::new();
            pack_command(args, &[], &mut packed);
            let reply = merge::fan_out(args[0].as_ref(), merge, executor.scatter(&packed))?;
            Ok((reply, executor.master_name(DEFAULT_SHARD)))
        }
        Plan::Walk => scan::scan(executor, args),
        Plan::Session(command) => Ok((
            session::run(executor, command, args)?,
            executor.master_name(DEFAULT_SHARD),
        )),
    }
}

/// Runs `args` as `run` does, except a split read that answers one element per key in the
/// caller's order (MGET over several masters): each element goes to `visit` (its index in that
/// answer, the element) as it is read, and `None` is answered. In the online window it takes
/// `run`'s path (each key read where it is). Any other plan answers as `run`.
pub fn run_items<'e, A: AsRef<[u8]>>(
    executor: &'e Executor,
    args: &[A],
    plan: Plan<'_>,
    visit: &mut dyn FnMut(usize, Item<'_>),
) -> Result<Option<(Value, &'e str)>, ClusterError> {
    match plan {
        Plan::Split {
            merge: SplitMerge::KeyOrder,
            read,
            unit,
            groups,
        } if !(read && executor.window_open()) => {
            let first = merge::first_key_at(&groups);
            let replies =
                executor.split_items(args, read, unit, &groups, &mut |group, at, item| {
                    visit(
                        merge::answer_index(groups[group].positions[at], first, unit),
                        item,
                    )
                });
            merge::items_visited(replies)?;
            Ok(None)
        }
        other => run(executor, args, other).map(Some),
    }
}

/// A split read (MGET, EXISTS, TOUCH) in the online window: each key read on its own, where it
/// is (every master at once, per step), then merged as if each key had been its own group.
fn split_in_window<A: AsRef<[u8]>>(
    executor: &Executor,
    args: &[A],
    merge: SplitMerge,
    unit: usize,
    groups: &[SplitGroup],
) -> Result<Value, ClusterError> {
    let (placement, masters) = (executor.placement(), executor.unit_count());
    let per_key: Vec<SplitGroup> = groups
        .iter()
        .flat_map(|group| {
            group.positions.iter().map(|&at| SplitGroup {
                shard: group.shard,
                positions: vec![at],
            })
        })
        .collect();
    let reads: Vec<KeyRead<'_>> = per_key
        .iter()
        .map(|group| {
            let key = placement.place(args[group.positions[0]].as_ref(), masters);
            let packed = pack_keys(placement, args, &group.positions, unit);
            KeyRead { key, packed }
        })
        .collect();
    let values = executor.read_keys(&reads)?;
    let replies: merge::Replies<'_> = per_key
        .iter()
        .zip(values)
        .map(|(group, value)| (executor.master_name(group.shard), Ok(value)))
        .collect();
    merge::split(merge, replies, &per_key, unit)
}
