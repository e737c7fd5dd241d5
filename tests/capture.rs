//! `capture kinesis` and `capture dynamodb` against a real local AWS API: moto's server (PyPI
//! `moto[server]`, which `.ci/run` installs), started by each test on a free loopback port and
//! stopped at its end. The streams are written with boto3, captured with the AWS SDK for Rust,
//! and read back by `run`.
//!
//! AWS's pages these tests follow: Kinesis ListShards ("ParentShardId",
//! "AdjacentParentShardId", "EndingSequenceNumber" for a closed shard), GetRecords
//! ("NextShardIterator … null … the shard has been closed", "ChildShards", 5 transactions per
//! second per shard), and DynamoDB Streams DescribeStream ("ParentShardId") and GetRecords.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

mod common;

use common::moto::{KINESIS_RESHARDING, boto3, free_port, moto, moto_with};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tumblescope-capture-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tumblescope"));
    c.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/tumblescope-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/tumblescope-credentials",
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    c
}

fn capture(kind: &str, args: &[&str], url: &str, out: &Path) -> Output {
    bin()
        .args(["capture", kind])
        .args(args)
        .args(["--endpoint-url", url, "--duration", "120", "--out"])
        .arg(out)
        .output()
        .unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut f: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    f.sort();
    f
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn now_s() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{:.3}", t.as_secs_f64())
}

fn decode(data: &Value) -> Value {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// 3 shards, 1,000 records with known keys and explicit hash keys, one shard split half way:
/// every record captured once, in the file of the shard whose hash range holds its key, in the
/// order it was written; the split parent read to its end with both children named; `run`
/// reads the files back with the lineage.
#[test]
fn a_resharded_kinesis_stream_is_captured_with_its_lineage_and_runs_back() {
    let Some(moto) = moto_with(&[], KINESIS_RESHARDING) else {
        return;
    };
    let listed = boto3(
        &moto.url,
        "k.create_stream(StreamName='orders', ShardCount=3)\n\
         placed = {}\n\
         def put(i):\n    \
           h = (i * 7919 * 2**117 + i) % 2**128\n    \
           r = k.put_record(StreamName='orders', PartitionKey='store-%d' % (i % 13), ExplicitHashKey=str(h), \
                        Data=json.dumps({'i': i, 'hash': str(h), 'sales': i + 1}).encode())\n    \
           placed[i] = [r['ShardId'], r['SequenceNumber']]\n\
         for i in range(500): put(i)\n\
         s = k.list_shards(StreamName='orders')['Shards'][1]\n\
         lo, hi = int(s['HashKeyRange']['StartingHashKey']), int(s['HashKeyRange']['EndingHashKey'])\n\
         k.split_shard(StreamName='orders', ShardToSplit=s['ShardId'], NewStartingHashKey=str((lo + hi) // 2))\n\
         for i in range(500, 1000): put(i)\n\
         print(json.dumps([k.list_shards(StreamName='orders')['Shards'], placed]))\n",
    );
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let placed = listed[1].clone();
    let listed = listed[0].clone();
    let until = now_s();
    let out = scratch("kinesis");
    let run = capture(
        "kinesis",
        &[
            "--stream",
            "orders",
            "--from",
            "trim-horizon",
            "--until",
            &until,
        ],
        &moto.url,
        &out,
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains("captured 1000 record(s) from 5 shard(s)"),
        "{err}"
    );
    assert!(
        err.contains("every shard read to its end or to --until"),
        "{err}"
    );

    let files = files(&out);
    assert_eq!(
        files.len(),
        5,
        "one file per shard, the closed parent too: {files:?}"
    );
    let mut seen = vec![false; 1000];
    for (file, shard) in files.iter().zip(listed.as_array().unwrap()) {
        let id = shard["ShardId"].as_str().unwrap();
        assert!(
            file.ends_with(format!("orders-get-records-{id}.json")),
            "{file:?}"
        );
        let doc = read(file);
        let (lo, hi) = (
            shard["HashKeyRange"]["StartingHashKey"]
                .as_str()
                .unwrap()
                .parse::<u128>()
                .unwrap(),
            shard["HashKeyRange"]["EndingHashKey"]
                .as_str()
                .unwrap()
                .parse::<u128>()
                .unwrap(),
        );
        let mut last_i = -1;
        let mut last_seq = 0u128;
        for r in doc["Records"].as_array().unwrap() {
            let data = decode(&r["Data"]);
            let i = data["i"].as_i64().unwrap();
            let h: u128 = data["hash"].as_str().unwrap().parse().unwrap();
            assert!(
                (lo..=hi).contains(&h),
                "record {i} (hash {h}) is in {id}, whose range is {lo}..={hi}"
            );
            assert!(
                i > last_i,
                "{id}: record {i} after {last_i}: the order written"
            );
            let seq: u128 = r["SequenceNumber"].as_str().unwrap().parse().unwrap();
            assert!(seq > last_seq, "{id}: sequence numbers rise");
            assert_eq!(r["PartitionKey"], format!("store-{}", i % 13));
            assert_eq!(
                placed[i.to_string()],
                serde_json::json!([id, r["SequenceNumber"]]),
                "record {i}: where PutRecord put it"
            );
            assert!(
                !std::mem::replace(&mut seen[i as usize], true),
                "record {i} twice"
            );
            (last_i, last_seq) = (i, seq);
        }
        let written: Vec<i64> = doc["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| decode(&r["Data"])["i"].as_i64().unwrap())
            .collect();
        let closed = shard["SequenceNumberRange"]
            .get("EndingSequenceNumber")
            .is_some();
        if closed {
            assert!(
                written.iter().all(|&i| i < 500),
                "{id} holds only what came before its split"
            );
        }
        if shard.get("ParentShardId").is_some() {
            assert!(
                !written.is_empty() && written.iter().all(|&i| i >= 500),
                "{id}: records after the split"
            );
        }
        if closed {
            assert_eq!(
                doc["NextShardIterator"],
                Value::Null,
                "{id} was read to its end"
            );
            let children: Vec<&str> = doc["ChildShards"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["ShardId"].as_str().unwrap())
                .collect();
            let expected: Vec<&str> = listed
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["ParentShardId"] == id)
                .map(|s| s["ShardId"].as_str().unwrap())
                .collect();
            assert_eq!(children, expected);
            assert_eq!(children.len(), 2);
        } else {
            assert!(
                doc["NextShardIterator"].is_string(),
                "{id} is open: its iterator is kept"
            );
        }
        if let Some(parent) = shard["ParentShardId"].as_str() {
            assert!(
                err.contains(&format!("{id}: ")) && err.contains(&format!("child of {parent}")),
                "{err}"
            );
        }
    }
    assert!(seen.iter().all(|&s| s), "every record captured");

    // `run` reads the capture back unchanged: every record, the children after their parent.
    let back = bin()
        .args([
            "run",
            "--format",
            "json",
            "--handler",
            "builtin:sum:sales",
            "--input",
        ])
        .args(&files)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&back.stderr);
    assert!(back.status.success(), "{err}");
    let rows: Value = serde_json::from_slice(&back.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let total: i64 = rows
        .iter()
        .map(|r| r["finalState"]["sales"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(total, (1..=1000).sum::<i64>());
    let parent = listed[1]["ShardId"].as_str().unwrap();
    for child in [&listed[3], &listed[4]] {
        assert!(
            rows.iter().any(|r| r["shardId"] == child["ShardId"]
                && r["parentShardIds"] == serde_json::json!([parent])),
            "{child}: {rows:?}"
        );
    }
    assert!(err.contains(&format!("shard end: {parent}")), "{err}");
}

/// A table with a NEW_AND_OLD_IMAGES stream: inserts, updates and deletes are captured with
/// their images in order, and `run` reads them back as DynamoDB records.
#[test]
fn a_dynamodb_table_stream_is_captured_and_runs_back() {
    let Some(moto) = moto(&[]) else { return };
    boto3(
        &moto.url,
        "ddb.create_table(TableName='orders', KeySchema=[{'AttributeName': 'ID', 'KeyType': 'HASH'}], \
           AttributeDefinitions=[{'AttributeName': 'ID', 'AttributeType': 'S'}], BillingMode='PAY_PER_REQUEST', \
           StreamSpecification={'StreamEnabled': True, 'StreamViewType': 'NEW_AND_OLD_IMAGES'})\n\
         for i in range(10):\n    \
           ddb.put_item(TableName='orders', Item={'ID': {'S': 'o-%d' % i}, 'sales': {'N': str(i + 1)}, 'tags': {'SS': ['web']}})\n\
         for i in range(3):\n    \
           ddb.put_item(TableName='orders', Item={'ID': {'S': 'o-%d' % i}, 'sales': {'N': str(100 + i)}, 'tags': {'SS': ['web']}})\n\
         ddb.delete_item(TableName='orders', Key={'ID': {'S': 'o-9'}})\n",
    );
    let until = now_s();
    let out = scratch("dynamodb");
    let run = capture(
        "dynamodb",
        &["--table", "orders", "--until", &until],
        &moto.url,
        &out,
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains("captured 14 record(s) from 1 shard(s) of DynamoDB table \"orders\""),
        "{err}"
    );
    let files = files(&out);
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("orders-get-records-shardId-"), "{name}");
    let doc = read(&files[0]);
    let recs = doc["Records"].as_array().unwrap();
    let names: Vec<&str> = recs
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    let mut expected = vec!["INSERT"; 10];
    expected.extend(["MODIFY"; 3]);
    expected.push("REMOVE");
    assert_eq!(names, expected);
    assert_eq!(
        recs[0]["dynamodb"]["Keys"],
        serde_json::json!({"ID": {"S": "o-0"}})
    );
    assert_eq!(
        recs[0]["dynamodb"]["NewImage"]["sales"],
        serde_json::json!({"N": "1"})
    );
    assert_eq!(
        recs[0]["dynamodb"]["NewImage"]["tags"],
        serde_json::json!({"SS": ["web"]})
    );
    assert_eq!(
        recs[10]["dynamodb"]["OldImage"]["sales"],
        serde_json::json!({"N": "1"})
    );
    assert_eq!(
        recs[10]["dynamodb"]["NewImage"]["sales"],
        serde_json::json!({"N": "100"})
    );
    assert_eq!(
        recs[13]["dynamodb"]["OldImage"]["ID"],
        serde_json::json!({"S": "o-9"})
    );
    assert!(recs[13]["dynamodb"].get("NewImage").is_none());
    assert_eq!(recs[0]["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    assert_eq!(recs[0]["eventSource"], "aws:dynamodb");

    let back = bin()
        .args([
            "run",
            "--format",
            "json",
            "--handler",
            "builtin:count",
            "--input",
        ])
        .arg(&files[0])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&back.stderr);
    assert!(back.status.success(), "{err}");
    assert!(err.contains("14 records"), "{err}");
    assert!(err.contains("on 1 dynamodb shard(s)"), "{err}");
}

/// What goes wrong in real use, each a one-line error naming the fix, exit code 2, no files.
#[test]
fn capture_failures_name_the_fix_and_write_nothing() {
    let Some(moto) = moto(&[]) else { return };
    // One line, in words: no SDK debug dump (`{ source: ... }`).
    let readable = |err: &str| {
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!err.contains('{'), "{err}");
    };
    let out = scratch("failures");
    let unknown = capture("kinesis", &["--stream", "missing"], &moto.url, &out);
    let err = String::from_utf8_lossy(&unknown.stderr);
    readable(&err);
    assert_eq!(unknown.status.code(), Some(2), "{err}");
    assert!(
        err.contains("Kinesis stream \"missing\" was not found"),
        "{err}"
    );
    assert!(err.contains("check the name, --region"), "{err}");

    let table = capture("dynamodb", &["--table", "missing"], &moto.url, &out);
    let err = String::from_utf8_lossy(&table.stderr);
    readable(&err);
    assert_eq!(table.status.code(), Some(2), "{err}");
    assert!(
        err.contains("DynamoDB table \"missing\" was not found"),
        "{err}"
    );

    // Nothing listens on this port.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let refused = capture("kinesis", &["--stream", "orders"], &closed, &out);
    let err = String::from_utf8_lossy(&refused.stderr);
    readable(&err);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("cannot reach {closed}")), "{err}");

    let no_creds = bin()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args([
            "capture",
            "kinesis",
            "--stream",
            "orders",
            "--endpoint-url",
            &moto.url,
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&no_creds.stderr);
    readable(&err);
    assert_eq!(no_creds.status.code(), Some(2), "{err}");
    assert!(err.contains("no AWS credentials"), "{err}");

    let no_region = bin()
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .args([
            "capture",
            "kinesis",
            "--stream",
            "orders",
            "--endpoint-url",
            &moto.url,
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&no_region.stderr);
    readable(&err);
    assert_eq!(no_region.status.code(), Some(2), "{err}");
    assert!(err.contains("no AWS region: pass --region"), "{err}");

    let stream_less = boto3(
        &moto.url,
        "ddb.create_table(TableName='plain', KeySchema=[{'AttributeName': 'ID', 'KeyType': 'HASH'}], \
           AttributeDefinitions=[{'AttributeName': 'ID', 'AttributeType': 'S'}], BillingMode='PAY_PER_REQUEST')\n",
    );
    assert!(stream_less.is_empty());
    let plain = capture("dynamodb", &["--table", "plain"], &moto.url, &out);
    let err = String::from_utf8_lossy(&plain.stderr);
    readable(&err);
    assert_eq!(plain.status.code(), Some(2), "{err}");
    assert!(err.contains("has no stream: enable one"), "{err}");

    assert!(
        !out.exists() || files(&out).is_empty(),
        "a failed capture leaves no file"
    );
}

/// With authentication on, a user without a policy is refused: the message names the actions
/// the capture needs. (moto lets the first few calls through unauthenticated to set it up.)
#[test]
fn access_denied_names_the_actions_needed() {
    let Some(moto) = moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]) else {
        return;
    };
    let keys = boto3(
        &moto.url,
        "k.create_stream(StreamName='orders', ShardCount=1)\n\
         iam.create_user(UserName='reader')\n\
         key = iam.create_access_key(UserName='reader')['AccessKey']\n\
         print(key['AccessKeyId'], key['SecretAccessKey'])\n",
    );
    let (id, secret) = keys.trim().split_once(' ').unwrap();
    let out = scratch("denied");
    let denied = bin()
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args([
            "capture",
            "kinesis",
            "--stream",
            "orders",
            "--endpoint-url",
            &moto.url,
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&denied.stderr);
    assert_eq!(denied.status.code(), Some(2), "{err}");
    assert!(
        err.contains("access denied to Kinesis stream \"orders\""),
        "{err}"
    );
    assert!(
        err.contains("kinesis:ListShards, kinesis:GetShardIterator and kinesis:GetRecords"),
        "{err}"
    );
    let refused = bin()
        .args([
            "capture",
            "kinesis",
            "--stream",
            "orders",
            "--endpoint-url",
            &moto.url,
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("the AWS credentials were refused"), "{err}");
    assert!(!out.exists());
}

#[test]
fn capture_mistakes_exit_2_before_any_call() {
    let out = scratch("mistakes");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("s-get-records-shardId-000000000000.json"), "{}").unwrap();
    for (args, expected) in [
        (
            vec!["kinesis", "--stream", "x", "--from", "oldest"],
            "expected trim-horizon",
        ),
        (
            vec!["kinesis", "--stream", "x", "--endpoint-url", "localhost:1"],
            "not an http(s) URL",
        ),
        (
            vec!["kinesis", "--stream", "x", "--duration=-3"],
            "positive number of seconds",
        ),
        (
            vec!["dynamodb", "--stream-arn", "orders"],
            "is not a DynamoDB stream ARN",
        ),
        (
            vec!["kinesis", "--stream", "s"],
            "already holds a capture of s",
        ),
    ] {
        let o = bin()
            .arg("capture")
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("s-get-records-shardId-000000000000.json")).unwrap(),
        "{}"
    );
    std::fs::remove_dir_all(&out).ok();
}

/// Ctrl-C ends a capture that has no stop condition: what was read is written, each open
/// shard's file keeping the iterator to go on from.
#[test]
fn ctrl_c_keeps_what_was_read() {
    let Some(moto) = moto(&[]) else { return };
    boto3(
        &moto.url,
        "k.create_stream(StreamName='live', ShardCount=2)\n\
         for i in range(20):\n    \
           k.put_record(StreamName='live', PartitionKey='p%d' % i, Data=b'{\"sales\": 1}')\n",
    );
    let out = scratch("ctrl-c");
    let mut child = bin()
        .args([
            "capture",
            "kinesis",
            "--stream",
            "live",
            "--endpoint-url",
            &moto.url,
            "--out",
        ])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Reading goes on until interrupted: give it time to read every shard, then interrupt.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still capturing without a stop condition"
    );
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("captured 20 record(s) from 2 shard(s)")
            && err.contains("stopped by the user"),
        "{err}"
    );
    for f in files(&out) {
        assert!(
            read(&f)["NextShardIterator"].is_string(),
            "{f:?} is open: not marked as its end"
        );
    }
}
