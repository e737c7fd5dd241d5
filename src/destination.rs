//! The records Lambda sends to an on-failure destination (SQS or SNS) when it discards a batch
//! (SEMANTICS §14.4): the invocation's context, the response's, and where the batch was on its
//! shard. An S3 destination would add the invocation's payload; tumblescope writes the SQS/SNS
//! form.

use serde::Serialize;

use crate::model::Source;
use crate::model::stream::Stream;
use crate::sim::Trace;
use crate::sim::trace::Discard;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    request_id: String,
    function_arn: String,
    condition: &'static str,
    approximate_invoke_count: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseContext {
    status_code: u16,
    executed_version: &'static str,
    function_error: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchInfo {
    shard_id: String,
    start_sequence_number: String,
    end_sequence_number: String,
    approximate_arrival_of_first_record: String,
    approximate_arrival_of_last_record: String,
    batch_size: u32,
    stream_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    request_context: RequestContext,
    /// Absent when no invocation was made (records too old when read): what AWS sends then is
    /// not documented (SEMANTICS §14.9 Q1), a modelling choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    response_context: Option<ResponseContext>,
    version: &'static str,
    timestamp: String,
    #[serde(rename = "KinesisBatchInfo", skip_serializing_if = "Option::is_none")]
    kinesis: Option<BatchInfo>,
    #[serde(rename = "DDBStreamBatchInfo", skip_serializing_if = "Option::is_none")]
    dynamodb: Option<BatchInfo>,
}

/// The destination record of one discarded batch of `trace`, as compact JSON. `seed` makes the
/// request ids (the discarding attempt's `awsRequestId`, or a fresh one when no attempt was
/// made).
pub fn record_json(stream: &Stream, trace: &Trace, d: &Discard, seed: u64) -> String {
    let (first, last) = (d.records.start as usize, d.records.end as usize - 1);
    let arrival = |i: usize| match stream.source {
        // The examples show milliseconds for Kinesis and whole seconds for DynamoDB.
        Source::Kinesis => crate::model::iso_millis(stream.ts_ms[i]),
        Source::Dynamodb => crate::model::iso_seconds(stream.ts_ms[i]),
    };
    let info = BatchInfo {
        shard_id: stream.shards[d.shard as usize].id.clone(),
        start_sequence_number: stream.seq(first).into_owned(),
        end_sequence_number: stream.seq(last).into_owned(),
        approximate_arrival_of_first_record: arrival(first),
        approximate_arrival_of_last_record: arrival(last),
        batch_size: d.records.len() as u32,
        stream_arn: match stream.source {
            Source::Kinesis => stream.meta.kinesis_arn(),
            Source::Dynamodb => stream.meta.dynamodb_arn(stream.created_ms),
        },
    };
    let invoked = d.attempts > 0;
    let (kinesis, dynamodb) = match stream.source {
        Source::Kinesis => (Some(info), None),
        Source::Dynamodb => (None, Some(info)),
    };
    let record = Record {
        request_context: RequestContext {
            // A discard before any attempt gets an id of its own, past every invocation's.
            request_id: crate::handlers::request_id(
                seed,
                d.shard as usize,
                if invoked {
                    shard_n(trace, d)
                } else {
                    u32::MAX - d.records.start
                },
            ),
            function_arn: stream.meta.function_arn(),
            condition: d.condition,
            approximate_invoke_count: d.attempts,
        },
        response_context: invoked.then_some(ResponseContext {
            status_code: 200,
            executed_version: "$LATEST",
            function_error: "Unhandled",
        }),
        version: "1.0",
        timestamp: crate::model::iso_millis(d.at_ms),
        kinesis,
        dynamodb,
    };
    serde_json::to_string(&record).unwrap_or_default()
}

/// The discarding attempt's number among its shard's invocations (what seeded its request id).
fn shard_n(trace: &Trace, d: &Discard) -> u32 {
    let upto = (d.invocation as usize).min(trace.invocations.len());
    trace.invocations[..upto]
        .iter()
        .filter(|i| i.shard == d.shard)
        .count() as u32
}

/// Every discard's destination record, one JSON document per line, in discard order.
pub fn write_jsonl(
    w: &mut dyn std::io::Write,
    stream: &Stream,
    trace: &Trace,
    seed: u64,
) -> std::io::Result<()> {
    for d in &trace.discards {
        writeln!(w, "{}", record_json(stream, trace, d, seed))?;
    }
    Ok(())
}
