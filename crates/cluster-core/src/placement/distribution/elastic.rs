//! The elastic placement: 16,384 slots (Redis Cluster's: CRC16/XMODEM of the route, modulo
//! 16,384), each owned by one master, the table kept in the config. Growing a deployment moves
//! only the slots a new master takes over, instead of nearly every key as `crc32 % N` does.
//! With `tags: "keep"` a key's slot is exactly its Redis Cluster slot.

use crc::{CRC_16_XMODEM, Crc, Table};

/// The number of slots, Redis Cluster's.
pub const SLOTS: usize = 16_384;

/// Sixteen bytes per step (a 16-table CRC): a key's slot costs about what its CRC-32 does.
const CRC16: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_XMODEM);

/// Redis Cluster's slot of a routing key.
#[inline]
pub fn slot_of(route: &[u8]) -> usize {
    CRC16.checksum(route) as usize % SLOTS
}

/// A short text whose slot is `slot`: a hash tag that puts a name in that slot (the emulations'
/// temporary keys on a Redis Cluster share their destination's slot this way). The table is
/// found once, by trying short decimal texts until every slot has one.
pub fn tag_for_slot(slot: usize) -> &'static str {
    static TAGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        let mut tags = vec![String::new(); SLOTS];
        let mut missing = SLOTS;
        for candidate in 0u32.. {
            let text = candidate.to_string();
            let slot = slot_of(text.as_bytes());
            if tags[slot].is_empty() {
                tags[slot] = text;
                missing -= 1;
                if missing == 0 {
                    break;
                }
            }
        }
        tags
    });
    &tags[slot]
}

/// Which master (0-based) owns each slot.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotTable {
    owners: Box<[u16]>,
    masters: usize,
}

impl std::fmt::Debug for SlotTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotTable")
            .field("masters", &self.masters)
            .field("ranges", &self.ranges())
            .finish()
    }
}

/// A slot table that cannot be used, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("slot {0} is not assigned to any master")]
    Unassigned(usize),
    #[error("slot {slot} is assigned twice (to {first} and to {second})")]
    Twice {
        slot: usize,
        first: usize,
        second: usize,
    },
    #[error("'{0}' is not a slot or a range of slots (0-16383, e.g. \"0-5460\" or 7000)")]
    BadRange(String),
    #[error("{0} masters: an elastic deployment has at most 16384 (one slot each)")]
    TooManyMasters(usize),
}

impl SlotTable {
    /// Contiguous, even ranges in master order, cut where `redis-cli --cluster create` cuts
    /// them (3 masters: 0-5460, 5461-10922, 10923-16383). `masters` is 1..=16384.
    pub fn even(masters: usize) -> SlotTable {
        assert!(masters > 0 && masters <= SLOTS, "1..=16384 masters");
        let per_master = SLOTS as f64 / masters as f64;
        let mut owners = vec![0u16; SLOTS];
        let (mut first, mut cursor) = (0usize, 0.0f64);
        for master in 0..masters {
            // redis-cli: lround(cursor + per_master - 1), the last master to the end.
            let mut last = (cursor + per_master - 1.0).round() as usize;
            if last >= SLOTS || master == masters - 1 {
                last = SLOTS - 1;
            }
            last = last.max(first);
            owners[first..=last].fill(master as u16);
            first = last + 1;
            cursor += per_master;
        }
        SlotTable {
            owners: owners.into_boxed_slice(),
            masters,
        }
    }

    /// From each master's ranges (`ranges[i]` lists master `i`'s `(first, last)` slots): every
    /// slot exactly once.
    pub fn from_ranges(ranges: &[Vec<(usize, usize)>]) -> Result<SlotTable, SlotError> {
        const FREE: u16 = u16::MAX;
        let mut owners = vec![FREE; SLOTS];
        for (master, list) in ranges.iter().enumerate() {
            for &(first, last) in list {
                if first > last || last >= SLOTS {
                    return Err(SlotError::BadRange(format!("{first}-{last}")));
                }
                for (slot, owner) in owners.iter_mut().enumerate().take(last + 1).skip(first) {
                    if *owner != FREE {
                        return Err(SlotError::Twice {
                            slot,
                            first: *owner as usize,
                            second: master,
                        });
                    }
                    *owner = master as u16;
                }
            }
        }
        if let Some(slot) = owners.iter().position(|&o| o == FREE) {
            return Err(SlotError::Unassigned(slot));
        }
        Ok(SlotTable {
            owners: owners.into_boxed_slice(),
            masters: ranges.len(),
        })
    }

    #[inline]
    pub fn owner(&self, slot: usize) -> usize {
        self.owners[slot] as usize
    }

    #[inline]
    pub fn index(&self, route: &[u8]) -> usize {
        self.owners[slot_of(route)] as usize
    }

    /// Each master's slots as `(first, last)` ranges, in slot order.
    pub fn ranges(&self) -> Vec<Vec<(usize, usize)>> {
        let mut out = vec![Vec::new(); self.masters];
        let mut start = 0;
        for slot in 1..=SLOTS {
            if slot == SLOTS || self.owners[slot] != self.owners[start] {
                out[self.owners[start] as usize].push((start, slot - 1));
                start = slot;
            }
        }
        out
    }

    /// How many slots each master owns.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.masters];
        self.owners.iter().for_each(|&o| counts[o as usize] += 1);
        counts
    }

    /// This table with `added` more masters (indexes after the current ones), each taking an
    /// even share from the masters that own the most, so that only the taken slots move:
    /// 8 → 9 masters moves 1/9 of the slots, the least any placement can move.
    pub fn grown(&self, added: usize) -> SlotTable {
        let masters = self.masters + added;
        let mut owners = self.owners.to_vec();
        let mut counts = self.counts();
        counts.resize(masters, 0);
        let target = |m: usize| SLOTS / masters + usize::from(m < SLOTS % masters);
        // Targets by current size: the largest masters keep the larger shares.
        let mut by_size: Vec<usize> = (0..self.masters).collect();
        by_size.sort_by_key(|&m| (std::cmp::Reverse(counts[m]), m));
        let mut keep = vec![0; masters];
        for (rank, &m) in by_size.iter().enumerate() {
            keep[m] = target(rank);
        }
        for (rank, m) in (self.masters..masters).enumerate() {
            keep[m] = target(self.masters + rank);
        }
        // Give each new master its share from the highest slots of masters over their share.
        let mut new_master = self.masters;
        for slot in (0..SLOTS).rev() {
            if new_master == masters {
                break;
            }
            let owner = owners[slot] as usize;
            if owner < self.masters && counts[owner] > keep[owner] {
                counts[owner] -= 1;
                owners[slot] = new_master as u16;
                counts[new_master] += 1;
                while new_master < masters && counts[new_master] >= keep[new_master] {
                    new_master += 1;
                }
            }
        }
        SlotTable {
            owners: owners.into_boxed_slice(),
            masters,
        }
    }
}

/// `"0-5460,7000,7002-7010"` → ranges.
pub fn parse_ranges(text: &str) -> Result<Vec<(usize, usize)>, SlotError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let bad = || SlotError::BadRange(part.to_owned());
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let first: usize = first.parse().map_err(|_| bad())?;
            let last: usize = last.parse().map_err(|_| bad())?;
            if first > last || last >= SLOTS {
                return Err(bad());
            }
            Ok((first, last))
        })
        .collect()
}

/// Ranges → `"0-5460,7000"`.
pub fn format_ranges(ranges: &[(usize, usize)]) -> String {
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_cluster_slots() {
        // Known Redis Cluster slots (CLUSTER KEYSLOT).
        assert_eq!(slot_of(b"foo"), 12182);
        assert_eq!(slot_of(b"bar"), 5061);
        assert_eq!(slot_of(b"123456789"), 0x31c3 % SLOTS);
    }

    #[test]
    fn even_tables_split_like_redis_cli() {
        let table = SlotTable::even(3);
        assert_eq!(
            table.ranges(),
            vec![vec![(0, 5460)], vec![(5461, 10922)], vec![(10923, 16383)]]
        );
        assert_eq!(SlotTable::from_ranges(&table.ranges()), Ok(table));
    }

    #[test]
    fn bad_tables_are_named() {
        assert_eq!(
            SlotTable::from_ranges(&[vec![(0, 100)], vec![(101, 16382)]]),
            Err(SlotError::Unassigned(16383))
        );
        assert_eq!(
            SlotTable::from_ranges(&[vec![(0, 100)], vec![(100, 16383)]]),
            Err(SlotError::Twice {
                slot: 100,
                first: 0,
                second: 1
            })
        );
        assert!(parse_ranges("0-16384").is_err());
        assert!(parse_ranges("5-1").is_err());
        assert!(parse_ranges("x").is_err());
        assert_eq!(
            parse_ranges("0-5, 7 ,9-9"),
            Ok(vec![(0, 5), (7, 7), (9, 9)])
        );
        assert_eq!(format_ranges(&[(0, 5), (7, 7)]), "0-5,7");
    }

    #[test]
    fn growing_moves_only_the_new_masters_share() {
        for (from, added) in [(8, 1), (3, 2), (1, 1), (5, 3)] {
            let old = SlotTable::even(from);
            let new = old.grown(added);
            let moved = (0..SLOTS).filter(|&s| old.owner(s) != new.owner(s)).count();
            let counts = new.counts();
            let (min, max) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
            assert!(max - min <= 1, "{from}+{added}: {counts:?}");
            let ideal = SLOTS * added / (from + added);
            assert!(moved <= ideal + added, "{from}+{added}: moved {moved}");
            assert!(
                (0..SLOTS).all(|s| old.owner(s) == new.owner(s) || new.owner(s) >= from),
                "slots only move to new masters"
            );
        }
    }
}
