//! Kinesis Data Streams, read-only: ListShards, GetShardIterator, GetRecords.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use base64::Engine as _;
use serde_json::{Value, json};

use super::aws::{Context, Failure};
use super::poll::{Api, Page, Read, ShardInfo, Start};

pub(super) struct Kinesis {
    client: Client,
    stream: String,
    context: Context,
}

impl Kinesis {
    pub fn new(config: &aws_config::SdkConfig, stream: &str, context: Context) -> Self {
        Kinesis {
            client: Client::new(config),
            stream: stream.to_owned(),
            context,
        }
    }
}

/// A record as `aws kinesis get-records` prints it.
fn cli_record(r: &Record) -> Read {
    let ts_ms = r
        .approximate_arrival_timestamp()
        .and_then(|t| t.to_millis().ok())
        .unwrap_or(0);
    let arrival: Value =
        serde_json::from_str(&crate::model::arrival_timestamp_text(ts_ms)).unwrap_or(json!(0));
    let mut json = json!({
        "SequenceNumber": r.sequence_number(),
        "ApproximateArrivalTimestamp": arrival,
        "Data": base64::engine::general_purpose::STANDARD.encode(r.data().as_ref()),
        "PartitionKey": r.partition_key(),
    });
    if let Some(enc) = r.encryption_type() {
        json["EncryptionType"] = json!(enc.as_str());
    }
    Read {
        json,
        ts_ms,
        seq: r.sequence_number().to_owned(),
    }
}

impl Api for Kinesis {
    async fn shards(&self) -> Result<Vec<ShardInfo>, String> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // ListShards takes the stream name or the token, never both.
            let req = match &token {
                Some(t) => self.client.list_shards().next_token(t),
                None => self.client.list_shards().stream_name(&self.stream),
            };
            let out = match req.send().await {
                Ok(out) => out,
                Err(e) => {
                    return Err(match self.context.failure("ListShards", &e) {
                        Failure::Fatal(m) => m,
                        _ => format!(
                            "ListShards on {}: throttled; try again",
                            self.context.target
                        ),
                    });
                }
            };
            for s in out.shards() {
                let range = s.hash_key_range();
                shards.push(ShardInfo {
                    id: s.shard_id().to_owned(),
                    parents: [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                        .into_iter()
                        .flatten()
                        .map(str::to_owned)
                        .collect(),
                    hash_range: range.map(|h| {
                        (
                            h.starting_hash_key().to_owned(),
                            h.ending_hash_key().to_owned(),
                        )
                    }),
                    ending_seq: s
                        .sequence_number_range()
                        .and_then(|r| r.ending_sequence_number())
                        .map(str::to_owned),
                });
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(shards);
            }
        }
    }

    async fn iterator(&self, shard: &str, start: Start<'_>) -> Result<Option<String>, Failure> {
        let mut req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(shard);
        req = match start {
            Start::Position(super::From::TrimHorizon) => {
                req.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            Start::Position(super::From::Latest) => {
                req.shard_iterator_type(ShardIteratorType::Latest)
            }
            Start::Position(super::From::AtTimestamp(ms)) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from_millis(ms)),
            Start::After(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
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
            .limit(10_000)
            .send()
            .await
            .map_err(|e| self.context.failure("GetRecords", &e))?;
        // The SDK gives an empty list for an absent field; only a shard's end carries children.
        let children = (!out.child_shards().is_empty()).then(|| {
            out.child_shards()
                .iter()
                .map(|c| {
                    let mut v = json!({"ShardId": c.shard_id(), "ParentShards": c.parent_shards()});
                    if let Some(h) = c.hash_key_range() {
                        v["HashKeyRange"] =
                            json!({"StartingHashKey": h.starting_hash_key(), "EndingHashKey": h.ending_hash_key()});
                    }
                    v
                })
                .collect()
        });
        Ok(Page {
            records: out.records().iter().map(cli_record).collect(),
            next: out.next_shard_iterator().map(str::to_owned),
            behind_ms: out.millis_behind_latest(),
            children,
        })
    }
}
