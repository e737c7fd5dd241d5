//! Loading every supported format from `sample-data/`, every error kind, and never panicking on
//! garbage.

mod common;

use std::path::PathBuf;

use proptest::prelude::*;
use tumblescope::ingest::{
    FieldMap, Format, LoadControl, LoadError, LoadOptions, load_bytes, load_paths,
};
use tumblescope::model::stream::Stream;
use tumblescope::model::{EventName, Source};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("sample-data")
        .join(name)
}

fn load(names: &[&str], opts: LoadOptions) -> (Stream, tumblescope::ingest::LoadReport) {
    let paths: Vec<PathBuf> = names.iter().map(|n| sample(n)).collect();
    load_paths(&paths, &opts, &mut LoadControl::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn json(stream: &Stream, i: usize) -> serde_json::Value {
    serde_json::from_slice(&stream.payload(i)).unwrap()
}

fn find(stream: &Stream, f: impl Fn(usize) -> bool) -> usize {
    (0..stream.len()).find(|&i| f(i)).expect("record present")
}

#[test]
fn orders_jsonl() {
    let (s, r) = load(&["orders.jsonl"], LoadOptions::default());
    assert_eq!(r.formats, [Format::Orders]);
    assert_eq!(s.len(), 60);
    assert_eq!(s.shards.len(), 2);
    assert_eq!(s.shards[0].id, "shardId-000000000000");
    let (min, max) = s.time_range().unwrap();
    assert_eq!(
        tumblescope::model::iso_millis(min),
        "2026-01-01T12:00:00.000Z"
    );
    assert!(max > min + 20_000);
    let first = find(&s, |i| s.ts_ms[i] == min);
    assert_eq!(json(&s, first)["Item"]["orderId"], "o-00000001");
    assert!(s.payload_is_json);
}

#[test]
fn dynamodb_orders() {
    let opts = LoadOptions {
        source: Source::Dynamodb,
        ..LoadOptions::default()
    };
    let (s, _) = load(&["orders-dynamodb.jsonl"], opts);
    assert_eq!(s.len(), 40);
    assert!((0..s.len()).any(|i| s.event_name(i) == EventName::Modify && s.old_image(i).is_some()));
    assert!((0..s.len()).any(|i| s.event_name(i) == EventName::Remove));
    assert!(
        s.shards
            .iter()
            .all(|sh| common::is_dynamodb_shard_id(&sh.id)),
        "{:?}",
        s.shards[0].id
    );
}

#[test]
fn csv_with_mapped_fields() {
    let opts = LoadOptions {
        fields: FieldMap {
            timestamp: "sold_at".into(),
            partition_key: "store".into(),
            ..FieldMap::default()
        },
        ..LoadOptions::default()
    };
    let (s, r) = load(&["pos-export.csv"], opts);
    assert_eq!(r.formats, [Format::Csv]);
    assert_eq!(s.len(), 32);
    let i = find(&s, |i| json(&s, i)["order_id"] == "A-1000");
    assert_eq!(
        tumblescope::model::iso_millis(s.ts_ms[i]),
        "2026-01-01T12:00:00.756Z"
    );
    assert_eq!(s.partition_key(i), "downtown");
    assert_eq!(json(&s, i)["sales"], 94);
    // Quoted commas stay inside the field.
    assert!((0..s.len()).any(|i| json(&s, i)["cashier"] == "Lee, J."));
}

#[test]
fn generic_jsonl_with_millisecond_timestamps() {
    let opts = LoadOptions {
        fields: FieldMap {
            timestamp: "ts_ms".into(),
            partition_key: "session".into(),
            ..FieldMap::default()
        },
        ..LoadOptions::default()
    };
    let (s, r) = load(&["checkout-events.jsonl"], opts);
    assert_eq!(r.formats, [Format::Jsonl]);
    assert_eq!(s.len(), 30);
    let i = find(&s, |i| s.ts_ms[i] == 1_767_268_800_771);
    assert_eq!(json(&s, i)["cart"]["items"], 5);
    assert_eq!(s.partition_key(i), "s-2");
}

#[test]
fn generic_jsonl_with_a_shard_field_keeps_shards() {
    let text = "{\"t\":1,\"k\":\"a\",\"sh\":\"shard-x\",\"v\":1}\n{\"t\":2,\"k\":\"a\",\"sh\":\"shard-y\",\"v\":2}\n{\"t\":3,\"k\":\"b\",\"sh\":\"shard-x\",\"v\":3}\n";
    let opts = LoadOptions {
        fields: FieldMap {
            timestamp: "t".into(),
            partition_key: "k".into(),
            shard: Some("sh".into()),
            ..FieldMap::default()
        },
        ..LoadOptions::default()
    };
    let (s, _) = load_bytes("sharded.jsonl", text.as_bytes(), &opts).unwrap();
    let ids: Vec<&str> = s.shards.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["shard-x", "shard-y"]);
    assert_eq!(s.shards[0].range.len(), 2);
}

#[test]
fn kinesis_lambda_event_keeps_shard_sequence_and_time() {
    let (s, r) = load(&["kinesis-event.json"], LoadOptions::default());
    assert_eq!(r.formats, [Format::Events]);
    assert_eq!(s.len(), 3);
    assert_eq!(s.shards.len(), 1);
    assert_eq!(s.shards[0].id, "shardId-000000000006");
    assert_eq!(
        s.seq(0),
        "49590338271490256608559692538361571095921575989136580000"
    );
    assert_eq!(s.ts_ms[0], 1_767_268_801_250);
    assert_eq!(json(&s, 2)["Item"]["sales"], 23);
}

#[test]
fn logged_events_drop_repeated_records() {
    let (s, r) = load(&["lambda-events.jsonl"], LoadOptions::default());
    assert_eq!(s.len(), 12);
    assert_eq!(r.duplicates, 2);
    assert_eq!(s.shards.len(), 2);
    assert!(r.summary().iter().any(|l| l.contains("2 duplicate")));
}

#[test]
fn dynamodb_event_and_cli_output() {
    for name in ["dynamodb-event.json", "dynamodb-get-records.json"] {
        let (s, _) = load(&[name], LoadOptions::default());
        assert_eq!(s.source, Source::Dynamodb, "{name}");
        assert_eq!(s.len(), 4);
        assert_eq!(s.ts_ms[0], 1_767_268_801_000);
        let m = find(&s, |i| s.event_name(i) == EventName::Modify);
        assert_eq!(json(&s, m)["sales"], 45);
        let old: serde_json::Value = serde_json::from_slice(s.old_image(m).unwrap()).unwrap();
        assert_eq!(old["sales"], 42);
        let r = find(&s, |i| s.event_name(i) == EventName::Remove);
        assert_eq!(json(&s, r)["ID"], "o-2");
    }
    let (s, _) = load(&["dynamodb-event.json"], LoadOptions::default());
    assert_eq!(s.shards[0].id, "shardId-00000001767265200000-8a2c41f0");
}

#[test]
fn cli_get_records_one_file_per_shard_merged() {
    let (s, r) = load(
        &[
            "kinesis-get-records-shardId-000000000000.json",
            "kinesis-get-records-shardId-000000000001.json",
        ],
        LoadOptions::default(),
    );
    assert_eq!(r.formats, [Format::GetRecords, Format::GetRecords]);
    assert_eq!(s.len(), 21);
    let ids: Vec<&str> = s.shards.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["shardId-000000000000", "shardId-000000000001"]);
    assert_eq!(s.shards[0].range.len(), 12);
    // CLI v2 prints ISO times, v1 epoch seconds: both read.
    assert_eq!(s.ts_ms[s.shards[0].range.start], 1_767_268_800_000);
    assert_eq!(s.ts_ms[s.shards[1].range.start], 1_767_268_800_997);
}

fn err(name: &str, text: &[u8], opts: &LoadOptions) -> String {
    load_bytes(name, text, opts)
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn every_error_kind_has_a_clear_message() {
    let o = LoadOptions::default();
    let good = "{\"timestamp\":1767268800,\"partitionKey\":\"a\",\"data\":{\"x\":1}}\n";
    assert_eq!(err("e.jsonl", b"", &o), "e.jsonl: the file is empty");
    assert!(err("b.bin", b"\x00\x01\x02PK", &o).contains("binary file"));
    assert!(err("w.jsonl", b"\n  \n", &o).contains("only blank lines"));
    let mut bytes = good.as_bytes().to_vec();
    bytes.extend_from_slice(b"{\"timestamp\":1,\"partitionKey\":\"\xff\",\"data\":{}}\n");
    assert_eq!(
        err("u.jsonl", &bytes, &o),
        "u.jsonl:2:32: this line is not UTF-8 text"
    );
    let malformed = format!("{good}{{\"timestamp\":1,\"partitionKey\":\"a\",\"data\":{{]}}\n");
    let e = err("m.jsonl", malformed.as_bytes(), &o);
    assert!(e.starts_with("m.jsonl:2:"), "{e}");
    let ts =
        format!("{good}{{\"timestamp\":\"yesterday\",\"partitionKey\":\"a\",\"data\":{{}}}}\n");
    assert!(
        err("t.jsonl", ts.as_bytes(), &o)
            .starts_with("t.jsonl:2:14: timestamp \"yesterday\" is not RFC 3339")
    );
    let missing = format!("{good}{{\"partitionKey\":\"a\",\"data\":{{}}}}\n");
    assert!(
        err("n.jsonl", missing.as_bytes(), &o).starts_with("n.jsonl:2:1: missing \"timestamp\"")
    );
    let truncated = format!("{good}{{\"timestamp\":1,\"partitionKey\":\"a\",\"da");
    let e = err("x.jsonl", truncated.as_bytes(), &o);
    assert!(
        e.starts_with("x.jsonl:2:") && e.contains("truncated last line"),
        "{e}"
    );

    let b64 = std::fs::read_to_string(sample("kinesis-event.json"))
        .unwrap()
        .replacen("\"data\": \"", "\"data\": \"!!", 1);
    let e = err("k.json", b64.as_bytes(), &o);
    assert!(
        e.contains("k.json:") && e.contains("not valid base64"),
        "{e}"
    );
    let line = b64.lines().position(|l| l.contains("!!")).unwrap() + 1;
    assert!(
        e.starts_with(&format!("k.json:{line}:")),
        "{e} (expected line {line})"
    );

    let ddb = std::fs::read_to_string(sample("dynamodb-event.json"))
        .unwrap()
        .replacen("\"N\": \"42\"", "\"N\": 42", 1);
    let e = err("d.json", ddb.as_bytes(), &o);
    assert!(e.contains("wrong DynamoDB type at NewImage.sales"), "{e}");
    assert!(e.starts_with("d.json:"), "{e}");

    let csv_o = LoadOptions {
        fields: FieldMap {
            timestamp: "sold_at".into(),
            partition_key: "store".into(),
            ..FieldMap::default()
        },
        ..LoadOptions::default()
    };
    let e = err(
        "p.csv",
        b"order_id,store,sold_at\nA,x,2026-01-01T12:00:00Z\nB,y\n",
        &csv_o,
    );
    assert!(
        e.starts_with("p.csv:3:1:") && e.contains("2 fields, the header has 3"),
        "{e}"
    );
    let e = err("p.csv", b"order_id,shop,when\nA,x,1\n", &csv_o);
    assert!(e.contains("no column \"sold_at\""), "{e}");
    let e = err("p.csv", b"order_id,store,sold_at\nA,x,noon\n", &csv_o);
    assert!(
        e.starts_with("p.csv:2:5:") && e.contains("not RFC 3339"),
        "{e}"
    );
}

#[test]
fn skipping_bad_records_reports_how_many_and_which() {
    let mut text = String::new();
    for k in 0..30 {
        if k % 7 == 3 {
            text.push_str("{\"timestamp\":\"bad\",\"partitionKey\":\"a\",\"data\":{}}\n");
        } else {
            text.push_str(&format!(
                "{{\"timestamp\":{},\"partitionKey\":\"a\",\"data\":{{\"k\":{k}}}}}\n",
                1_767_268_800 + k
            ));
        }
    }
    let o = LoadOptions {
        skip_bad: true,
        max_listed: 2,
        ..LoadOptions::default()
    };
    let (s, r) = load_bytes("mixed.jsonl", text.as_bytes(), &o).unwrap();
    assert_eq!(s.len(), 26);
    assert_eq!(r.skipped, 4);
    assert_eq!(r.errors.len(), 2);
    assert!(r.errors[0].to_string().starts_with("mixed.jsonl:4:14:"));
    assert!(r.summary()[0].contains("skipped 4 bad record(s), the first 2 listed"));
    // Without the option, the first bad record stops the load.
    assert!(load_bytes("mixed.jsonl", text.as_bytes(), &LoadOptions::default()).is_err());
}

#[test]
fn backwards_timestamps_are_reported() {
    let text = std::fs::read_to_string(sample("kinesis-event.json"))
        .unwrap()
        .replacen("1767268806.25", "1767268790.25", 1);
    let (s, r) = load_bytes("k.json", text.as_bytes(), &LoadOptions::default()).unwrap();
    assert_eq!(s.backwards.len(), 1);
    assert_eq!(r.backwards, 1);
    assert!(r.summary().iter().any(|l| l.contains("timestamps earlier")));
}

#[test]
fn mixed_formats_are_refused() {
    let e = load_paths(
        &[sample("orders.jsonl"), sample("pos-export.csv")],
        &LoadOptions::default(),
        &mut LoadControl::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("different formats"), "{e}");
}

#[test]
fn loading_can_be_cancelled_and_reports_progress() {
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let mut control = LoadControl {
        cancel: Some(&cancel),
        progress: None,
    };
    let e = load_paths(
        &[sample("orders.jsonl")],
        &LoadOptions::default(),
        &mut control,
    )
    .unwrap_err();
    assert_eq!(e, LoadError::Cancelled);
    let mut seen = Vec::new();
    let mut on = |p: tumblescope::ingest::LoadProgress| seen.push(p);
    let mut control = LoadControl {
        cancel: None,
        progress: Some(&mut on),
    };
    load_paths(
        &[sample("orders.jsonl")],
        &LoadOptions::default(),
        &mut control,
    )
    .unwrap();
    let last = seen.last().unwrap();
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(last.records, 60);
}

#[test]
fn the_file_is_never_modified() {
    let path = sample("orders.jsonl");
    let before = std::fs::read(&path).unwrap();
    load_paths(
        std::slice::from_ref(&path),
        &LoadOptions::default(),
        &mut LoadControl::default(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

fn acceptable(r: &Result<(Stream, tumblescope::ingest::LoadReport), LoadError>) -> bool {
    match r {
        Ok((s, _)) => !s.is_empty(),
        Err(LoadError::At { line, column, .. }) => *line >= 1 && *column >= 1,
        Err(LoadError::File { message, .. }) => [
            "empty",
            "binary",
            "blank lines",
            "no records",
            "no valid records",
            "expected",
            "different formats",
            "not UTF-8",
        ]
        .iter()
        .any(|k| message.contains(k)),
        Err(LoadError::Cancelled) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let r = load_bytes("fuzz.bin", &bytes, &LoadOptions::default());
        prop_assert!(acceptable(&r), "{:?}", r.err());
    }

    #[test]
    fn mutated_valid_files_never_panic(
        file in prop_oneof![
            Just("orders.jsonl"), Just("pos-export.csv"), Just("kinesis-event.json"),
            Just("lambda-events.jsonl"), Just("dynamodb-event.json"),
            Just("kinesis-get-records-shardId-000000000000.json"), Just("checkout-events.jsonl")
        ],
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        skip in any::<bool>(),
    ) {
        let mut bytes = std::fs::read(sample(file)).unwrap();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.truncate(i),
            }
        }
        let opts = LoadOptions {
            skip_bad: skip,
            fields: FieldMap {
                timestamp: if file.ends_with(".csv") { "sold_at".into() } else if file.starts_with("checkout") { "ts_ms".into() } else { "timestamp".into() },
                partition_key: if file.ends_with(".csv") { "store".into() } else if file.starts_with("checkout") { "session".into() } else { "partitionKey".into() },
                ..FieldMap::default()
            },
            ..LoadOptions::default()
        };
        let r = load_bytes(file, &bytes, &opts);
        prop_assert!(acceptable(&r), "{:?}", r.err());
    }
}

/// One timestamp rule for every format: the same text gives the same instant, or the same
/// error, whether it comes from an orders line, a generic JSON line, a CSV cell (as text) or a
/// Lambda event file's arrival time.
#[test]
fn every_format_reads_a_timestamp_the_same_way() {
    let table: [(&str, Result<i64, &str>); 9] = [
        ("1767268800", Ok(1_767_268_800_000)),
        ("1767268800.25", Ok(1_767_268_800_250)),
        ("\"1767268800.5\"", Ok(1_767_268_800_500)),
        ("\"2026-01-01T12:00:00.250Z\"", Ok(1_767_268_800_250)),
        ("\"2026-01-01T13:00:00+01:00\"", Ok(1_767_268_800_000)),
        (
            "\"2026-01-01T12:00:01.250000+00:00\"",
            Ok(1_767_268_801_250),
        ),
        ("\"noon\"", Err("is not RFC 3339")),
        ("true", Err("must be a number or a string")),
        ("1767268800000000", Err("outside the years 1970–9999")),
    ];
    let opts = |format| LoadOptions {
        format: Some(format),
        shards: 1,
        ..LoadOptions::default()
    };
    for (text, want) in table {
        let orders = format!("{{\"timestamp\":{text},\"partitionKey\":\"k\",\"data\":{{}}}}\n");
        let jsonl = format!("{{\"timestamp\":{text},\"partitionKey\":\"k\"}}\n");
        let event = format!(
            r#"{{"Records":[{{"kinesis":{{"partitionKey":"k","sequenceNumber":"1","data":"e30=","approximateArrivalTimestamp":{text}}},"eventSource":"aws:kinesis","eventID":"shardId-000000000000:1"}}]}}"#
        );
        let mut cases = vec![
            (
                "orders",
                load_bytes("t.jsonl", orders.as_bytes(), &opts(Format::Orders)),
            ),
            (
                "jsonl",
                load_bytes("t.jsonl", jsonl.as_bytes(), &opts(Format::Jsonl)),
            ),
            (
                "events",
                load_bytes("t.json", event.as_bytes(), &opts(Format::Events)),
            ),
        ];
        // A CSV cell is text: the JSON string's content, or the literal as written.
        if text != "true" {
            let cell = text.trim_matches('"');
            let csv = format!("timestamp,partitionKey\n{cell},k\n");
            cases.push((
                "csv",
                load_bytes("t.csv", csv.as_bytes(), &opts(Format::Csv)),
            ));
        }
        for (format, got) in cases {
            match (&want, got) {
                (Ok(ms), Ok((stream, _))) => assert_eq!(stream.ts_ms[0], *ms, "{format} {text}"),
                (Err(part), Err(e)) => {
                    assert!(e.to_string().contains(part), "{format} {text}: {e}")
                }
                (want, got) => panic!(
                    "{format} {text}: want {want:?}, got {:?}",
                    got.map(|(s, _)| s.ts_ms[0]).map_err(|e| e.to_string())
                ),
            }
        }
    }
}

#[test]
fn dynamodb_shard_ids_are_told_from_kinesis_ones() {
    assert!(common::is_dynamodb_shard_id(
        "shardId-00000001767265200000-25310874"
    ));
    assert!(!common::is_dynamodb_shard_id("shardId-000000000001"));
    assert!(!common::is_dynamodb_shard_id(
        "shardId-00000001767265200000-2531087"
    ));
}

/// The options that load each sample file (its field mapping).
fn sample_options(file: &str, skip_bad: bool) -> LoadOptions {
    let (timestamp, partition_key) = if file.ends_with(".csv") {
        ("sold_at", "store")
    } else if file.starts_with("checkout") {
        ("ts_ms", "session")
    } else {
        ("timestamp", "partitionKey")
    };
    LoadOptions {
        skip_bad,
        fields: FieldMap {
            timestamp: timestamp.into(),
            partition_key: partition_key.into(),
            ..FieldMap::default()
        },
        ..LoadOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    /// One edit at a structural byte (`{}[]:,"`) of a line-based file: the file either still
    /// loads every record, or the error names exactly the edited line; with --skip-bad the
    /// other lines all load and the edited line is the one listed.
    #[test]
    fn a_broken_line_is_reported_at_that_line(
        file in prop_oneof![Just("orders.jsonl"), Just("checkout-events.jsonl"), Just("orders-dynamodb.jsonl")],
        at in any::<prop::sample::Index>(),
        op in 0u8..3,
        with in prop_oneof![Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b':'), Just(b','), Just(b'"'), Just(b'x')],
    ) {
        let original = std::fs::read(sample(file)).unwrap();
        let (p, bytes) = edit_structural(&original, 0..original.len(), b"{}[]:,\"", at, op, with);
        let line = original[..p].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let lines = original.iter().filter(|&&b| b == b'\n').count();
        let mut opts = sample_options(file, false);
        if file.contains("dynamodb") {
            opts.source = Source::Dynamodb;
        }
        // The format as given with --input-format: an edit to the first line must not turn the
        // file into another format (detection reads the first line; that is tested apart).
        opts.format = Some(if file.starts_with("checkout") { Format::Jsonl } else { Format::Orders });
        match load_bytes(file, &bytes, &opts) {
            Ok((s, _)) => prop_assert_eq!(s.len(), lines),
            Err(LoadError::At { line: l, column, .. }) => {
                prop_assert_eq!(l, line);
                prop_assert!(column >= 1);
                let opts = LoadOptions { skip_bad: true, ..opts };
                let (s, report) = load_bytes(file, &bytes, &opts).unwrap();
                prop_assert_eq!(s.len(), lines - 1);
                prop_assert!(matches!(report.errors.as_slice(), [LoadError::At { line: l, .. }] if *l == line), "{:?}", report.errors);
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

/// One edit at a byte of `within` that is one of `structural`: replaced by `with` (op 0),
/// removed (1) or preceded by `with` (2). Returns the edited offset and the edited bytes.
fn edit_structural(
    original: &[u8],
    within: std::ops::Range<usize>,
    structural: &[u8],
    at: prop::sample::Index,
    op: u8,
    with: u8,
) -> (usize, Vec<u8>) {
    let places: Vec<usize> = within
        .filter(|&i| structural.contains(&original[i]))
        .collect();
    let p = places[at.index(places.len())];
    let mut bytes = original.to_vec();
    match op {
        0 => bytes[p] = with,
        1 => {
            bytes.remove(p);
        }
        _ => bytes.insert(p, with),
    }
    (p, bytes)
}

/// Byte offsets where each element of the document's `Records` array starts, found by a scan
/// that skips strings; the test uses them to say which record an edit falls in.
fn record_starts(doc: &[u8]) -> Vec<usize> {
    let key = doc.windows(9).position(|w| w == b"\"Records\"").unwrap();
    let (mut depth, mut in_str, mut esc, mut starts) = (0usize, false, false, vec![]);
    for (i, &b) in doc.iter().enumerate().skip(key + 9) {
        if in_str {
            (esc, in_str) = (!esc && b == b'\\', in_str && (esc || b != b'"'));
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                if depth == 1 && b == b'{' {
                    starts.push(i);
                }
                depth += 1;
            }
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    starts
}

/// The byte offset of a 1-based line and column (the sample files are ASCII).
fn offset_of(doc: &[u8], line: u64, column: u64) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        let mut seen = 1;
        doc.iter()
            .position(|&b| {
                seen += (b == b'\n') as u64;
                seen == line
            })
            .unwrap_or(doc.len())
            + 1
    };
    line_start + column as usize - 1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    /// One edit at a structural byte of a whole-document format (Lambda event files and
    /// `get-records` output): the file still loads every record, or the error points at the
    /// record that holds the edit or later, never into an untouched record before it (that
    /// prefix is still valid); a syntax error cannot be found before the edited byte.
    #[test]
    fn a_broken_document_is_reported_at_or_after_the_edited_record(
        file in prop_oneof![
            Just("kinesis-event.json"), Just("dynamodb-event.json"),
            Just("kinesis-get-records-shardId-000000000000.json"), Just("dynamodb-get-records.json")
        ],
        at in any::<prop::sample::Index>(),
        op in 0u8..3,
        with in prop_oneof![Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b':'), Just(b','), Just(b'"'), Just(b'x')],
    ) {
        let original = std::fs::read(sample(file)).unwrap();
        let (p, bytes) = edit_structural(&original, 0..original.len(), b"{}[]:,\"", at, op, with);
        let starts = record_starts(&original);
        let record_start = starts.iter().rev().find(|&&s| s <= p).copied().unwrap_or(0);
        let mut opts = sample_options(file, false);
        opts.format = Some(if file.contains("get-records") { Format::GetRecords } else { Format::Events });
        if file.contains("dynamodb") {
            opts.source = Source::Dynamodb;
        }
        match load_bytes(file, &bytes, &opts) {
            Ok((s, _)) => prop_assert_eq!(s.len(), starts.len()),
            Err(LoadError::At { line, column, message, .. }) => {
                prop_assert!(line >= 1 && column >= 1);
                let at = offset_of(&bytes, line, column);
                prop_assert!(at >= record_start, "{file}: error at byte {at} ({line}:{column}: {message}) is before the edited record at {record_start} (edit at {p})");
                let syntax = serde_json::from_slice::<serde_json::Value>(&bytes).is_err();
                prop_assert!(!syntax || at + 1 >= p, "{file}: syntax error at byte {at} ({line}:{column}: {message}) is before the edit at {p}");
            }
            Err(e) => prop_assert!(false, "{file}: {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// One edit at a structural byte (`,`, `"` or a line end) of a CSV data row: every row
    /// still loads, or the error names the edited row or a later one (a quote opened by the
    /// edit can run on), never an untouched row before it.
    #[test]
    fn a_broken_csv_row_is_reported_at_or_after_that_row(
        at in any::<prop::sample::Index>(),
        op in 0u8..3,
        with in prop_oneof![Just(b','), Just(b'"'), Just(b'\n'), Just(b'x')],
    ) {
        let original = std::fs::read(sample("pos-export.csv")).unwrap();
        let header_end = original.iter().position(|&b| b == b'\n').unwrap() + 1;
        let (p, bytes) = edit_structural(&original, header_end..original.len() - 1, b",\"\n", at, op, with);
        let line = original[..p].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let rows = original.iter().filter(|&&b| b == b'\n').count() - 1;
        let opts = LoadOptions { format: Some(Format::Csv), ..sample_options("pos-export.csv", false) };
        match load_bytes("pos-export.csv", &bytes, &opts) {
            // An inserted line end splits a row into two bad ones, so a load that succeeds
            // must have kept the rows as they were, or the edit was to a quoted cell's text.
            Ok((s, _)) => prop_assert!(s.len() == rows || bytes.iter().filter(|&&b| b == b'"').count() != 10, "{} of {rows}", s.len()),
            Err(LoadError::At { line: l, column, message, .. }) => {
                prop_assert!(column >= 1);
                prop_assert!(l >= line, "error at line {l} ({message}) before the edited line {line}");
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
