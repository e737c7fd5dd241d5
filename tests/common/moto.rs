//! moto's server (PyPI `moto[server]`): a real local AWS API for the tests of AWS code, started
//! on a free loopback port by the test that needs it and stopped when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto's server on 127.0.0.1, killed when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto 5 splits a Kinesis shard unlike Kinesis: it moves the parent's records into the
/// children and goes on routing new records to the closed parent (the first shard whose range
/// holds the key). Kinesis keeps a parent's records in the parent and routes new records to the
/// open children only (SEMANTICS §14.2). The resharding test runs moto's server with those two
/// functions as Kinesis behaves; everything else is moto's own.
pub const KINESIS_RESHARDING: &str = "\
from moto.kinesis import models as m
def split_shard(self, shard_to_split, new_starting_hash_key):
    parent, at = self.shards[shard_to_split], int(new_starting_hash_key)
    last = max(s._shard_id for s in self.shards.values())
    for child in (m.Shard(last + 1, parent.starting_hash, at - 1, parent=parent.shard_id),
                  m.Shard(last + 2, at, parent.ending_hash, parent=parent.shard_id)):
        self.shards[child.shard_id] = child
    parent.is_open = False
def get_shard_for_key(self, partition_key, explicit_hash_key):
    key = int(explicit_hash_key) if explicit_hash_key else int(m.md5_hash(partition_key.encode()).hexdigest(), 16)
    return next(s for s in self.shards.values() if s.is_open and s.starting_hash <= key <= s.ending_hash)
m.Stream.split_shard = split_shard
m.Stream.get_shard_for_key = get_shard_for_key
";

/// Starts moto, or returns `None` (the test is skipped) where it is not installed and CI did
/// not ask for it.
pub fn moto(env: &[(&str, &str)]) -> Option<Moto> {
    moto_with(env, "")
}

pub fn moto_with(env: &[(&str, &str)], patch: &str) -> Option<Moto> {
    let installed = Command::new("python3")
        .args(["-c", "import moto.server, boto3"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("TUMBLESCOPE_REQUIRE_RUNTIMES").is_none(),
            "moto[server] is not installed (.ci/run installs it)"
        );
        eprintln!("skipped: moto[server] is not installed");
        return None;
    }
    let port = free_port();
    let script = format!(
        "{patch}\nfrom moto.server import main\nmain(['-H', '127.0.0.1', '-p', '{port}'])\n"
    );
    let child = Command::new("python3")
        .args(["-c", &script])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m moto.server");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

/// Runs a boto3 script against the server (clients `k`, `ddb`, `iam`); returns its stdout.
pub fn boto3(url: &str, script: &str) -> String {
    let prelude = format!(
        "import boto3, json, time\n\
         kw = dict(endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='test', \
         aws_secret_access_key='test')\n\
         k = boto3.client('kinesis', **kw)\nddb = boto3.client('dynamodb', **kw)\n\
         iam = boto3.client('iam', **kw)\n"
    );
    let out = Command::new("python3")
        .args(["-c", &(prelude + script)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
