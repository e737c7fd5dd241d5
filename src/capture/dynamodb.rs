//! DynamoDB Streams, read-only: DescribeTable (for a table's latest stream), DescribeStream
//! (shards and their parents), GetShardIterator, GetRecords. DynamoDB Streams has no
//! AT_TIMESTAMP iterator: reading starts at the trim horizon and the poller skips earlier records.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::aws::{Context, Failure};
use super::poll::{Api, Page, Read, ShardInfo, Start};
use super::{From, Target};

pub(super) struct Dynamodb {
    client: Client,
    arn: String,
    context: Context,
}

fn fatal(f: Failure, call: &str, ctx: &Context) -> String {
    match f {
        Failure::Fatal(m) => m,
        _ => format!("{call} on {}: throttled; try again", ctx.target),
    }
}

impl Dynamodb {
    /// Finds the stream (a table's latest stream, or the ARN given).
    pub async fn new(
        config: &aws_config::SdkConfig,
        target: &Target,
        context: Context,
    ) -> Result<Self, String> {
        let arn = match target {
            Target::DynamodbStream { arn } => arn.clone(),
            Target::DynamodbTable { table } => {
                let tables = aws_sdk_dynamodb::Client::new(config);
                let out = tables
                    .describe_table()
                    .table_name(table)
                    .send()
                    .await
                    .map_err(|e| {
                        fatal(
                            context.failure("DescribeTable", &e),
                            "DescribeTable",
                            &context,
                        )
                    })?;
                out.table().and_then(|t| t.latest_stream_arn()).map(str::to_owned).ok_or_else(|| {
                    format!(
                        "DynamoDB table {table:?} has no stream: enable one (StreamSpecification, \
                         e.g. NEW_AND_OLD_IMAGES) or pass --stream-arn"
                    )
                })?
            }
            Target::Kinesis { .. } => unreachable!("a Kinesis target is read by capture::kinesis"),
        };
        Ok(Dynamodb {
            client: Client::new(config),
            arn,
            context,
        })
    }
}

/// An attribute value in DynamoDB JSON (`{"S": "x"}`, `{"N": "1"}`, …), as the CLI prints it.
/// Map members are sorted by name: the SDK's maps have no order, and the output must be the same
/// for the same records.
fn attribute(v: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::B(b) => json!({"B": b64(b)}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::Bs(v) => json!({"BS": v.iter().map(b64).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": item(m)}),
        AttributeValue::L(l) => json!({"L": l.iter().map(attribute).collect::<Vec<_>>()}),
        AttributeValue::Null(b) => json!({"NULL": b}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        _ => json!({"NULL": true}),
    }
}

fn item(m: &HashMap<String, AttributeValue>) -> Value {
    let mut names: Vec<&String> = m.keys().collect();
    names.sort();
    Value::Object(
        names
            .into_iter()
            .map(|k| (k.clone(), attribute(&m[k])))
            .collect::<Map<_, _>>(),
    )
}

/// A record as `aws dynamodbstreams get-records` prints it.
fn cli_record(r: &Record) -> Read {
    let d = r.dynamodb();
    let ts_ms = d
        .and_then(|d| d.approximate_creation_date_time())
        .and_then(|t| t.to_millis().ok())
        .unwrap_or(0);
    let seq = d
        .and_then(|d| d.sequence_number())
        .unwrap_or_default()
        .to_owned();
    let mut body = Map::new();
    if let Some(d) = d {
        let created: Value =
            serde_json::from_str(&crate::model::arrival_timestamp_text(ts_ms)).unwrap_or(json!(0));
        body.insert("ApproximateCreationDateTime".into(), created);
        for (name, image) in [
            ("Keys", d.keys()),
            ("NewImage", d.new_image()),
            ("OldImage", d.old_image()),
        ] {
            if let Some(m) = image {
                body.insert(name.into(), item(m));
            }
        }
        body.insert("SequenceNumber".into(), json!(seq));
        if let Some(n) = d.size_bytes() {
            body.insert("SizeBytes".into(), json!(n));
        }
        if let Some(v) = d.stream_view_type() {
            body.insert("StreamViewType".into(), json!(v.as_str()));
        }
    }
    let mut json = json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": r.event_version(),
        "eventSource": r.event_source().unwrap_or("aws:dynamodb"),
        "awsRegion": r.aws_region(),
        "dynamodb": body,
    });
    if let Some(u) = r.user_identity() {
        json["userIdentity"] = json!({"PrincipalId": u.principal_id(), "Type": u.r#type()});
    }
    Read { json, ts_ms, seq }
}

impl Api for Dynamodb {
    async fn shards(&self) -> Result<Vec<ShardInfo>, String> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_stream()
                .stream_arn(&self.arn)
                .set_exclusive_start_shard_id(after.clone())
                .send()
                .await
                .map_err(|e| {
                    fatal(
                        self.context.failure("DescribeStream", &e),
                        "DescribeStream",
                        &self.context,
                    )
                })?;
            let Some(desc) = out.stream_description() else {
                return Ok(shards);
            };
            for s in desc.shards() {
                shards.push(ShardInfo {
                    id: s.shard_id().unwrap_or_default().to_owned(),
                    parents: s.parent_shard_id().map(str::to_owned).into_iter().collect(),
                    hash_range: None,
                    ending_seq: s
                        .sequence_number_range()
                        .and_then(|r| r.ending_sequence_number())
                        .map(str::to_owned),
                });
            }
            after = desc.last_evaluated_shard_id().map(str::to_owned);
            if after.is_none() {
                return Ok(shards);
            }
        }
    }

    async fn iterator(&self, shard: &str, start: Start<'_>) -> Result<Option<String>, Failure> {
        let req = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.arn)
            .shard_id(shard);
        let req = match start {
            Start::Position(From::Latest) => req.shard_iterator_type(ShardIteratorType::Latest),
            Start::Position(From::TrimHorizon | From::AtTimestamp(_)) => {
                req.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            Start::After(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
        };
        match req.send().await {
            Ok(out) => Ok(out.shard_iterator().map(str::to_owned)),
            Err(e) => Err(self
                .context
                .failure(&format!("GetShardIterator {shard}"), &e)),
        }
    }

    async fn page(&self, iterator: &str) -> Result<Page, Failure> {
        let out = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(1000)
            .send()
            .await
            .map_err(|e| self.context.failure("GetRecords", &e))?;
        Ok(Page {
            records: out.records().iter().map(cli_record).collect(),
            next: out.next_shard_iterator().map(str::to_owned),
            behind_ms: None,
            children: None,
        })
    }
}
