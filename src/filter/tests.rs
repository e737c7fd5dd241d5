//! Every operator of Lambda's filter rule syntax, with the examples of AWS's "Control which
//! events Lambda sends to your function" (invocation-eventfiltering), "Using event filtering
//! with a Kinesis event source" (with-kinesis-filtering) and "... with a DynamoDB event source"
//! (with-ddb-filtering) pages, each against events that must and must not match.

use serde_json::{Value, json};

use super::matching::matches;
use super::pattern::parse;
use super::*;

fn check(source: Source, pattern: &str, event: Value, want: bool) {
    let p = parse(pattern, source).unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
    let Value::Object(m) = &event else {
        panic!("event must be an object")
    };
    assert_eq!(matches(&p, m), want, "{pattern} on {event}");
}

/// Checks every (pattern, event, matches) row against a Kinesis pattern.
fn check_table(table: &[(&str, Value, bool)]) {
    for (pattern, event, want) in table {
        check(Source::Kinesis, pattern, event.clone(), *want);
    }
}

#[test]
fn null_empty_and_exact_values_match_as_written() {
    check_table(&[
        // Null and empty.
        (r#"{"UserID": [null]}"#, json!({"UserID": null}), true),
        (r#"{"UserID": [null]}"#, json!({"UserID": "x"}), false),
        (r#"{"UserID": [null]}"#, json!({}), false),
        (r#"{"LastName": [""]}"#, json!({"LastName": ""}), true),
        (r#"{"LastName": [""]}"#, json!({"LastName": "Doe"}), false),
        // Equals: strings exactly, no case folding.
        (r#"{"Name": ["Alice"]}"#, json!({"Name": "Alice"}), true),
        (r#"{"Name": ["Alice"]}"#, json!({"Name": "alice"}), false),
        // Equals (ignore case).
        (
            r#"{"Name": [{"equals-ignore-case": "alice"}]}"#,
            json!({"Name": "ALICE"}),
            true,
        ),
        (
            r#"{"Name": [{"equals-ignore-case": "alice"}]}"#,
            json!({"Name": "Alicia"}),
            false,
        ),
    ]);
}

#[test]
fn and_or_and_not_combine_as_aws_describes() {
    check_table(&[
        // And: several keys.
        (
            r#"{"Location": ["New York"], "Day": ["Monday"]}"#,
            json!({"Location": "New York", "Day": "Monday"}),
            true,
        ),
        (
            r#"{"Location": ["New York"], "Day": ["Monday"]}"#,
            json!({"Location": "New York", "Day": "Tuesday"}),
            false,
        ),
        // Or: several values of a key.
        (
            r#"{"PaymentType": ["Credit", "Debit"]}"#,
            json!({"PaymentType": "Debit"}),
            true,
        ),
        (
            r#"{"PaymentType": ["Credit", "Debit"]}"#,
            json!({"PaymentType": "Cash"}),
            false,
        ),
        // Or across keys: $or.
        (
            r#"{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}"#,
            json!({"Location": "Paris", "Day": "Monday"}),
            true,
        ),
        (
            r#"{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}"#,
            json!({"Location": "Paris", "Day": "Friday"}),
            false,
        ),
        // Not: anything-but, the list form.
        (
            r#"{"Weather": [{"anything-but": ["Raining"]}]}"#,
            json!({"Weather": "Sunny"}),
            true,
        ),
        (
            r#"{"Weather": [{"anything-but": ["Raining"]}]}"#,
            json!({"Weather": "Raining"}),
            false,
        ),
        (
            r#"{"Weather": [{"anything-but": ["Raining"]}]}"#,
            json!({}),
            false,
        ),
    ]);
}

#[test]
fn numeric_and_exists_match_as_aws_describes() {
    check_table(&[
        // Numeric: equals and a range; numbers as written for exact values.
        (
            r#"{"Price": [{"numeric": ["=", 100]}]}"#,
            json!({"Price": 100}),
            true,
        ),
        (
            r#"{"Price": [{"numeric": ["=", 100]}]}"#,
            json!({"Price": 100.0}),
            true,
        ),
        (
            r#"{"Price": [{"numeric": ["=", 100]}]}"#,
            json!({"Price": "100"}),
            false,
        ),
        (
            r#"{"Price": [{"numeric": [">", 10, "<=", 20]}]}"#,
            json!({"Price": 20}),
            true,
        ),
        (
            r#"{"Price": [{"numeric": [">", 10, "<=", 20]}]}"#,
            json!({"Price": 10}),
            false,
        ),
        (r#"{"Price": [300]}"#, json!({"Price": 300}), true),
        (
            r#"{"Price": [300]}"#,
            serde_json::from_str(r#"{"Price": 300.0}"#).unwrap(),
            false,
        ),
        // Exists, of leaves only.
        (
            r#"{"ProductName": [{"exists": true}]}"#,
            json!({"ProductName": "Lamp"}),
            true,
        ),
        (
            r#"{"ProductName": [{"exists": true}]}"#,
            json!({"ProductName": {"en": "Lamp"}}),
            false,
        ),
        (
            r#"{"ProductName": [{"exists": false}]}"#,
            json!({"Other": 1}),
            true,
        ),
        (
            r#"{"ProductName": [{"exists": false}]}"#,
            json!({"ProductName": "Lamp"}),
            false,
        ),
    ]);
}

#[test]
fn prefix_suffix_arrays_and_nesting_match_as_aws_describes() {
    check_table(&[
        // Begins with / ends with.
        (
            r#"{"Region": [{"prefix": "us-"}]}"#,
            json!({"Region": "us-east-1"}),
            true,
        ),
        (
            r#"{"Region": [{"prefix": "us-"}]}"#,
            json!({"Region": "eu-west-1"}),
            false,
        ),
        (
            r#"{"FileName": [{"suffix": ".png"}]}"#,
            json!({"FileName": "cat.png"}),
            true,
        ),
        (
            r#"{"FileName": [{"suffix": ".png"}]}"#,
            json!({"FileName": "cat.jpg"}),
            false,
        ),
        // Event arrays match when an element does.
        (
            r#"{"Tags": ["red"]}"#,
            json!({"Tags": ["blue", "red"]}),
            true,
        ),
        (r#"{"Tags": ["red"]}"#, json!({"Tags": ["blue"]}), false),
        // Nested objects.
        (
            r#"{"order": {"type": ["buy"]}}"#,
            json!({"record": 12345, "order": {"type": "buy", "stock": "ANYCO", "quantity": 1000}}),
            true,
        ),
        (
            r#"{"order": {"type": ["buy"]}}"#,
            json!({"order": "buy"}),
            false,
        ),
    ]);
}

#[test]
fn dynamodb_patterns_use_type_descriptors_and_refuse_numeric_operators() {
    let d = Source::Dynamodb;
    let record = json!({
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
            "NewImage": {"CustomerName": {"S": "AnyCompany Industries"}, "Total": {"N": "250"}}
        }
    });
    check(
        d,
        r#"{"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}"#,
        record.clone(),
        true,
    );
    check(
        d,
        r#"{"dynamodb": {"NewImage": {"CustomerName": {"S": [{"prefix": "Any"}]}}}}"#,
        record.clone(),
        true,
    );
    check(
        d,
        r#"{"dynamodb": {"NewImage": {"Total": {"N": [{"exists": true}]}}}}"#,
        record.clone(),
        true,
    );
    check(
        d,
        r#"{"dynamodb": {"NewImage": {"Total": {"N": ["250"]}}}}"#,
        record.clone(),
        true,
    );
    check(
        d,
        r#"{"eventName": ["INSERT", "MODIFY"]}"#,
        record.clone(),
        true,
    );
    check(d, r#"{"eventName": ["REMOVE"]}"#, record, false);
    let err = parse(
        r#"{"dynamodb": {"NewImage": {"Total": {"N": [{"numeric": [">", 100]}]}}}}"#,
        d,
    )
    .unwrap_err();
    assert!(
        err.message
            .contains("DynamoDB event filtering does not support numeric operators"),
        "{err:?}"
    );
}

#[test]
fn operators_lambda_does_not_document_and_malformed_patterns_are_refused_where_they_are() {
    let k = Source::Kinesis;
    let table: &[(&str, (usize, usize), &str)] = &[
        (
            r#"{"data": {"a": [{"wildcard": "x*"}]}}"#,
            (1, 18),
            "\"wildcard\" is an EventBridge operator that Lambda's filter rule syntax does not document",
        ),
        (
            r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#,
            (1, 10),
            "\"cidr\" is an EventBridge operator",
        ),
        (
            r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#,
            (1, 9),
            "\"anything-but\" with an operator inside",
        ),
        (
            r#"{"a": [{"prefix": {"equals-ignore-case": "x"}}]}"#,
            (1, 9),
            "\"prefix\" with an operator inside",
        ),
        (
            r#"{"a": [{"contains": "x"}]}"#,
            (1, 9),
            "unknown operator \"contains\"",
        ),
        (
            r#"{"a": "x"}"#,
            (1, 2),
            "a.: a value to match must be in a list",
        ),
        (r#"{"a": []}"#, (1, 2), "a: the list is empty"),
        (
            r#"{"a": [{"numeric": ["<", 5, ">", 1]}]}"#,
            (1, 9),
            "a lower bound (> or >=) then an upper bound",
        ),
        (
            r#"{"a": [{"numeric": ["~", 5]}]}"#,
            (1, 9),
            "\"~\" is not a numeric operator",
        ),
        ("{\"a\": [1,]}", (1, 10), "not valid JSON"),
        ("[1]", (1, 1), "a pattern must be a JSON object"),
    ];
    for (pattern, (line, column), message) in table {
        let e = parse(pattern, k).unwrap_err();
        let message = message.replace("a.:", "a:");
        assert!(e.message.contains(&message), "{pattern}: {e:?}");
        assert_eq!((e.line, e.column), (*line, *column), "{pattern}: {e:?}");
    }
    let long = format!("{{\"a\": [\"{}\"]}}", "x".repeat(4100));
    let e = parse(&long, k).unwrap_err();
    assert!(e.message.contains("Lambda allows at most 4096"), "{e:?}");
    assert_eq!(e.column, 4097);
}

#[test]
fn the_quota_and_the_filter_number_are_named() {
    let five: Vec<String> = (0..6).map(|k| format!("{{\"a\": [{k}]}}")).collect();
    let e = FilterCriteria::compile(&five, Source::Kinesis, DEFAULT_FILTER_QUOTA).unwrap_err();
    assert!(
        e.contains("FilterCriteria has 6 filters; the quota is 5"),
        "{e}"
    );
    assert!(FilterCriteria::compile(&five, Source::Kinesis, 10).is_ok());
    let bad = vec![
        r#"{"a": [1]}"#.to_owned(),
        r#"{"a": [{"cidr": "x"}]}"#.to_owned(),
    ];
    let e = FilterCriteria::compile(&bad, Source::Kinesis, 5).unwrap_err();
    assert!(e.starts_with("filter 2 at 1:9: a: \"cidr\""), "{e}");
}

#[test]
fn kinesis_metadata_filters_warn_that_aws_documents_only_data() {
    let c = FilterCriteria::compile(
        &[r#"{"partitionKey": ["a"]}"#.to_owned()],
        Source::Kinesis,
        5,
    )
    .unwrap();
    assert!(c.warnings[0].contains("Kinesis mappings filter only on the data key"));
    let c = FilterCriteria::compile(&[r#"{"data": {"a": [1]}}"#.to_owned()], Source::Kinesis, 5)
        .unwrap();
    assert!(c.warnings.is_empty());
}
