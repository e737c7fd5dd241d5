//! Invariants of the engine over random streams and settings (proptest).

mod common;

use std::collections::BTreeMap;

use common::{JsonPath, builtin, render, render_writes};
use proptest::prelude::*;
use tumblescope::generate::{DEFAULT_START_MS, GenOptions, KeyStrategy, generate_stream};
use tumblescope::model::reshard::{Reshard, ReshardOp, ReshardPlan, Topology};
use tumblescope::model::settings::{EndOfInput, GraceFrom, Settings};
use tumblescope::model::stream::Stream;
use tumblescope::model::{Source, Window};
use tumblescope::sim::trace::{Kind, Status};
use tumblescope::sim::{self, Trace};

fn arb_stream() -> impl Strategy<Value = Stream> {
    (
        0u64..250,
        prop_oneof![
            Just(0.3f64),
            Just(10.0),
            Just(200.0),
            Just(900.0),
            Just(4_000.0),
            Just(40_000.0)
        ],
        0.0f64..=1.0,
        1u32..=4,
        1u32..=6,
        any::<u64>(),
        prop_oneof![Just(Source::Kinesis), Just(Source::Dynamodb)],
        prop::collection::vec((0.0f64..1.0, any::<bool>(), any::<u32>()), 0..4),
        prop_oneof![
            Just(None),
            Just(Some(3_610_000i64)),
            Just(Some(3_660_000)),
            Just(Some(4 * 3_600_000))
        ],
    )
        .prop_map(
            |(count, interval_ms, jitter, shards, keys, seed, source, ops, rollover_ms)| {
                let span = count as f64 * interval_ms;
                let reshard = ReshardPlan {
                    steps: match source {
                        Source::Kinesis => valid_steps(shards, span, &ops),
                        Source::Dynamodb => Vec::new(),
                    },
                    rollover_ms,
                };
                let opts = GenOptions {
                    count,
                    interval_ms,
                    jitter,
                    shards,
                    keys: KeyStrategy::Uniform { n: keys },
                    seed,
                    source,
                    reshard,
                    ..GenOptions::default()
                };
                generate_stream(&opts, Default::default())
            },
        )
}

/// Splits and merges at random times within the stream, keeping only those Kinesis would
/// accept at that point (the shard open; a merge's shards adjacent).
fn valid_steps(shards: u32, span_ms: f64, ops: &[(f64, bool, u32)]) -> Vec<Reshard> {
    let mut steps: Vec<Reshard> = Vec::new();
    let mut ordered = ops.to_vec();
    ordered.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (at, split, pick) in ordered {
        let at_ms = DEFAULT_START_MS + (at * span_ms) as i64;
        let Ok(t) = Topology::kinesis(shards, &steps) else {
            break;
        };
        let n = t.len();
        let a = pick % n;
        let op = if split {
            ReshardOp::Split {
                shard: a,
                new_starting_hash_key: None,
            }
        } else {
            // The open shard whose range starts right after `a`'s.
            let next = t.shards.iter().enumerate().find(|(k, s)| {
                s.closed_ms.is_none()
                    && Some(s.hash.0) == t.shards[a as usize].hash.1.checked_add(1)
                    && *k != a as usize
            });
            let Some((b, _)) = next else { continue };
            ReshardOp::Merge {
                shard: a,
                adjacent: b as u32,
            }
        };
        let step = Reshard { at_ms, op };
        let mut with = steps.clone();
        with.push(step.clone());
        if Topology::kinesis(shards, &with).is_ok() {
            steps.push(step);
        }
    }
    steps
}

fn arb_settings() -> impl Strategy<Value = Settings> {
    (
        prop_oneof![Just(1u32), Just(7), Just(30), Just(60), Just(900)],
        1u32..=60,
        prop_oneof![Just(0u32), Just(0), Just(1), Just(4)],
        0u32..=120,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(100u32)), Just(Some(2_500))],
    )
        .prop_map(
            |(window, batch, batching, grace, shard_end, from_last, tail, poll)| Settings {
                tumbling_window_s: window,
                batch_size: batch,
                max_batching_window_s: batching,
                close_grace_s: grace,
                end_of_input: if shard_end {
                    EndOfInput::ShardEnd
                } else {
                    EndOfInput::Open
                },
                grace_from: if from_last {
                    GraceFrom::LastRecord
                } else {
                    GraceFrom::WindowEnd
                },
                final_includes_tail_records: tail,
                poll_interval_ms: poll,
                ..Settings::default()
            },
        )
}

fn value_path(stream: &Stream) -> &'static str {
    match stream.source {
        Source::Kinesis => "Item.sales",
        Source::Dynamodb => "sales",
    }
}

fn total_sales(stream: &Stream) -> f64 {
    let path = tumblescope::json::path::Path::parse(value_path(stream));
    (0..stream.len())
        .map(|i| {
            let v: serde_json::Value = serde_json::from_slice(&stream.payload(i)).unwrap();
            path.lookup(&v).and_then(serde_json::Value::as_f64).unwrap()
        })
        .sum()
}

fn check_invariants(
    stream: &Stream,
    settings: &Settings,
    trace: &Trace,
) -> Result<(), TestCaseError> {
    let len = settings.window_ms().unwrap();
    prop_assert!(trace.stalls.is_empty() && trace.discards.is_empty());
    prop_assert!(trace.invocations.iter().all(|i| i.status == Status::Ok));
    for (k, inv) in trace.invocations.iter().enumerate() {
        prop_assert_eq!(inv.n as usize, k + 1);
    }

    // Every record delivered exactly once, in sequence order per shard.
    let mut delivered = vec![0u8; stream.len()];
    let mut next_on_shard: Vec<usize> = stream.shards.iter().map(|s| s.range.start).collect();
    let mut last_end = vec![i64::MIN; stream.shards.len()];
    for inv in &trace.invocations {
        let shard = inv.shard as usize;
        prop_assert!(
            inv.start_ms >= last_end[shard],
            "one invocation at a time per shard"
        );
        last_end[shard] = inv.end_ms;
        let range = inv.record_range();
        if range.is_empty() {
            continue;
        }
        prop_assert_eq!(
            range.start,
            next_on_shard[shard],
            "records in sequence order"
        );
        next_on_shard[shard] = range.end;
        let shard_range = &stream.shards[shard].range;
        prop_assert!(
            shard_range.start <= range.start && range.end <= shard_range.end,
            "one shard per batch"
        );
        prop_assert!(range.len() <= settings.batch_size as usize);
        let w = inv.window().unwrap();
        for i in range {
            delivered[i] += 1;
            prop_assert_eq!(
                Window::containing(stream.ts_ms[i], len),
                w,
                "one window per batch"
            );
            prop_assert!(
                stream.ts_ms[i] <= inv.start_ms,
                "no record before it arrived"
            );
        }
    }
    prop_assert!(
        delivered.iter().all(|&d| d == 1),
        "delivered: {:?}",
        delivered
    );
    check_lineage(stream, trace)?;

    // Exactly one final per non-empty (shard, window), after all its records; state threading.
    let mut finals: BTreeMap<(u32, i64), u32> = BTreeMap::new();
    let mut state: BTreeMap<u32, (Window, String)> = BTreeMap::new();
    let mut closed: std::collections::BTreeSet<(u32, i64)> = Default::default();
    for inv in &trace.invocations {
        let w = inv.window().unwrap();
        let key = (inv.shard, w.start_ms);
        prop_assert!(!closed.contains(&key), "no invocation after the final");
        let expected_in = match state.get(&inv.shard) {
            Some((sw, s)) if *sw == w => s.clone(),
            _ => "{}".to_owned(),
        };
        prop_assert_eq!(inv.state_in.to_json_string(), expected_in);
        if inv.kind == Kind::Final {
            *finals.entry(key).or_default() += 1;
            closed.insert(key);
            state.remove(&inv.shard);
        } else {
            let out = inv.state_out.as_ref().unwrap().to_json_string();
            state.insert(inv.shard, (w, out));
        }
    }
    let mut non_empty: std::collections::BTreeSet<(u32, i64)> = Default::default();
    for (s, shard) in stream.shards.iter().enumerate() {
        for i in shard.range.clone() {
            non_empty.insert((s as u32, Window::containing(stream.ts_ms[i], len).start_ms));
        }
    }
    prop_assert_eq!(
        finals
            .keys()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        non_empty
    );
    prop_assert!(finals.values().all(|&c| c == 1));

    // Sum of final states = input total.
    let key = value_path(stream).rsplit('.').next().unwrap();
    let total: f64 = trace
        .windows
        .iter()
        .map(|w| {
            w.final_state.as_ref().unwrap().to_json()[key]
                .as_f64()
                .unwrap()
        })
        .sum();
    prop_assert_eq!(total, total_sales(stream));
    Ok(())
}

/// Resharding (SEMANTICS §14.2): no child invocation starts before its parents' last ends,
/// and every closed shard's end was read.
fn check_lineage(stream: &Stream, trace: &Trace) -> Result<(), TestCaseError> {
    let shards = stream.shards.len();
    let mut first_start = vec![i64::MAX; shards];
    let mut last_end = vec![i64::MIN; shards];
    for inv in &trace.invocations {
        let s = inv.shard as usize;
        first_start[s] = first_start[s].min(inv.start_ms);
        last_end[s] = last_end[s].max(inv.end_ms);
    }
    for (c, shard) in stream.shards.iter().enumerate() {
        for &p in &shard.parents {
            prop_assert!(
                first_start[c] >= last_end[p as usize],
                "child {} starts at {} before parent {} ends at {}",
                c,
                first_start[c],
                p,
                last_end[p as usize]
            );
        }
    }
    let closed = stream
        .shards
        .iter()
        .filter(|s| s.closed_ms.is_some())
        .count();
    prop_assert_eq!(trace.shard_ends.len(), closed, "every closed shard ends");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn engine_invariants_hold(stream in arb_stream(), settings in arb_settings()) {
        let spec = format!("builtin:sum:{}", value_path(&stream));
        let mut h = builtin(&spec);
        let trace = sim::simulate(&stream, &settings, &mut h).unwrap();
        check_invariants(&stream, &settings, &trace)?;

        // Same input, settings and seed: the identical trace.
        let again = sim::simulate(&stream, &settings, &mut builtin(&spec)).unwrap();
        prop_assert_eq!(render(&trace), render(&again));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn fast_path_and_event_path_agree(
        stream in arb_stream(),
        settings in arb_settings(),
        op in prop_oneof![Just("sum"), Just("count"), Just("min"), Just("max"), Just("avg")],
        group in prop_oneof![Just(""), Just(":by=pk"), Just(":by=store")],
        events in prop_oneof![Just(""), Just(":events=INSERT"), Just(":events=MODIFY,REMOVE")],
        fail in prop_oneof![Just(""), Just(":fail=sales>=97")],
        windowless in prop::bool::weighted(0.15),
    ) {
        let base = value_path(&stream);
        let group = match (group, stream.source) {
            (":by=store", Source::Kinesis) => ":by=Item.store",
            (g, _) => g,
        };
        let fail = match (fail, stream.source) {
            ("", _) => String::new(),
            (_, Source::Kinesis) => ":fail=Item.sales>=97".into(),
            (f, _) => f.into(),
        };
        let spec = format!("builtin:{op}:{base}{group}{events}{fail}");
        let settings = Settings {
            tumbling_window_s: if windowless { 0 } else { settings.tumbling_window_s },
            max_retry_attempts: 1,
            bisect_on_error: true,
            ..settings
        };
        let fast = sim::simulate(&stream, &settings, &mut builtin(&spec)).unwrap();
        let slow = sim::simulate(&stream, &settings, &mut JsonPath(builtin(&spec))).unwrap();
        prop_assert_eq!(render_writes(&fast, &stream), render_writes(&slow, &stream), "spec {}", spec);
    }
}

/// A built-in answering every invocation through [`Handler::invoke`], never through its
/// shortcut [`Handler::returned_state`].
struct InvokeOnly(tumblescope::handlers::builtin::Builtin);

impl tumblescope::handlers::Handler for InvokeOnly {
    fn describe(&self) -> String {
        self.0.describe()
    }

    fn prepare(&mut self, stream: &Stream, settings: &Settings) -> Result<(), String> {
        self.0.prepare(stream, settings)
    }

    fn invoke(
        &mut self,
        req: &tumblescope::handlers::Request<'_>,
    ) -> tumblescope::handlers::Invoked {
        self.0.invoke(req)
    }

    fn warnings(&self) -> Vec<String> {
        self.0.warnings()
    }

    fn deferred_writes(&self) -> Option<std::sync::Arc<dyn tumblescope::handlers::DeferredWrites>> {
        self.0.deferred_writes()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The engine's shortcut for built-ins that just return a state makes the trace the
    /// general path makes, entry for entry.
    #[test]
    fn the_returned_state_shortcut_changes_no_trace(
        stream in arb_stream(),
        settings in arb_settings(),
        op in prop_oneof![Just("sum"), Just("count"), Just("min"), Just("max"), Just("avg")],
        group in prop_oneof![Just(""), Just(":by=pk")],
        fail in prop::bool::weighted(0.2),
    ) {
        let base = value_path(&stream);
        let fail = match (fail, stream.source) {
            (false, _) => "",
            (true, Source::Kinesis) => ":fail=Item.sales>=97",
            (true, Source::Dynamodb) => ":fail=sales>=97",
        };
        let spec = format!("builtin:{op}:{base}{group}{fail}");
        let short = sim::simulate(&stream, &settings, &mut builtin(&spec)).unwrap();
        let general = sim::simulate(&stream, &settings, &mut InvokeOnly(builtin(&spec))).unwrap();
        prop_assert_eq!(render_writes(&short, &stream), render_writes(&general, &stream));
        prop_assert!(short == general, "traces differ for {}", spec);
    }
}

/// How the failing handler reports a poison record (sales at or above the threshold).
#[derive(Clone, Copy, Debug)]
enum Fails {
    /// Throws: the whole batch fails.
    Throws,
    /// Returns `batchItemFailures` naming the poison record, with the state of the records
    /// before it (what a correct handler returns).
    Reports,
}

/// The built-in sum, except that a batch holding a poison record fails.
struct Poisoned {
    inner: tumblescope::handlers::builtin::Builtin,
    threshold: i64,
    fails: Fails,
    /// Each successful aggregate adds 300 KB to the state, so windows terminate early.
    grow: bool,
}

impl Poisoned {
    fn sales(stream: &Stream, i: usize) -> i64 {
        let v: serde_json::Value = serde_json::from_slice(&stream.payload(i)).unwrap();
        let path = tumblescope::json::path::Path::parse(value_path(stream));
        path.lookup(&v).and_then(serde_json::Value::as_i64).unwrap()
    }
}

impl tumblescope::handlers::Handler for Poisoned {
    fn describe(&self) -> String {
        "poisoned".into()
    }

    fn prepare(&mut self, stream: &Stream, settings: &Settings) -> Result<(), String> {
        self.inner.prepare(stream, settings)
    }

    fn invoke(
        &mut self,
        req: &tumblescope::handlers::Request<'_>,
    ) -> tumblescope::handlers::Invoked {
        use tumblescope::handlers::{Response, ResponseState};
        let mut out = self.attempt(req);
        if self.grow
            && !req.is_final
            && !req.is_early
            && let Ok(Response {
                state: ResponseState::Present(st),
                ..
            }) = &mut out.result
        {
            // The built-in keeps only its own key: carry the earlier padding over.
            let mut m = st.to_json();
            m.extend(
                req.state
                    .to_json()
                    .into_iter()
                    .filter(|(k, _)| k.starts_with("pad")),
            );
            m.insert(
                format!("pad{}", req.records.start),
                serde_json::json!("p".repeat(300_000)),
            );
            *st = tumblescope::model::state::State::from_map(m);
        }
        out
    }
}

impl Poisoned {
    fn attempt(
        &mut self,
        req: &tumblescope::handlers::Request<'_>,
    ) -> tumblescope::handlers::Invoked {
        use tumblescope::handlers::{Handler as _, HandlerError, Invoked, Response, ResponseState};
        let poison = req
            .records
            .clone()
            .find(|&i| Self::sales(req.stream, i) >= self.threshold);
        let Some(p) = poison else {
            return self.inner.invoke(req);
        };
        match self.fails {
            Fails::Throws => Invoked::err(HandlerError::new("Poison", "a poison record")),
            Fails::Reports => {
                let before = tumblescope::handlers::Request {
                    records: req.records.start..p,
                    ..*req
                };
                let ok = self.inner.invoke(&before);
                let state = match ok.result {
                    Ok(Response {
                        state: ResponseState::Present(s),
                        ..
                    }) => s.to_json(),
                    _ => serde_json::Map::new(),
                };
                let seq = req.stream.seq(p).into_owned();
                Invoked::ok(Response::from_json(serde_json::json!({
                    "state": state,
                    "batchItemFailures": [{"itemIdentifier": seq}],
                })))
            }
        }
    }
}

fn arb_failure_settings() -> impl Strategy<Value = Settings> {
    (
        arb_settings(),
        prop_oneof![Just(0i32), Just(1), Just(3)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(1u32), Just(10), Just(10_000)],
    )
        .prop_map(
            |(base, retries, bisect, rbif, early_final, batch)| Settings {
                max_retry_attempts: retries,
                bisect_on_error: bisect,
                report_batch_item_failures: rbif,
                early_termination_is_final: early_final,
                final_includes_tail_records: false,
                batch_size: if batch == 1 { base.batch_size } else { batch },
                ..base
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Under failures, bisection, partial failures and retries: every record is committed
    /// exactly once or discarded and reported exactly once, poison records are never committed,
    /// commits keep sequence order per shard, and no record's sale is lost or counted twice.
    #[test]
    fn every_record_is_delivered_once_or_discarded_and_reported(
        stream in arb_stream(),
        settings in arb_failure_settings(),
        threshold in prop_oneof![Just(90i64), Just(98), Just(1_000)],
        fails in prop_oneof![Just(Fails::Throws), Just(Fails::Reports)],
        grow in prop::bool::weighted(0.3),
    ) {
        let spec = format!("builtin:sum:{}", value_path(&stream));
        // Growing states cost a copy of up to 1 MB per invocation: kept to short streams.
        let grow = grow && stream.len() <= 100;
        let mut h = Poisoned { inner: builtin(&spec), threshold, fails, grow };
        let trace = sim::simulate(&stream, &settings, &mut h).unwrap();
        prop_assert!(trace.stalls.is_empty(), "finite retries never stall");
        // Without ReportBatchItemFailures Lambda ignores `batchItemFailures`: a reporting
        // handler's batch then succeeds as a whole (and its state lacks what it skipped).
        let poison_fails = matches!(fails, Fails::Throws) || settings.report_batch_item_failures;
        let poison = |i: usize| poison_fails && Poisoned::sales(&stream, i) >= threshold;

        let mut committed = vec![0u8; stream.len()];
        let mut next_on_shard: Vec<usize> = stream.shards.iter().map(|s| s.range.start).collect();
        for inv in &trace.invocations {
            let range = inv.record_range();
            let upto = match inv.status {
                Status::Ok => range.end,
                // Records before the reported one are done; it and the rest come again.
                Status::Partial => range.clone().find(|&i| poison(i)).unwrap(),
                Status::Failed => range.start,
            };
            if range.start < upto {
                let shard = inv.shard as usize;
                prop_assert!(range.start >= next_on_shard[shard], "commits in sequence order");
                next_on_shard[shard] = upto;
            }
            for c in &mut committed[range.start..upto] {
                *c += 1;
            }
        }
        let mut discarded = vec![0u8; stream.len()];
        for d in &trace.discards {
            for i in d.records.clone() {
                discarded[i as usize] += 1;
            }
        }
        for i in 0..stream.len() {
            prop_assert_eq!(committed[i] + discarded[i], 1, "record {} committed {} discarded {}\n{:#?}", i, committed[i], discarded[i], render(&trace));
            if poison(i) {
                prop_assert_eq!(discarded[i], 1, "poison record {} discarded", i);
            }
        }

        // With windows, the finals' sums and the discarded sales add up to the input: the
        // state is threaded through retries, partial failures and early terminations.
        if settings.window_ms().is_some() && !settings.discard_state_on_partial_failure && poison_fails {
            let key = value_path(&stream).rsplit('.').next().unwrap();
            // What each window's closing invocations (final or early) were given to store.
            let finals: f64 = trace
                .invocations
                .iter()
                .filter(|i| (i.is_final || i.is_early) && i.status == Status::Ok)
                .map(|i| i.state_in.to_json().get(key).and_then(serde_json::Value::as_f64).unwrap_or(0.0))
                .sum();
            let lost: f64 = (0..stream.len())
                .filter(|&i| discarded[i] == 1)
                .map(|i| Poisoned::sales(&stream, i) as f64)
                .sum();
            prop_assert_eq!(finals + lost, total_sales(&stream), "{:#?}", render(&trace));
        }
    }
}
