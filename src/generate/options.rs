//! What the generator is asked for: how many orders, how often, keyed how, for which source.

use serde::{Deserialize, Serialize};

use crate::model::Source;

/// How partition keys are chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "strategy")]
pub enum KeyStrategy {
    /// Every order has the same key (one shard gets everything).
    Fixed {
        /// The key.
        key: String,
    },
    /// `n` keys, equally likely.
    Uniform {
        /// Number of keys.
        n: u32,
    },
    /// `n` keys with Zipf-like popularity: key k has weight 1/k^exponent.
    Skewed {
        /// Number of keys.
        n: u32,
        /// Skew exponent (1.0 is classic Zipf).
        exponent: f64,
    },
    /// One key per shard, chosen so that each shard gets one (Kinesis routing).
    PerShard,
}

impl KeyStrategy {
    /// Parses `fixed:KEY`, `uniform:N`, `skewed:N[:EXP]`, `per-shard`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, ':');
        let kind = parts.next().unwrap_or_default();
        let arg = parts.next();
        let n = |a: Option<&str>| -> Result<u32, String> {
            let n = a
                .ok_or_else(|| format!("{s:?}: missing key count"))?
                .parse::<u32>()
                .map_err(|_| format!("{s:?}: the key count must be a whole number"))?;
            if n == 0 {
                return Err(format!("{s:?}: the key count must be at least 1"));
            }
            Ok(n)
        };
        match kind {
            "fixed" => {
                // The whole rest is the key, colons included.
                let key = s
                    .split_once(':')
                    .map(|(_, k)| k)
                    .filter(|k| !k.is_empty())
                    .unwrap_or("store-01");
                let chars = key.chars().count();
                if chars > 256 {
                    return Err(format!(
                        "fixed key is {chars} characters: a Kinesis partition key is 1–256 characters"
                    ));
                }
                Ok(Self::Fixed {
                    key: key.to_owned(),
                })
            }
            "uniform" => Ok(Self::Uniform { n: n(arg)? }),
            "skewed" => Ok(Self::Skewed {
                n: n(arg)?,
                exponent: match parts.next() {
                    Some(e) => e
                        .parse::<f64>()
                        .ok()
                        .filter(|e| e.is_finite() && *e >= 0.0)
                        .ok_or_else(|| format!("{s:?}: the exponent must be a number ≥ 0"))?,
                    None => 1.2,
                },
            }),
            "per-shard" => Ok(Self::PerShard),
            _ => Err(format!(
                "unknown key strategy {s:?}: expected fixed:KEY, uniform:N, skewed:N[:EXPONENT] or per-shard"
            )),
        }
    }
}

/// Generator options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GenOptions {
    /// Number of orders.
    pub count: u64,
    /// Mean time between orders, ms (fractions allowed: 0.125 is 8,000 orders a second).
    pub interval_ms: f64,
    /// Jitter as a fraction of the interval (0 = regular, 1 = gaps from 0 to twice the mean).
    pub jitter: f64,
    /// Timestamp of the first order, epoch ms.
    pub start_ms: i64,
    /// Partition keys.
    pub keys: KeyStrategy,
    /// Shards (used by `per-shard` keys and when building a stream directly).
    pub shards: u32,
    /// Kinesis or DynamoDB.
    pub source: Source,
    /// Seed.
    pub seed: u64,
    /// Smallest sale.
    pub sales_min: i64,
    /// Largest sale.
    pub sales_max: i64,
    /// DynamoDB: share of orders that update an earlier order (MODIFY).
    pub modify_fraction: f64,
    /// DynamoDB: share of orders that delete an earlier order (REMOVE).
    pub remove_fraction: f64,
    /// Splits, merges and rollover of the stream's shards.
    pub reshard: crate::model::reshard::ReshardPlan,
}

/// 2026-01-01T12:00:00Z: a fixed default start, so default runs are reproducible.
pub const DEFAULT_START_MS: i64 = 1_767_268_800_000;

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            count: 1000,
            interval_ms: 250.0,
            jitter: 0.5,
            start_ms: DEFAULT_START_MS,
            keys: KeyStrategy::Uniform { n: 8 },
            shards: 2,
            source: Source::Kinesis,
            seed: 1,
            sales_min: 0,
            sales_max: 100,
            modify_fraction: 0.0,
            remove_fraction: 0.0,
            reshard: Default::default(),
        }
    }
}

impl GenOptions {
    /// Checks the options; the message names the bad option and its valid range.
    pub fn check(&self) -> Result<(), String> {
        self.reshard.check(self.source, self.shards)?;
        if !(self.interval_ms.is_finite() && (0.0..=86_400_000.0).contains(&self.interval_ms)) {
            return Err(format!(
                "interval = {} ms is out of range: valid range is 0–86400000",
                self.interval_ms
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(format!(
                "jitter = {} is out of range: valid range is 0–1",
                self.jitter
            ));
        }
        if self.sales_min > self.sales_max {
            return Err(format!(
                "sales range {}–{} is empty",
                self.sales_min, self.sales_max
            ));
        }
        if !(1..=4096).contains(&self.shards) {
            return Err(format!(
                "shards = {} is out of range: valid range is 1–4096",
                self.shards
            ));
        }
        let f = self.modify_fraction + self.remove_fraction;
        if !(0.0..=1.0).contains(&self.modify_fraction)
            || !(0.0..=1.0).contains(&self.remove_fraction)
            || f > 1.0
        {
            return Err("modify and remove fractions must be 0–1 and add up to at most 1".into());
        }
        Ok(())
    }
}
