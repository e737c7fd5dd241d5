//! Seeded order-stream generator: what a point-of-sale producer puts on a stream.
//!
//! No wall clock and no thread RNG: the same options give the same orders, byte for byte.

use std::io::Write as _;

use crate::model::routing;
use crate::model::stream::{InputRecord, Stream, StreamBuilder, StreamMeta};
use crate::model::{EventName, Source};

mod options;

pub use self::options::{DEFAULT_START_MS, GenOptions, KeyStrategy};

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

impl Generator {
    /// Moves the clock by one jittered interval (not before the first record).
    fn advance_clock(&mut self) {
        if self.i == 0 {
            return;
        }
        let mean = self.opts.interval_ms;
        let u = self.rng.next_f64() * 2.0 - 1.0;
        let gap = mean * (1.0 + self.opts.jitter * u);
        // Exact time in f64, rounded per record, so sub-millisecond intervals add up.
        self.exact_ms += gap.max(0.0);
        self.ts_ms = self.opts.start_ms + self.exact_ms.round() as i64;
    }

    /// A Kinesis order: a new order of `sales` at store `key`.
    fn kinesis_order(&self, id: String, key: usize, sales: i64) -> Order {
        let store = &self.keys[key];
        Order {
            ts_ms: self.ts_ms,
            partition_key: Some(store.clone()),
            routing_key: key,
            data: format!(r#"{{"Item":{{"orderId":"{id}","store":"{store}","sales":{sales}}}}}"#),
            event_name: EventName::Insert,
            old_image: None,
            order_id: id,
            sales,
        }
    }

    /// A DynamoDB change: a MODIFY or REMOVE of a recent item (by the configured fractions, when
    /// there is one), otherwise an INSERT of a new item.
    fn dynamodb_order(&mut self, id: String, key: usize, sales: i64) -> Order {
        let roll = self.rng.next_f64();
        let modify = roll < self.opts.modify_fraction;
        let remove = !modify && roll < self.opts.modify_fraction + self.opts.remove_fraction;
        let target = if (modify || remove) && !self.recent.is_empty() {
            Some((self.rng.next_u64() % self.recent.len() as u64) as usize)
        } else {
            None
        };
        let item = |tid: &str, store: &str, sales: i64| {
            format!(r#"{{"ID":"{tid}","store":"{store}","sales":{sales}}}"#)
        };
        let (order_id, routing_key, data, event_name, old_image, sales) = match target {
            Some(k) if modify => {
                let (tid, tstore, old_sales) = self.recent[k].clone();
                self.recent[k].2 = sales;
                let ts = &self.keys[tstore];
                let (data, old) = (item(&tid, ts, sales), item(&tid, ts, old_sales));
                (tid, tstore, data, EventName::Modify, Some(old), sales)
            }
            Some(k) => {
                let (tid, tstore, old_sales) = self.recent.swap_remove(k);
                let data = item(&tid, &self.keys[tstore], old_sales);
                (tid, tstore, data, EventName::Remove, None, old_sales)
            }
            None => {
                if self.recent.len() < 1024 {
                    self.recent.push((id.clone(), key, sales));
                } else {
                    let k = (self.i % 1024) as usize;
                    self.recent[k] = (id.clone(), key, sales);
                }
                let data = item(&id, &self.keys[key], sales);
                (id, key, data, EventName::Insert, None, sales)
            }
        };
        Order {
            ts_ms: self.ts_ms,
            partition_key: None,
            routing_key,
            data,
            event_name,
            old_image,
            order_id,
            sales,
        }
    }
}

impl Iterator for Generator {
    type Item = Order;

    fn next(&mut self) -> Option<Order> {
        if self.i >= self.opts.count {
            return None;
        }
        self.advance_clock();
        self.i += 1;
        let sales = self.rng.range_i64(self.opts.sales_min, self.opts.sales_max);
        let key = self.pick_key();
        let id = format!("o-{:08}", self.i);
        Some(match self.opts.source {
            Source::Kinesis => self.kinesis_order(id, key, sales),
            Source::Dynamodb => self.dynamodb_order(id, key, sales),
        })
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
    let mut b = StreamBuilder::new(opts.source, opts.shards, meta)
        .payloads_are_json(true)
        .with_reshard(&opts.reshard);
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
            let v: serde_json::Value = serde_json::from_slice(&s.payload(i)).unwrap();
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
