//! Scenario presets: small streams and settings that each show one thing about tumbling windows.
//! The app's first launch uses [`demo`]; the Scenarios menu lists [`all`].

use serde::{Deserialize, Serialize};

use crate::generate::{DEFAULT_START_MS, GenOptions, KeyStrategy, generate_stream};
use crate::model::Source;
use crate::model::settings::{EndOfInput, Settings};
use crate::model::stream::{InputRecord, Stream, StreamBuilder, StreamMeta};

/// Where a scenario's stream comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StreamSpec {
    /// Generated orders.
    Generated(GenOptions),
    /// A literal list of `(offset ms from the default start, partition key, sales)` on one
    /// Kinesis shard.
    Literal {
        /// The orders.
        orders: Vec<(i64, String, i64)>,
    },
}

impl StreamSpec {
    /// Builds the stream.
    pub fn build(&self, meta: StreamMeta) -> Stream {
        match self {
            Self::Generated(opts) => generate_stream(opts, meta),
            Self::Literal { orders } => {
                let mut b = StreamBuilder::new(Source::Kinesis, 1, meta).payloads_are_json(true);
                for (k, (offset, key, sales)) in orders.iter().enumerate() {
                    b.push(InputRecord {
                        ts_ms: DEFAULT_START_MS + offset,
                        partition_key: key.clone(),
                        data: format!(
                            r#"{{"Item":{{"orderId":"o-{:08}","store":"{key}","sales":{sales}}}}}"#,
                            k + 1
                        )
                        .into_bytes(),
                        ..Default::default()
                    });
                }
                b.finish()
            }
        }
    }

    /// Source of the stream.
    pub fn source(&self) -> Source {
        match self {
            Self::Generated(o) => o.source,
            Self::Literal { .. } => Source::Kinesis,
        }
    }
}

/// A preset.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Stable id (sessions refer to it).
    pub id: &'static str,
    /// Menu title.
    pub title: &'static str,
    /// Two lines on what to look for.
    pub look_for: &'static str,
    /// The stream.
    pub stream: StreamSpec,
    /// Mapping settings.
    pub settings: Settings,
    /// Handler spec.
    pub handler: String,
}

fn gen_(count: u64, interval_ms: f64, jitter: f64, keys: KeyStrategy, shards: u32) -> GenOptions {
    GenOptions {
        count,
        interval_ms,
        jitter,
        keys,
        shards,
        ..GenOptions::default()
    }
}

/// The first-launch demo: orders on 2 Kinesis shards, 30 s windows, built-in sum of sales.
pub fn demo() -> Scenario {
    Scenario {
        id: "demo",
        title: "Two shards of orders",
        look_for: "Each shard aggregates on its own: two final invocations close every 30 s window.\n\
                   State starts as {} in each window and grows batch by batch until the final invocation stores it.",
        stream: StreamSpec::Generated(gen_(720, 250.0, 0.6, KeyStrategy::Uniform { n: 8 }, 2)),
        settings: Settings::default(),
        handler: "builtin:sum:Item.sales".into(),
    }
}

/// Every preset, demo first.
pub fn all() -> Vec<Scenario> {
    let running_total = vec![
        // Window 1 (sum 6), window 2 (12), window 3 (10), window 4 (4), at irregular times.
        (1_200, "store-01".to_owned(), 1),
        (9_700, "store-01".to_owned(), 2),
        (23_400, "store-01".to_owned(), 3),
        (31_100, "store-01".to_owned(), 5),
        (44_800, "store-01".to_owned(), 7),
        (66_300, "store-01".to_owned(), 4),
        (71_900, "store-01".to_owned(), 6),
        (104_500, "store-01".to_owned(), 4),
    ];
    vec![
        demo(),
        Scenario {
            id: "running-total",
            title: "Running total: AWS vs the blog figure",
            look_for: "Four 30 s windows sum to 6, 12, 10 and 4: AWS resets state to {} in every window.\n\
                       Turn on \"carry state across windows\" (not AWS) to get the blog's running total 6, 18, 28, 32.",
            stream: StreamSpec::Literal {
                orders: running_total,
            },
            settings: Settings {
                close_grace_s: 10,
                ..Settings::default()
            },
            handler: "builtin:sum:Item.sales".into(),
        },
        Scenario {
            id: "pos-burst",
            title: "Point-of-sale burst",
            look_for: "100 orders 100 ms apart on one shard. After a read that returned records Lambda reads again as soon as\n\
                       Kinesis allows (5 reads/s per shard): batches of 2. Set a batching window to see fuller batches.",
            stream: StreamSpec::Generated(gen_(
                100,
                100.0,
                0.0,
                KeyStrategy::Fixed {
                    key: "pos-terminal-1".into(),
                },
                1,
            )),
            settings: Settings::default(),
            handler: "builtin:sum:Item.sales".into(),
        },
        Scenario {
            id: "skewed",
            title: "Several shards, skewed keys",
            look_for: "A few hot partition keys send most orders to the same shards: lanes fill unevenly.\n\
                       Every shard still closes every window it saw records in, each with its own partial sum.",
            stream: StreamSpec::Generated(gen_(
                2400,
                50.0,
                0.5,
                KeyStrategy::Skewed {
                    n: 16,
                    exponent: 1.6,
                },
                4,
            )),
            settings: Settings::default(),
            handler: "builtin:sum:Item.sales:by=pk".into(),
        },
        Scenario {
            id: "sparse",
            title: "Sparse stream: windows close by grace",
            look_for: "An order every ~45 s: most windows hold one record. A window closes when the next window's first\n\
                       record is read (seconds after it ends); the last one waits out the close grace (2 minutes).",
            stream: StreamSpec::Generated(gen_(
                24,
                45_000.0,
                0.8,
                KeyStrategy::Uniform { n: 3 },
                1,
            )),
            settings: Settings::default(),
            handler: "builtin:sum:Item.sales".into(),
        },
        Scenario {
            id: "big-state",
            title: "State past 1 MB: early termination",
            look_for: "One state entry per order grows past 1 MB within a window, so Lambda terminates the window early.\n\
                       An extra invocation flags isWindowTerminatedEarly; the same window then continues with state {}.",
            stream: StreamSpec::Generated(GenOptions {
                jitter: 0.0,
                ..gen_(84_000, 1.0, 0.0, KeyStrategy::Uniform { n: 4 }, 1)
            }),
            settings: Settings {
                tumbling_window_s: 120,
                batch_size: 10_000,
                max_batching_window_s: 10,
                close_grace_s: 5,
                ..Settings::default()
            },
            handler: "builtin:sum:Item.sales:by=Item.orderId".into(),
        },
        Scenario {
            id: "failing-handler",
            title: "A handler that fails on some records",
            look_for: "The handler throws on sales of 99 or more. Lambda retries the batch, bisects it, and after\n\
                       MaximumRetryAttempts discards the failing record to the on-failure destination; the window goes on.",
            stream: StreamSpec::Generated(gen_(400, 300.0, 0.5, KeyStrategy::Uniform { n: 4 }, 2)),
            settings: Settings {
                max_retry_attempts: 2,
                bisect_on_error: true,
                retry_backoff_ms: 500,
                ..Settings::default()
            },
            handler: "builtin:sum:Item.sales:fail=Item.sales>=99".into(),
        },
        Scenario {
            id: "backlog",
            title: "A backlog after a deploy (TRIM_HORIZON)",
            look_for: "The mapping was created 8 minutes after the orders began: TRIM_HORIZON reads that backlog first, at catch-up pace.\n\
                       Batches come back to back and each window's final follows its last batch at once (the next window's records are already there).",
            stream: StreamSpec::Generated(gen_(2400, 250.0, 0.5, KeyStrategy::Uniform { n: 8 }, 2)),
            settings: Settings {
                mapping_start_ms: Some(DEFAULT_START_MS + 8 * 60_000),
                ..Settings::default()
            },
            handler: "builtin:sum:Item.sales".into(),
        },
        Scenario {
            id: "latest",
            title: "LATEST skips what was written before",
            look_for: "The same stream with StartingPosition LATEST: the 8 minutes written before the mapping are never read (listed as not read).\n\
                       The first window is partial: it holds only the records written after the mapping started.",
            stream: StreamSpec::Generated(gen_(2400, 250.0, 0.5, KeyStrategy::Uniform { n: 8 }, 2)),
            settings: Settings {
                mapping_start_ms: Some(DEFAULT_START_MS + 8 * 60_000 + 10_000),
                starting_position: crate::model::settings::StartingPosition::Latest,
                ..Settings::default()
            },
            handler: "builtin:sum:Item.sales".into(),
        },
        Scenario {
            id: "large-orders",
            title: "A filter that keeps only large orders",
            look_for: "FilterCriteria keeps orders over 80: the others never reach the function and do not count toward BatchSize.\n\
                       Each window's sum is the sum of its large orders only; the run says how many records each filter let through.",
            stream: StreamSpec::Generated(gen_(1200, 250.0, 0.5, KeyStrategy::Uniform { n: 8 }, 2)),
            settings: Settings {
                filters: vec![r#"{"data": {"Item": {"sales": [{"numeric": [">", 80]}]}}}"#.into()],
                ..Settings::default()
            },
            handler: "builtin:sum:Item.sales".into(),
        },
        Scenario {
            id: "expiring",
            title: "Records expiring behind a poison record",
            look_for: "A poison order (sales 1000) fails every attempt, and MaximumRecordAgeInSeconds is 60: its batch is retried for a minute, then discarded.\n\
                       The orders that waited behind it longer than 60 s are discarded unsent (RecordAgeExceeded); the newer ones go through.",
            stream: StreamSpec::Literal {
                orders: std::iter::once((0, "pos-1".to_owned(), 1000))
                    .chain((1..=180).map(|k| (k * 1000, "pos-1".to_owned(), k % 9 + 1)))
                    .collect(),
            },
            settings: Settings {
                max_record_age_s: 60,
                retry_backoff_ms: 7_000,
                retry_backoff_max_ms: 7_000,
                ..Settings::default()
            },
            handler: "builtin:sum:Item.sales:fail=Item.sales>=1000".into(),
        },
        Scenario {
            id: "shard-split",
            title: "A shard splitting mid-window",
            look_for: "Shard 0 splits at 12:01:15, halfway through a window: its window closes at once with a final invocation (the shard ended), not after the grace.\n\
                       The two children (shards 2 and 3) start only after that, from {}, on the same 12:01:00–12:01:30 interval: two finals for one interval.",
            stream: StreamSpec::Generated(GenOptions {
                reshard: crate::model::reshard::ReshardPlan {
                    steps: vec![crate::model::reshard::Reshard {
                        at_ms: DEFAULT_START_MS + 75_000,
                        op: crate::model::reshard::ReshardOp::Split {
                            shard: 0,
                            new_starting_hash_key: None,
                        },
                    }],
                    ..Default::default()
                },
                ..gen_(1200, 250.0, 0.5, KeyStrategy::Uniform { n: 16 }, 2)
            }),
            settings: Settings::default(),
            handler: "builtin:sum:Item.sales".into(),
        },
        Scenario {
            id: "module-state",
            title: "Module state per execution environment (Node.js)",
            look_for: "A Node.js handler keeps module-level variables: each shard runs in its own environment (modelling choice), so `shards` names one shard and `invocations` counts only its own.\n\
                       Tick Shared runtime in the setup panel to see them leak across shards; the table of stored windows is shared either way. Needs Node.js.",
            stream: StreamSpec::Generated(gen_(400, 250.0, 0.5, KeyStrategy::Uniform { n: 8 }, 4)),
            settings: Settings::default(),
            handler: concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/sample-data/handlers/module-state.js"
            )
            .into(),
        },
        Scenario {
            id: "dynamodb",
            title: "DynamoDB stream, INSERT only",
            look_for: "DynamoDB Streams polls 4 times a second and timestamps records in whole seconds.\n\
                       The handler sums NewImage.sales for INSERT events only; MODIFY and REMOVE records pass through.",
            stream: StreamSpec::Generated(GenOptions {
                source: Source::Dynamodb,
                modify_fraction: 0.2,
                remove_fraction: 0.05,
                ..gen_(600, 300.0, 0.6, KeyStrategy::Uniform { n: 6 }, 2)
            }),
            settings: Settings {
                end_of_input: EndOfInput::Open,
                ..Settings::default()
            },
            handler: "builtin:sum:sales:events=INSERT".into(),
        },
    ]
}

/// A preset by id.
pub fn by_id(id: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    //! Each scenario shows what its "look for" text promises.

    use super::*;
    use crate::handlers::builtin::{Builtin, BuiltinSpec};
    use crate::sim::trace::{Kind, Reason, Trace};

    fn run(id: &str) -> (Stream, Trace) {
        let s = by_id(id).unwrap();
        let stream = s.stream.build(StreamMeta::default());
        let mut h = Builtin::new(BuiltinSpec::parse(&s.handler).unwrap());
        let trace = crate::sim::simulate(&stream, &s.settings, &mut h).unwrap();
        (stream, trace)
    }

    fn sales_of(state: &crate::model::state::State) -> i64 {
        state.to_json()["sales"].as_i64().unwrap()
    }

    /// Through the shared run path, which applies filters.
    fn run_spec(id: &str) -> (Stream, crate::run::Simulated) {
        let s = by_id(id).unwrap();
        let stream = s.stream.build(StreamMeta::default());
        let spec = crate::run::RunSpec::scenario(&s);
        let sim = crate::run::simulate(&spec, &stream, &mut Default::default()).unwrap();
        (stream, sim)
    }

    #[test]
    fn backlog_is_read_at_catch_up_pace_from_the_mapping_start() {
        let (stream, sim) = run_spec("backlog");
        let t = &sim.trace;
        let start = DEFAULT_START_MS + 8 * 60_000;
        assert!(t.unread.is_empty());
        assert!(t.invocations.iter().all(|i| i.start_ms >= start));
        // The backlog's windows close back to back: finals of windows that ended before the
        // mapping start follow their last batch at once.
        let early_finals: Vec<_> = t
            .invocations
            .iter()
            .filter(|i| i.is_final && i.window().unwrap().end_ms <= start)
            .collect();
        assert!(early_finals.len() >= 2 * 15, "{}", early_finals.len());
        assert!(early_finals.iter().all(|f| f.start_ms < start + 60_000));
        let delivered: usize = t.invocations.iter().map(|i| i.record_count()).sum();
        assert_eq!(delivered, stream.len());
    }

    #[test]
    fn latest_lists_what_it_skipped() {
        let (stream, sim) = run_spec("latest");
        let skipped: usize = sim.trace.unread.iter().map(|u| u.records.len()).sum();
        let start = DEFAULT_START_MS + 8 * 60_000 + 10_000;
        assert_eq!(skipped, stream.ts_ms.iter().filter(|&&t| t < start).count());
        assert!(skipped > 1000);
    }

    #[test]
    fn large_orders_filter_sums_only_large_orders() {
        let (stream, sim) = run_spec("large-orders");
        let f = sim.trace.filter.as_ref().unwrap();
        let large = (0..stream.len())
            .filter(|&i| {
                let v: serde_json::Value = serde_json::from_slice(&stream.payload(i)).unwrap();
                v["Item"]["sales"].as_i64().unwrap() > 80
            })
            .count() as u64;
        assert_eq!((f.passed, f.dropped), (large, stream.len() as u64 - large));
        assert!(large > 100 && large < 400, "{large}");
    }

    #[test]
    fn expiring_discards_the_poison_batch_and_the_records_behind_it() {
        let (_, sim) = run_spec("expiring");
        let d = &sim.trace.discards;
        assert!(d.len() >= 2, "{d:?}");
        assert!(d.iter().all(|d| d.condition == "RecordAgeExceeded"));
        assert!(d[0].attempts > 1);
        assert!(d[1..].iter().any(|d| d.attempts == 0));
    }

    #[test]
    fn shard_split_closes_the_parents_window_at_once_and_gives_the_interval_two_finals() {
        let (stream, t) = run("shard-split");
        assert_eq!(stream.shards.len(), 4);
        let parent_final = t.invocations.iter().rfind(|i| i.shard == 0).unwrap();
        assert_eq!(parent_final.reason, Reason::ShardEnded);
        let interval = parent_final.window().unwrap();
        assert_eq!(interval.start_ms, DEFAULT_START_MS + 60_000);
        assert!(
            parent_final.start_ms < interval.end_ms,
            "before the window ends"
        );
        for child in [2, 3] {
            let first = t.invocations.iter().find(|i| i.shard == child).unwrap();
            assert!(first.start_ms >= parent_final.end_ms);
            assert_eq!(first.window(), Some(interval));
            assert_eq!(first.state_in.to_json_string(), "{}");
        }
        let finals_of_interval = t
            .windows
            .iter()
            .filter(|w| w.window == interval && [0, 2, 3].contains(&w.shard))
            .count();
        assert_eq!(finals_of_interval, 3);
    }

    #[test]
    fn ids_are_unique_and_found() {
        let all = all();
        for s in &all {
            assert_eq!(by_id(s.id).unwrap().title, s.title);
            assert_eq!(all.iter().filter(|o| o.id == s.id).count(), 1, "{}", s.id);
        }
        assert!(by_id("nope").is_none());
    }

    #[test]
    fn demo_closes_each_window_once_per_shard_starting_from_empty_state() {
        let (_, t) = run("demo");
        for w in &t.windows {
            let finals: Vec<_> = t
                .invocations
                .iter()
                .filter(|i| i.is_final && i.shard == w.shard && i.window() == Some(w.window))
                .collect();
            assert_eq!(finals.len(), 1);
            let first = t
                .invocations
                .iter()
                .find(|i| i.shard == w.shard && i.window() == Some(w.window))
                .unwrap();
            assert!(first.state_in.is_empty());
        }
        assert_eq!(
            t.windows.iter().map(|w| w.shard).max(),
            Some(1),
            "two shards"
        );
    }

    #[test]
    fn running_total_resets_per_window_unless_carried() {
        let (_, t) = run("running-total");
        let sums: Vec<i64> = t
            .windows
            .iter()
            .map(|w| sales_of(w.final_state.as_ref().unwrap()))
            .collect();
        assert_eq!(sums, [6, 12, 10, 4]);
    }

    #[test]
    fn pos_burst_reads_batches_of_two() {
        let (stream, t) = run("pos-burst");
        assert_eq!(stream.len(), 100);
        let sizes: Vec<usize> = t
            .invocations
            .iter()
            .filter(|i| i.kind == Kind::Aggregate)
            .map(|i| i.record_count())
            .collect();
        assert!(
            sizes.iter().filter(|&&n| n == 2).count() >= sizes.len() - 2,
            "{sizes:?}"
        );
    }

    #[test]
    fn skewed_keys_fill_shards_unevenly_and_every_shard_closes_its_windows() {
        let (stream, t) = run("skewed");
        let counts: Vec<usize> = stream.shards.iter().map(|s| s.range.len()).collect();
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*hi >= 2 * lo, "{counts:?}");
        for (s, shard) in stream.shards.iter().enumerate() {
            let windows: std::collections::BTreeSet<i64> = shard
                .range
                .clone()
                .map(|i| crate::model::Window::containing(stream.ts_ms[i], 30_000).start_ms)
                .collect();
            let closed: std::collections::BTreeSet<i64> = t
                .windows
                .iter()
                .filter(|w| w.shard as usize == s)
                .map(|w| w.window.start_ms)
                .collect();
            assert_eq!(windows, closed, "shard {s}");
        }
    }

    #[test]
    fn sparse_windows_hold_one_record_and_close_when_the_next_record_comes() {
        let (_, t) = run("sparse");
        let one = t.windows.iter().filter(|w| w.records == 1).count();
        assert!(
            one * 4 >= t.windows.len() * 3,
            "most windows hold one record"
        );
        let finals: Vec<_> = t
            .invocations
            .iter()
            .filter(|i| i.kind == Kind::Final)
            .collect();
        let (last, rest) = finals.split_last().unwrap();
        for f in rest {
            assert_eq!(f.reason, Reason::NextWindowRecord);
            let end = f.window().unwrap().end_ms;
            assert!(f.start_ms >= end && f.start_ms < end + 120_000);
        }
        assert_eq!(last.reason, Reason::GraceExpired);
        assert_eq!(last.start_ms, last.window().unwrap().end_ms + 120_000);
    }

    #[test]
    fn big_state_terminates_early_and_continues_the_window_with_empty_state() {
        let (_, t) = run("big-state");
        let early = t
            .invocations
            .iter()
            .position(|i| i.kind == Kind::Early)
            .unwrap();
        let e = &t.invocations[early];
        assert!(e.is_early && e.state_in.json_len() > 1_048_576);
        let next = &t.invocations[early + 1..]
            .iter()
            .find(|i| i.shard == e.shard)
            .unwrap();
        assert_eq!(next.window(), e.window());
        assert!(next.state_in.is_empty());
    }

    #[test]
    fn failing_handler_bisects_and_discards_only_the_failing_records() {
        let (stream, t) = run("failing-handler");
        assert!(t.invocations.iter().any(|i| i.reason == Reason::Bisect));
        assert!(!t.discards.is_empty());
        for d in &t.discards {
            for i in d.records.clone() {
                let v: serde_json::Value =
                    serde_json::from_slice(&stream.payload(i as usize)).unwrap();
                assert!(v["Item"]["sales"].as_i64().unwrap() >= 99);
            }
        }
        // The window goes on: every window still has its final.
        assert!(t.windows.iter().all(|w| w.final_state.is_some()));
    }

    #[test]
    fn dynamodb_reads_on_the_250_ms_poll_grid() {
        let (stream, t) = run("dynamodb");
        assert_eq!(stream.source, Source::Dynamodb);
        // Reads on the 250 ms poll grid (four a second); a batch that starts when the
        // invocation before it ends comes from an earlier read's records (after a final).
        let t0 = t.invocations[0].start_ms;
        let mut prev_end: std::collections::HashMap<u32, i64> = Default::default();
        for i in &t.invocations {
            let from_buffer = prev_end.get(&i.shard) == Some(&i.start_ms);
            if i.kind == Kind::Aggregate && i.attempt == 1 && !from_buffer {
                assert_eq!((i.start_ms - t0) % 250, 0, "invocation {}", i.n);
            }
            prev_end.insert(i.shard, i.end_ms);
        }
        // The INSERT-only sum is checked in tests/engine.rs (dynamodb_scenario_sums_the_inserted_items).
    }
}
