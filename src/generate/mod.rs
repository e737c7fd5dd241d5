//! Seeded order-stream generator: what a point-of-sale producer puts on a stream.
//!
//! No wall clock and no thread RNG: the same options give the same orders, byte for byte.

use std::io::Write as _;

use serde::{Deserialize, Serialize};

use crate::model::routing;
use crate::model::stream::{InputRecord, Stream, StreamBuilder, StreamMeta};
use crate::model::{EventName, Source};

/// A small, fast, seedable PRNG (SplitMix64); good enough for test data, and identical on every
/// platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi]`.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
}

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
        }
    }
}

impl GenOptions {
    /// Checks the options; the message names the bad option and its valid range.
    pub fn check(&self) -> Result<(), String> {
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

/// One generated order.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// Timestamp, epoch ms.
    pub ts_ms: i64,
    /// Partition key (Kinesis), or `None` when it defaults to the item key (DynamoDB).
    pub partition_key: Option<String>,
    /// The key that routes the record (partition key or item key).
    pub routing_key: usize,
    /// Payload: compact JSON.
    pub data: String,
    /// DynamoDB event type.
    pub event_name: EventName,
    /// DynamoDB old image (compact JSON).
    pub old_image: Option<String>,
    /// Item key (DynamoDB) — the order id.
    pub order_id: String,
    /// The sale in `data`.
    pub sales: i64,
}

/// Streams orders for given options.
pub struct Generator {
    opts: GenOptions,
    rng: Rng,
    i: u64,
    ts_ms: i64,
    exact_ms: f64,
    keys: Vec<String>,
    /// Cumulative weights for skewed keys.
    cumulative: Vec<f64>,
    /// Recent DynamoDB items that MODIFY/REMOVE can target: (id, store, sales).
    recent: Vec<(String, usize, i64)>,
}

impl Generator {
    /// A generator; options must have passed [`GenOptions::check`].
    pub fn new(opts: GenOptions) -> Self {
        let keys: Vec<String> = match &opts.keys {
            KeyStrategy::Fixed { key } => vec![key.clone()],
            KeyStrategy::Uniform { n } | KeyStrategy::Skewed { n, .. } => {
                let width = n.to_string().len().max(2);
                (1..=*n).map(|k| format!("store-{k:0width$}")).collect()
            }
            KeyStrategy::PerShard => per_shard_keys(opts.shards),
        };
        let cumulative = match &opts.keys {
            KeyStrategy::Skewed { exponent, .. } => {
                let mut acc = 0.0;
                let w: Vec<f64> = (1..=keys.len())
                    .map(|k| {
                        acc += 1.0 / (k as f64).powf(*exponent);
                        acc
                    })
                    .collect();
                w.iter().map(|x| x / acc).collect()
            }
            _ => Vec::new(),
        };
        Self {
            rng: Rng::new(opts.seed),
            ts_ms: opts.start_ms,
            exact_ms: 0.0,
            opts,
            i: 0,
            keys,
            cumulative,
            recent: Vec::new(),
        }
    }

    /// The partition keys in use.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    fn pick_key(&mut self) -> usize {
        match self.keys.len() {
            0 | 1 => 0,
            n if self.cumulative.is_empty() => (self.rng.next_u64() % n as u64) as usize,
            n => {
                let u = self.rng.next_f64();
                self.cumulative.partition_point(|c| *c <= u).min(n - 1)
            }
        }
    }
}

impl Iterator for Generator {
    type Item = Order;

    fn next(&mut self) -> Option<Order> {
        if self.i >= self.opts.count {
            return None;
        }
        if self.i > 0 {
            let mean = self.opts.interval_ms;
            let u = self.rng.next_f64() * 2.0 - 1.0;
            let gap = mean * (1.0 + self.opts.jitter * u);
            // Exact time in f64, rounded per record, so sub-millisecond intervals add up.
            self.exact_ms += gap.max(0.0);
            self.ts_ms = self.opts.start_ms + self.exact_ms.round() as i64;
        }
        self.i += 1;
        let sales = self.rng.range_i64(self.opts.sales_min, self.opts.sales_max);
        let key = self.pick_key();
        let store = &self.keys[key];
        let id = format!("o-{:08}", self.i);
        let order = match self.opts.source {
            Source::Kinesis => Order {
                ts_ms: self.ts_ms,
                partition_key: Some(store.clone()),
                routing_key: key,
                data: format!(
                    r#"{{"Item":{{"orderId":"{id}","store":"{store}","sales":{sales}}}}}"#
                ),
                event_name: EventName::Insert,
                old_image: None,
                order_id: id,
                sales,
            },
            Source::Dynamodb => {
                let roll = self.rng.next_f64();
                let modify = roll < self.opts.modify_fraction;
                let remove =
                    !modify && roll < self.opts.modify_fraction + self.opts.remove_fraction;
                let target = if (modify || remove) && !self.recent.is_empty() {
                    let k = (self.rng.next_u64() % self.recent.len() as u64) as usize;
                    Some(k)
                } else {
                    None
                };
                match target {
                    Some(k) if modify => {
                        let (tid, tstore, old_sales) = self.recent[k].clone();
                        self.recent[k].2 = sales;
                        let ts = &self.keys[tstore];
                        Order {
                            ts_ms: self.ts_ms,
                            partition_key: None,
                            routing_key: tstore,
                            data: format!(r#"{{"ID":"{tid}","store":"{ts}","sales":{sales}}}"#),
                            event_name: EventName::Modify,
                            old_image: Some(format!(
                                r#"{{"ID":"{tid}","store":"{ts}","sales":{old_sales}}}"#
                            )),
                            order_id: tid,
                            sales,
                        }
                    }
                    Some(k) => {
                        let (tid, tstore, old_sales) = self.recent.swap_remove(k);
                        let ts = &self.keys[tstore];
                        Order {
                            ts_ms: self.ts_ms,
                            partition_key: None,
                            routing_key: tstore,
                            data: format!(r#"{{"ID":"{tid}","store":"{ts}","sales":{old_sales}}}"#),
                            event_name: EventName::Remove,
                            old_image: None,
                            order_id: tid,
                            sales: old_sales,
                        }
                    }
                    None => {
                        if self.recent.len() < 1024 {
                            self.recent.push((id.clone(), key, sales));
                        } else {
                            let k = (self.i % 1024) as usize;
                            self.recent[k] = (id.clone(), key, sales);
                        }
                        Order {
                            ts_ms: self.ts_ms,
                            partition_key: None,
                            routing_key: key,
                            data: format!(r#"{{"ID":"{id}","store":"{store}","sales":{sales}}}"#),
                            event_name: EventName::Insert,
                            old_image: None,
                            order_id: id,
                            sales,
                        }
                    }
                }
            }
        };
        Some(order)
    }
}

/// Keys `store-01`, `store-02`, ... picked so that key k routes to Kinesis shard k.
pub fn per_shard_keys(shards: u32) -> Vec<String> {
    let mut keys = vec![String::new(); shards as usize];
    let mut found = 0;
    let mut candidate = 1u64;
    while found < shards as usize && candidate < 10_000_000 {
        let key = format!("store-{candidate:02}");
        let s = routing::shard_for_hash(routing::kinesis_hash_key(&key), shards) as usize;
        if keys[s].is_empty() {
            keys[s] = key;
            found += 1;
        }
        candidate += 1;
    }
    keys
}

/// Writes an order as one line of tumblescope's orders JSON Lines format.
pub fn write_order_line(out: &mut Vec<u8>, o: &Order) {
    let ts = crate::model::arrival_timestamp_text(o.ts_ms);
    out.extend_from_slice(b"{\"timestamp\":");
    out.extend_from_slice(ts.as_bytes());
    if let Some(pk) = &o.partition_key {
        out.extend_from_slice(b",\"partitionKey\":");
        let _ = serde_json::to_writer(&mut *out, pk);
    }
    if o.event_name != EventName::Insert || o.old_image.is_some() || o.partition_key.is_none() {
        let _ = write!(out, ",\"eventName\":\"{}\"", o.event_name.as_str());
    }
    if let Some(old) = &o.old_image {
        out.extend_from_slice(b",\"oldImage\":");
        out.extend_from_slice(old.as_bytes());
    }
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(o.data.as_bytes());
    out.extend_from_slice(b"}\n");
}

/// The path of the sale in generated payloads: what the default built-in handler sums.
pub fn sales_path(source: Source) -> &'static str {
    match source {
        Source::Kinesis => "Item.sales",
        Source::Dynamodb => "sales",
    }
}

/// Generates a routed stream directly (no text round trip): the app's demo and the benchmarks.
///
/// The generator knows every sale it writes, so it also fills the stream's column cache for
/// [`sales_path`]: runs summing that field then skip parsing each payload, as they do on any
/// stream after its first run.
pub fn generate_stream(opts: &GenOptions, meta: StreamMeta) -> Stream {
    let gen_ = Generator::new(opts.clone());
    let view = meta.view_type;
    let mut b = StreamBuilder::new(opts.source, opts.shards, meta).payloads_are_json(true);
    // Route each distinct key once: MD5 per record would dominate generation.
    let key_shards: Vec<u32> = gen_.keys().iter().map(|k| b.route(k, None)).collect();
    let n = usize::try_from(opts.count).unwrap_or(usize::MAX);
    b.reserve(n.min(1 << 28), n.min(1 << 28) * 56);
    let mut sales = Vec::with_capacity(n.min(1 << 28));
    for o in gen_ {
        let visible = match opts.source {
            Source::Kinesis => true,
            Source::Dynamodb => view.has_new() && o.event_name != EventName::Remove,
        };
        sales.push(if visible { o.sales as f64 } else { f64::NAN });
        match opts.source {
            Source::Kinesis => {
                let pk = o.partition_key.as_deref().unwrap_or_default();
                b.push_routed(key_shards[o.routing_key], o.ts_ms, pk, o.data.as_bytes());
            }
            Source::Dynamodb => b.push(InputRecord {
                ts_ms: o.ts_ms,
                partition_key: o.order_id.clone(),
                explicit_hash_key: None,
                shard: None,
                seq: None,
                data: o.data.into_bytes(),
                event_name: o.event_name,
                old_image: o.old_image.map(String::into_bytes),
                typed: None,
            }),
        }
    }
    let mut cols = [sales];
    let stream = b.finish_with(&mut cols);
    let [sales] = cols;
    let key = crate::model::stream::column_key(
        &crate::json::path::Path::parse(sales_path(opts.source)),
        view,
    );
    stream.columns.get_or_insert(&key, || sales);
    stream
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_orders() {
        let a: Vec<Order> = Generator::new(GenOptions::default()).collect();
        let b: Vec<Order> = Generator::new(GenOptions::default()).collect();
        assert_eq!(a, b);
        let c: Vec<Order> = Generator::new(GenOptions {
            seed: 2,
            ..Default::default()
        })
        .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn timestamps_never_go_backwards_and_sales_stay_in_range() {
        let orders: Vec<Order> = Generator::new(GenOptions {
            count: 5000,
            jitter: 1.0,
            ..Default::default()
        })
        .collect();
        assert_eq!(orders.len(), 5000);
        assert!(orders.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
        for o in &orders {
            let v: serde_json::Value = serde_json::from_str(&o.data).unwrap();
            let s = v["Item"]["sales"].as_i64().unwrap();
            assert!((0..=100).contains(&s));
        }
        let span = orders.last().unwrap().ts_ms - orders[0].ts_ms;
        // Mean gap 250 ms.
        assert!((span as f64 / 4999.0 - 250.0).abs() < 10.0, "{span}");
    }

    #[test]
    fn skewed_keys_favour_the_first() {
        let orders: Vec<Order> = Generator::new(GenOptions {
            count: 4000,
            keys: KeyStrategy::Skewed {
                n: 8,
                exponent: 1.5,
            },
            ..Default::default()
        })
        .collect();
        let first = orders.iter().filter(|o| o.routing_key == 0).count();
        let last = orders.iter().filter(|o| o.routing_key == 7).count();
        assert!(first > 4 * last, "{first} vs {last}");
    }

    #[test]
    fn per_shard_keys_cover_every_shard() {
        let keys = per_shard_keys(8);
        for (s, k) in keys.iter().enumerate() {
            assert_eq!(
                routing::shard_for_hash(routing::kinesis_hash_key(k), 8) as usize,
                s
            );
        }
    }

    #[test]
    fn key_strategies_parse() {
        assert_eq!(
            KeyStrategy::parse("uniform:4"),
            Ok(KeyStrategy::Uniform { n: 4 })
        );
        assert_eq!(
            KeyStrategy::parse("fixed:abc"),
            Ok(KeyStrategy::Fixed { key: "abc".into() })
        );
        assert_eq!(
            KeyStrategy::parse("skewed:10:2"),
            Ok(KeyStrategy::Skewed {
                n: 10,
                exponent: 2.0
            })
        );
        assert!(KeyStrategy::parse("uniform:0").is_err());
        assert!(KeyStrategy::parse("random").is_err());
    }

    #[test]
    fn dynamodb_orders_modify_and_remove_earlier_items() {
        let orders: Vec<Order> = Generator::new(GenOptions {
            count: 500,
            source: Source::Dynamodb,
            modify_fraction: 0.3,
            remove_fraction: 0.1,
            ..Default::default()
        })
        .collect();
        let modifies: Vec<&Order> = orders
            .iter()
            .filter(|o| o.event_name == EventName::Modify)
            .collect();
        assert!(!modifies.is_empty());
        assert!(modifies.iter().all(|o| o.old_image.is_some()));
        assert!(orders.iter().any(|o| o.event_name == EventName::Remove));
    }

    #[test]
    fn generated_stream_matches_orders() {
        let opts = GenOptions {
            count: 300,
            shards: 3,
            ..Default::default()
        };
        let s = generate_stream(&opts, StreamMeta::default());
        assert_eq!(s.len(), 300);
        // The pre-filled sales column matches the payloads.
        let key = crate::model::stream::column_key(
            &crate::json::path::Path::parse("Item.sales"),
            s.meta.view_type,
        );
        let col = s.columns.get_or_insert(&key, || panic!("pre-filled"));
        for i in 0..s.len() {
            let v: serde_json::Value = serde_json::from_slice(s.payload(i)).unwrap();
            assert_eq!(v["Item"]["sales"].as_f64().unwrap(), col[i]);
        }
        assert!(s.payload_is_json);
        for shard in &s.shards {
            for i in shard.range.clone() {
                let expected =
                    routing::shard_for_hash(routing::kinesis_hash_key(s.partition_key(i)), 3);
                assert_eq!(s.shard_of(i) as u32, expected);
            }
        }
    }
}
