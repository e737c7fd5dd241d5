//! Resharding: Kinesis `SplitShard` / `MergeShards` at given times, and DynamoDB Streams' shard
//! rollover, as the shard table they produce (SEMANTICS §7.7, §14.2).
//!
//! A [`Topology`] lists every shard that exists during the stream: its hash-key range, its
//! parents, and when it opened and closed. A record goes to the shard that holds its hash key
//! and was open at its arrival time, so records after a split route by the children's ranges.

use serde::{Deserialize, Serialize};

use crate::model::routing;

/// One resharding operation, as `--reshard TIME:split:SHARD` or `TIME:merge:SHARD,SHARD`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reshard {
    /// When the parent shards close and the children open, epoch ms.
    pub at_ms: i64,
    /// What happens.
    pub op: ReshardOp,
}

/// Split or merge, naming shards by index (`shardId-000000000003` is 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ReshardOp {
    /// `SplitShard`: hash keys from `new_starting_hash_key` up go to the second child, the
    /// lower keys to the first. `None`: the midpoint of the parent's range (an even split).
    Split {
        /// The shard split.
        shard: u32,
        /// `NewStartingHashKey`.
        new_starting_hash_key: Option<u128>,
    },
    /// `MergeShards`: two shards with adjacent hash-key ranges become one child.
    Merge {
        /// `ShardToMerge`.
        shard: u32,
        /// `AdjacentShardToMerge`.
        adjacent: u32,
    },
}

impl std::str::FromStr for Reshard {
    type Err = String;

    /// `TIME:split:SHARD[@HASHKEY]` or `TIME:merge:SHARD,SHARD`; TIME is RFC 3339 or Unix
    /// seconds; SHARD an index or a `shardId-…` id.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "--reshard {s:?}: {why}; expected TIME:split:SHARD or TIME:merge:SHARD,SHARD \
                 (e.g. 2026-01-01T12:00:45Z:split:0)"
            )
        };
        let mut parts = s.rsplitn(3, ':');
        let (Some(shards), Some(kind), Some(time)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("missing parts"));
        };
        let at_ms = crate::model::parse_instant(time).map_err(|e| bad(&e))?;
        let op = match kind.to_ascii_lowercase().as_str() {
            "split" => {
                let (shard, key) = match shards.split_once('@') {
                    Some((sh, k)) => (sh, Some(routing::parse_explicit_hash_key(k)?)),
                    None => (shards, None),
                };
                ReshardOp::Split {
                    shard: shard_index(shard).map_err(|e| bad(&e))?,
                    new_starting_hash_key: key,
                }
            }
            "merge" => {
                let Some((a, b)) = shards.split_once(',') else {
                    return Err(bad("a merge names two shards, separated by a comma"));
                };
                ReshardOp::Merge {
                    shard: shard_index(a).map_err(|e| bad(&e))?,
                    adjacent: shard_index(b).map_err(|e| bad(&e))?,
                }
            }
            other => return Err(bad(&format!("unknown operation {other:?}"))),
        };
        Ok(Self { at_ms, op })
    }
}

/// A shard named by index or by its Kinesis id.
fn shard_index(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let digits = s.strip_prefix("shardId-").unwrap_or(s);
    digits
        .parse::<u32>()
        .map_err(|_| format!("{s:?} is not a shard index or a shardId-NNNNNNNNNNNN id"))
}

/// The default DynamoDB shard rollover period: AWS publishes none; about four hours is a
/// community observation (SEMANTICS §14.2), so this is a modelling choice.
pub const DEFAULT_ROLLOVER_MS: i64 = 4 * 3_600_000;

/// How the stream's shards change over time: Kinesis operations, and the DynamoDB rollover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReshardPlan {
    /// Kinesis split and merge operations.
    pub steps: Vec<Reshard>,
    /// DynamoDB Streams: each shard closes and opens one child this long after it opened
    /// (`None` or 0: never).
    pub rollover_ms: Option<i64>,
}

impl Default for ReshardPlan {
    fn default() -> Self {
        Self {
            steps: Vec::new(),
            rollover_ms: Some(DEFAULT_ROLLOVER_MS),
        }
    }
}

impl ReshardPlan {
    /// The rollover period, when there is one.
    pub fn rollover(&self) -> Option<i64> {
        self.rollover_ms.filter(|&ms| ms > 0)
    }

    /// Whether the plan fits a stream of `shards` initial shards from `source`: splits and
    /// merges are Kinesis operations on shards open at the time.
    pub fn check(&self, source: crate::model::Source, shards: u32) -> Result<(), String> {
        if self.rollover_ms.is_some_and(|ms| ms < 0) {
            return Err("--rollover-hours must be 0 (never) or more".into());
        }
        if self.steps.is_empty() {
            return Ok(());
        }
        if source == crate::model::Source::Dynamodb {
            return Err(
                "--reshard is for Kinesis: DynamoDB Streams shards are not split or \
                        merged on request; they roll over (--rollover-hours)"
                    .into(),
            );
        }
        Topology::kinesis(shards, &self.steps).map(|_| ())
    }
}

/// One shard that exists at some point of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    /// Inclusive hash-key range.
    pub hash: (u128, u128),
    /// Parent shards by index.
    pub parents: Vec<u32>,
    /// Writes go here from this instant (`i64::MIN`: from the start).
    pub opened_ms: i64,
    /// No writes from this instant on (`None`: open to the end).
    pub closed_ms: Option<i64>,
}

impl ShardSpec {
    fn open_at(&self, ts: i64) -> bool {
        self.opened_ms <= ts && self.closed_ms.is_none_or(|c| ts < c)
    }
}

/// Every shard of a Kinesis stream over time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Shards in index order: the `n` initial ones, then children in the order they opened.
    pub shards: Vec<ShardSpec>,
}

impl Topology {
    /// `n` shards with evenly split ranges, then `steps` applied in time order (stable).
    pub fn kinesis(n: u32, steps: &[Reshard]) -> Result<Self, String> {
        let n = n.max(1);
        let mut t = Self {
            shards: (0..n)
                .map(|i| ShardSpec {
                    hash: routing::hash_key_range(i, n),
                    parents: Vec::new(),
                    opened_ms: i64::MIN,
                    closed_ms: None,
                })
                .collect(),
        };
        let mut ordered: Vec<&Reshard> = steps.iter().collect();
        ordered.sort_by_key(|r| r.at_ms);
        for r in ordered {
            t.apply(r)?;
        }
        Ok(t)
    }

    /// Number of shards ever open.
    pub fn len(&self) -> u32 {
        self.shards.len() as u32
    }

    /// Whether no shard exists (never: there is at least one).
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    fn open_shard(&self, idx: u32, at_ms: i64) -> Result<&ShardSpec, String> {
        let Some(spec) = self.shards.get(idx as usize) else {
            return Err(format!(
                "shard {idx} does not exist (shards 0–{} exist then)",
                self.len() - 1
            ));
        };
        if !spec.open_at(at_ms) {
            return Err(format!(
                "shard {} is not open at {}",
                routing::kinesis_shard_id(idx),
                crate::model::iso_millis(at_ms)
            ));
        }
        Ok(spec)
    }

    fn apply(&mut self, r: &Reshard) -> Result<(), String> {
        let when = crate::model::iso_millis(r.at_ms);
        let ctx = |e: String| format!("--reshard at {when}: {e}");
        match r.op {
            ReshardOp::Split {
                shard,
                new_starting_hash_key,
            } => {
                let (lo, hi) = self.open_shard(shard, r.at_ms).map_err(ctx)?.hash;
                let mid = new_starting_hash_key.unwrap_or(lo + (hi - lo) / 2 + 1);
                if mid <= lo || mid > hi {
                    return Err(ctx(format!(
                        "NewStartingHashKey {mid} is not inside shard {shard}'s range {lo}–{hi} \
                         (it must be above its start)"
                    )));
                }
                self.close(&[shard], r.at_ms, &[(lo, mid - 1), (mid, hi)]);
            }
            ReshardOp::Merge { shard, adjacent } => {
                let a = self.open_shard(shard, r.at_ms).map_err(ctx)?.hash;
                let b = self.open_shard(adjacent, r.at_ms).map_err(ctx)?.hash;
                let (first, second) = if a.0 < b.0 { (a, b) } else { (b, a) };
                if shard == adjacent || first.1.checked_add(1) != Some(second.0) {
                    return Err(ctx(format!(
                        "shards {shard} and {adjacent} are not adjacent (their hash-key ranges \
                         must touch), so Kinesis refuses to merge them"
                    )));
                }
                self.close(&[shard, adjacent], r.at_ms, &[(first.0, second.1)]);
            }
        }
        Ok(())
    }

    fn close(&mut self, parents: &[u32], at_ms: i64, children: &[(u128, u128)]) {
        for &p in parents {
            self.shards[p as usize].closed_ms = Some(at_ms);
        }
        for &hash in children {
            self.shards.push(ShardSpec {
                hash,
                parents: parents.to_vec(),
                opened_ms: at_ms,
                closed_ms: None,
            });
        }
    }

    /// The shard holding `hash` at `ts_ms`. Records before the first open time go to the
    /// initial shards.
    pub fn route(&self, hash: u128, ts_ms: i64) -> u32 {
        let covers = |s: &ShardSpec| s.hash.0 <= hash && hash <= s.hash.1;
        self.shards
            .iter()
            .rposition(|s| covers(s) && s.open_at(ts_ms))
            .or_else(|| self.shards.iter().position(covers))
            .unwrap_or(0) as u32
    }
}

/// DynamoDB rollover: the shard a record of initial shard `root` at `ts_ms` goes to, with `n`
/// initial shards opened at `origin_ms` and a child per shard every `period_ms`. Shard
/// `root + n·g` is generation `g` of `root`.
pub fn rollover_shard(root: u32, n: u32, ts_ms: i64, origin_ms: i64, period_ms: i64) -> u32 {
    let g = (ts_ms - origin_ms).max(0) / period_ms;
    root + n * u32::try_from(g).unwrap_or(u32::MAX / n.max(1) - 1)
}

/// Number of generations a rollover produces up to `last_ms`.
pub fn rollover_generations(last_ms: i64, origin_ms: i64, period_ms: i64) -> u32 {
    u32::try_from((last_ms - origin_ms).max(0) / period_ms + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reshard {
        s.parse().unwrap()
    }

    #[test]
    fn reshard_specs_parse_with_rfc3339_times_and_shard_ids() {
        let a = r("2026-01-01T12:00:45Z:split:0");
        assert_eq!(a.at_ms, 1_767_268_845_000);
        assert_eq!(
            a.op,
            ReshardOp::Split {
                shard: 0,
                new_starting_hash_key: None
            }
        );
        let b = r("1767268845:merge:shardId-000000000002,3");
        assert_eq!(
            b.op,
            ReshardOp::Merge {
                shard: 2,
                adjacent: 3
            }
        );
        assert_eq!(
            r("1767268845:split:1@7").op,
            ReshardOp::Split {
                shard: 1,
                new_starting_hash_key: Some(7)
            }
        );
        for bad in [
            "split:0",
            "x:split:0",
            "1767268845:join:0",
            "1767268845:merge:1",
        ] {
            assert!(bad.parse::<Reshard>().is_err(), "{bad}");
        }
    }

    /// SEMANTICS §14.2 (Kinesis SplitShard): keys from NewStartingHashKey up go to one child,
    /// the lower keys to the other; new ids continue the numbering.
    #[test]
    fn a_split_gives_two_children_the_two_halves_and_later_records_route_by_them() {
        let t = Topology::kinesis(2, &[r("1000:split:0")]).unwrap();
        assert_eq!(t.len(), 4);
        let (lo, hi) = routing::hash_key_range(0, 2);
        let mid = lo + (hi - lo) / 2 + 1;
        assert_eq!(t.shards[2].hash, (lo, mid - 1));
        assert_eq!(t.shards[3].hash, (mid, hi));
        assert_eq!(t.shards[2].parents, [0]);
        assert_eq!(t.shards[0].closed_ms, Some(1_000_000));
        assert_eq!(t.route(mid, 999_999), 0, "before the split: the parent");
        assert_eq!(t.route(mid - 1, 1_000_000), 2);
        assert_eq!(t.route(mid, 1_000_000), 3);
        assert_eq!(
            t.route(hi + 1, 1_000_000),
            1,
            "the other shard is untouched"
        );
    }

    /// SEMANTICS §14.2 (Kinesis MergeShards): two adjacent shards become one child covering
    /// both ranges; shards that do not touch are refused.
    #[test]
    fn a_merge_joins_adjacent_ranges_and_refuses_others() {
        let t = Topology::kinesis(3, &[r("1000:merge:1,0")]).unwrap();
        assert_eq!(t.shards[3].hash, (0, routing::hash_key_range(1, 3).1));
        assert_eq!(t.shards[3].parents, [1, 0]);
        let e = Topology::kinesis(3, &[r("1000:merge:0,2")]).unwrap_err();
        assert!(e.contains("not adjacent"), "{e}");
        let e = Topology::kinesis(2, &[r("1000:split:0"), r("2000:split:0")]).unwrap_err();
        assert!(e.contains("not open"), "{e}");
        let e = Topology::kinesis(2, &[r("1000:split:5")]).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn steps_apply_in_time_order_whatever_order_they_are_given() {
        let given = [r("2000:merge:2,3"), r("1000:split:0")];
        let t = Topology::kinesis(2, &given).unwrap();
        assert_eq!(t.len(), 5);
        assert_eq!(t.shards[4].parents, [2, 3]);
        assert_eq!(t.shards[4].hash, routing::hash_key_range(0, 2));
    }

    #[test]
    fn rollover_moves_each_root_to_its_next_generation_every_period() {
        assert_eq!(rollover_shard(1, 3, 0, 0, 10), 1);
        assert_eq!(rollover_shard(1, 3, 9, 0, 10), 1);
        assert_eq!(rollover_shard(1, 3, 10, 0, 10), 4);
        assert_eq!(rollover_shard(2, 3, 25, 0, 10), 8);
        assert_eq!(rollover_generations(25, 0, 10), 3);
    }
}
