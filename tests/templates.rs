//! Deployment templates in: SAM and CloudFormation mappings become the settings they deploy,
//! with the function's handler, timeout and environment; what cannot be simulated is named.

use std::path::{Path, PathBuf};
use std::process::Command;

use tumblescope::model::Source;
use tumblescope::model::settings::{Settings, StartingPosition};
use tumblescope::template::{self, settings::apply};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-data/templates")
        .join(name)
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tumblescope"))
}

fn tmp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tumblescope-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_sam_sample_gives_both_functions_mappings_with_globals_and_intrinsics_resolved() {
    let path = sample("sam-tumbling.yaml");
    let t = template::load(&path, "us-east-1", "123456789012").unwrap();
    let ids: Vec<&str> = t.mappings.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["Stream", "Table"]);
    assert_eq!(t.skipped.len(), 1, "{:?}", t.skipped);
    assert!(t.skipped[0].contains("Api"));
    let e = t.pick(None, None).unwrap_err();
    assert!(
        e.contains("several stream mappings")
            && e.contains("Stream (function KinesisSalesFunction, kinesis)"),
        "{e}"
    );

    let kinesis = t.pick(Some("KinesisSalesFunction"), None).unwrap();
    let a = apply(kinesis, &Settings::default(), &[], &path).unwrap();
    let s = &a.settings;
    assert_eq!(a.source, Source::Kinesis);
    assert_eq!(
        s.batch_size, 500,
        "!If [IsProd, 500, 100] with Stage's default prod"
    );
    assert_eq!(s.tumbling_window_s, 30, "!Ref WindowSeconds' default");
    assert_eq!(s.max_batching_window_s, 1);
    assert_eq!(s.starting_position, StartingPosition::Latest);
    assert_eq!(s.max_retry_attempts, 3);
    assert!(s.bisect_on_error && s.report_batch_item_failures);
    assert_eq!(s.filters.len(), 1);
    assert_eq!(s.timeout_ms, 15_000, "Globals.Function.Timeout");
    assert_eq!(
        s.function_env.get("STAGE").map(String::as_str),
        Some("prod")
    );
    assert_eq!(a.stream_name.as_deref(), Some("orders-prod"));
    assert_eq!(a.function_name.as_deref(), Some("kinesis-sales-prod"));
    let handler = a.handler.unwrap();
    assert!(
        handler.ends_with("handlers/kinesis-sales-v2.js:handler"),
        "{handler}"
    );
    let origin = a.origins.iter().find(|o| o.setting == "Timeout").unwrap();
    assert!(
        origin.from.ends_with("Globals.Function.Timeout"),
        "{origin:?}"
    );

    let ddb = t.pick(None, Some("Table")).unwrap();
    let a = apply(ddb, &Settings::default(), &[], &path).unwrap();
    assert_eq!(a.source, Source::Dynamodb);
    assert_eq!(
        a.settings.timeout_ms, 30_000,
        "the function's own Timeout wins over Globals"
    );
    assert_eq!(a.stream_name.as_deref(), Some("Orders-prod"));
    assert_eq!(a.settings.starting_position, StartingPosition::TrimHorizon);
}

#[test]
fn a_cloudformation_mapping_resource_finds_its_function() {
    let path = sample("cloudformation-mapping.json");
    let t = template::load(&path, "eu-west-1", "111122223333").unwrap();
    let m = t.pick(None, None).unwrap();
    assert_eq!(m.id, "WindowedMapping");
    assert_eq!(m.function.as_ref().unwrap().id, "Aggregator");
    let a = apply(m, &Settings::default(), &[], &path).unwrap();
    let s = &a.settings;
    assert_eq!(s.starting_position, StartingPosition::AtTimestamp);
    assert_eq!(s.starting_position_timestamp_ms, Some(1_767_268_860_000));
    assert_eq!(
        (s.batch_size, s.tumbling_window_s, s.max_record_age_s),
        (200, 120, 3600)
    );
    assert_eq!(s.timeout_ms, 60_000);
    assert_eq!(a.stream_name.as_deref(), Some("pos-orders"));
    assert!(
        a.handler.is_none(),
        "the code is in S3, not next to the template"
    );
    assert!(a.notes.iter().any(|n| n.contains("DestinationConfig")));
}

#[test]
fn flags_win_over_the_template_and_run_says_where_each_setting_came_from() {
    let path = sample("sam-tumbling.yaml");
    let events =
        std::env::temp_dir().join(format!("tumblescope-tpl-ev-{}.jsonl", std::process::id()));
    let out = bin()
        .args([
            "run",
            "--format",
            "json",
            "--count",
            "200",
            "--interval-ms",
            "20",
            "--mapping",
            "Stream",
            "--batch-size",
            "7",
            "--handler",
            "builtin:sum:Item.sales",
            "--events",
        ])
        .arg(&events)
        .arg("--template")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("BatchSize: flag --batch-size (over "), "{err}");
    assert!(err.contains("TumblingWindowInSeconds = 30  ("), "{err}");
    assert!(
        err.contains("left out: DynamoDBSalesFunction event Api"),
        "{err}"
    );
    assert!(
        err.contains("handler: flag --handler builtin:sum:Item.sales"),
        "{err}"
    );
    // The run used 7 (the flag), not the template's 500, and the template's 30 s windows.
    let text = std::fs::read_to_string(&events).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let largest = lines
        .iter()
        .map(|l| l["event"]["Records"].as_array().map_or(0, Vec::len))
        .max()
        .unwrap();
    assert_eq!(largest, 7);
    assert!(lines.iter().all(|l| {
        let w = &l["event"]["window"];
        w["start"].as_str().unwrap().ends_with(":00Z")
            || w["start"].as_str().unwrap().ends_with(":30Z")
    }));
    // The stream's name came from the mapping's ARN.
    assert!(text.contains("stream/orders-prod"));
}

#[test]
fn what_cannot_be_simulated_is_named_and_exits_2() {
    let cases = [
        (
            "ParallelizationFactor: 4\n      TumblingWindowInSeconds: 30",
            "ParallelizationFactor 4 with TumblingWindowInSeconds",
        ),
        ("BatchSize: 20000", "BatchSize"),
        ("Enabled: false", "the mapping is disabled"),
        ("Queues: [x]", "Queues is not simulated"),
        (
            "BatchSize: !Ref Missing",
            "no parameter or resource of that name",
        ),
        ("BatchSize: !ImportValue shared-batch", "another stack"),
    ];
    for (k, (extra, expected)) in cases.iter().enumerate() {
        let text = format!(
            "Resources:\n  Map:\n    Type: AWS::Lambda::EventSourceMapping\n    Properties:\n      \
             EventSourceArn: arn:aws:kinesis:us-east-1:1:stream/s\n      FunctionName: f\n      \
             StartingPosition: LATEST\n      {extra}\n"
        );
        let path = tmp(&format!("bad-{k}.yaml"), &text);
        let out = bin()
            .args(["run", "--template"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {err}");
        assert!(err.contains(expected), "{extra}: {err}");
    }
    // A YAML syntax error: file, line and column.
    let path = tmp("broken.yaml", "Resources:\n  Map:\n    Type: [x\n");
    let out = bin()
        .args(["run", "--template"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The parser stops at the end of the unclosed `[` (line 4, column 1) and says where it began.
    assert!(err.contains(&format!("{}:4:1: ", path.display())), "{err}");
    assert!(err.contains("line 3 column 11"), "{err}");
    // No stream mapping at all.
    let path = tmp("none.yaml", "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n");
    let out = bin()
        .args(["run", "--template"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("no Kinesis or DynamoDB event source mapping"),
        "{err}"
    );
}

/// `terraform show -json`: the mapping resource and the function it names by ARN, their
/// snake_case attributes read as the same properties; empty and computed attributes ignored,
/// anything else tumblescope does not model named.
#[test]
fn terraform_json_state_gives_the_mapping_and_its_function() {
    let path = sample("terraform-show.json");
    let t = template::load(&path, "us-east-1", "123456789012").unwrap();
    let m = t.pick(None, None).unwrap();
    assert_eq!(m.id, "aws_lambda_event_source_mapping.orders");
    assert_eq!(m.function.as_ref().unwrap().id, "aws_lambda_function.sales");
    let a = apply(m, &Settings::default(), &[], &path).unwrap();
    let s = &a.settings;
    assert_eq!(
        (s.batch_size, s.tumbling_window_s, s.max_retry_attempts),
        (250, 60, 2)
    );
    assert!(s.bisect_on_error && s.report_batch_item_failures);
    assert_eq!(
        s.filters,
        [r#"{"data":{"Item":{"sales":[{"numeric":[">=",10]}]}}}"#]
    );
    assert_eq!(s.timeout_ms, 20_000);
    assert_eq!(
        s.function_env.get("TABLE").map(String::as_str),
        Some("tumblescope-results")
    );
    assert!(
        a.handler
            .unwrap()
            .ends_with("handlers/sales.py:lambda_handler")
    );
    assert_eq!(a.stream_name.as_deref(), Some("tf-orders"));

    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(r#""queues": []"#, r#""queues": ["orders-queue"]"#);
    let bad = tmp("tf-queues.json", &text);
    let t = template::load(&bad, "us-east-1", "123456789012").unwrap();
    let errors = apply(t.pick(None, None).unwrap(), &Settings::default(), &[], &bad).unwrap_err();
    assert!(
        errors.iter().any(|e| e.contains("queues is not simulated")),
        "{errors:?}"
    );
}

/// `export-template` writes each format so that `--template` reads back the same settings:
/// what was simulated is what deploys.
#[test]
fn exported_templates_read_back_to_the_same_settings() {
    use tumblescope::template::export::{Deployment, TemplateFormat};
    let settings = Settings {
        tumbling_window_s: 45,
        batch_size: 321,
        max_batching_window_s: 2,
        max_retry_attempts: 4,
        max_record_age_s: 600,
        bisect_on_error: true,
        report_batch_item_failures: true,
        starting_position: StartingPosition::AtTimestamp,
        starting_position_timestamp_ms: Some(1_767_268_830_000),
        filters: vec![r#"{"data":{"Item":{"sales":[{"numeric":[">",5]}]}}}"#.into()],
        timeout_ms: 12_000,
        function_env: [("STAGE".to_owned(), "test".to_owned())].into(),
        ..Settings::default()
    };
    let meta = tumblescope::model::stream::StreamMeta {
        stream_name: "exported-orders".into(),
        function_name: "exported-fn".into(),
        ..Default::default()
    };
    let handler_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/handlers/kinesis-sales-v2.js");
    for (format, name) in [
        (TemplateFormat::Sam, "out.yaml"),
        (TemplateFormat::Cloudformation, "out.json"),
        (TemplateFormat::Terraform, "out.tf.json"),
    ] {
        let d = Deployment {
            settings: &settings,
            source: Source::Kinesis,
            meta: &meta,
            handler: tumblescope::handlers::external::ExternalSpec::parse(
                &handler_path.display().to_string(),
            ),
        };
        let path = tmp(name, &d.render(format));
        let t = template::load(&path, "us-east-1", "123456789012").unwrap();
        let m = t.pick(None, None).unwrap();
        let a =
            apply(m, &Settings::default(), &[], &path).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let back = &a.settings;
        assert_eq!(
            (
                back.tumbling_window_s,
                back.batch_size,
                back.max_batching_window_s,
                back.max_retry_attempts,
                back.max_record_age_s
            ),
            (45, 321, 2, 4, 600),
            "{name}"
        );
        assert!(
            back.bisect_on_error && back.report_batch_item_failures,
            "{name}"
        );
        assert_eq!(
            back.starting_position,
            StartingPosition::AtTimestamp,
            "{name}"
        );
        assert_eq!(
            back.starting_position_timestamp_ms, settings.starting_position_timestamp_ms,
            "{name}"
        );
        assert_eq!(back.filters, settings.filters, "{name}");
        assert_eq!(back.timeout_ms, 12_000, "{name}");
        assert_eq!(back.function_env, settings.function_env, "{name}");
        assert_eq!(a.stream_name.as_deref(), Some("exported-orders"), "{name}");
        assert_eq!(a.function_name.as_deref(), Some("exported-fn"), "{name}");
        if format != TemplateFormat::Cloudformation {
            // SAM's CodeUri and Terraform's filename point at the handler's folder.
            assert!(
                a.handler.unwrap().ends_with("kinesis-sales-v2.js:handler"),
                "{name}"
            );
        }
    }
}

#[test]
fn export_template_prints_or_writes_and_never_overwrites_its_input() {
    let out = bin()
        .args([
            "export-template",
            "--format",
            "sam",
            "--batch-size",
            "77",
            "--source",
            "dynamodb",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("BatchSize: 77") && text.contains("Type: DynamoDB"),
        "{text}"
    );
    // From a template, into a file; then the template itself is refused as the output.
    let file =
        std::env::temp_dir().join(format!("tumblescope-export-{}.tf.json", std::process::id()));
    let path = sample("sam-tumbling.yaml");
    let out = bin()
        .args([
            "export-template",
            "--format",
            "terraform",
            "--mapping",
            "Stream",
            "-o",
        ])
        .arg(&file)
        .arg("--template")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tf: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let m = &tf["resource"]["aws_lambda_event_source_mapping"]["tumblescope"];
    assert_eq!(m["batch_size"], 500);
    assert_eq!(
        m["event_source_arn"],
        "arn:aws:kinesis:us-east-1:123456789012:stream/orders-prod"
    );
    let before = std::fs::read(&path).unwrap();
    let out = bin()
        .args([
            "export-template",
            "--format",
            "sam",
            "--mapping",
            "Stream",
            "-o",
        ])
        .arg(&path)
        .arg("--template")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
