//! Routing records to shards and naming things the way Kinesis and DynamoDB Streams do:
//! hash-key ranges, shard ids and sequence numbers (SEMANTICS §4.4, §8).

use md5::{Digest as _, Md5};

/// MD5 of the UTF-8 bytes of `key`, read as an unsigned big-endian 128-bit integer: the hash
/// Kinesis maps partition keys with (SEMANTICS §8.1).
pub fn kinesis_hash_key(partition_key: &str) -> u128 {
    let digest = Md5::digest(partition_key.as_bytes());
    u128::from_be_bytes(digest.into())
}

/// Width of each evenly split hash-key range, `floor(2^128 / shards)`, for 2 or more shards
/// (one shard covers all of 2^128, which does not fit in a u128).
fn range_width(shards: u32) -> u128 {
    let n = u128::from(shards.max(2));
    // floor((MAX + 1) / n) = floor(MAX / n) + [MAX % n == n - 1].
    u128::MAX / n + u128::from(u128::MAX % n == n - 1)
}

/// The shard whose evenly split hash-key range holds `hash`. Shard `i` covers
/// `[i·q, (i+1)·q − 1]` and the last shard runs to `2^128 − 1`.
pub fn shard_for_hash(hash: u128, shards: u32) -> u32 {
    if shards <= 1 {
        return 0;
    }
    let idx = hash / range_width(shards);
    idx.min(u128::from(shards.max(1) - 1)) as u32
}

/// Inclusive hash-key range `[start, end]` of shard `index` out of `shards`.
pub fn hash_key_range(index: u32, shards: u32) -> (u128, u128) {
    if shards <= 1 {
        return (0, u128::MAX);
    }
    let q = range_width(shards);
    let start = q * u128::from(index);
    let end = if index + 1 >= shards {
        u128::MAX
    } else {
        q * u128::from(index + 1) - 1
    };
    (start, end)
}

/// Parses an `ExplicitHashKey`: a decimal string matching `0|([1-9]\d{0,38})` below 2^128
/// (SEMANTICS §8.1).
pub fn parse_explicit_hash_key(s: &str) -> Result<u128, String> {
    let valid_shape = s == "0"
        || (!s.is_empty()
            && s.len() <= 39
            && !s.starts_with('0')
            && s.bytes().all(|b| b.is_ascii_digit()));
    if !valid_shape {
        return Err(format!(
            "explicitHashKey {s:?} is not a decimal integer without leading zeros (0 to 2^128-1)"
        ));
    }
    s.parse::<u128>()
        .map_err(|_| format!("explicitHashKey {s:?} is larger than 2^128-1"))
}

/// Kinesis shard id for a shard index: `shardId-000000000000` (SEMANTICS §4.4).
pub fn kinesis_shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// DynamoDB Streams shard id: `shardId-<20-digit creation ms>-<8 hex>` (SEMANTICS §4.4, Q16).
pub fn dynamodb_shard_id(index: u32, created_ms: i64, table: &str) -> String {
    let digest = Md5::digest(format!("tumblescope:ddb-shard:{table}:{index}").as_bytes());
    let hex = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    // Shards opened a few ms apart, as a table's partitions are.
    let created = created_ms.max(0) + i64::from(index) * 7;
    format!("shardId-{created:020}-{hex:08x}")
}

/// Stable shard choice for a DynamoDB item key: Lambda users cannot control it (SEMANTICS §8.3),
/// so any stable hash will do; MD5 keeps it identical across platforms and releases.
pub fn dynamodb_shard_for_key(key: &str, shards: u32) -> u32 {
    (kinesis_hash_key(key) % u128::from(shards.max(1))) as u32
}

/// Per-shard constant that prefixes generated sequence numbers, so different shards never share
/// numbers (as on Kinesis, where each shard's `StartingSequenceNumber` differs).
pub fn shard_seq_salt(stream_name: &str, index: u32, digits: u32) -> u64 {
    let digest = Md5::digest(format!("tumblescope:seq:{stream_name}:{index}").as_bytes());
    let v = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    v % 10u64.pow(digits)
}

/// A generated 56-digit Kinesis sequence number, strictly increasing in `(time_ms, ordinal)` for
/// one shard: `49` + 14-digit shard salt + 16-digit time + 24-digit ordinal.
pub fn kinesis_sequence_number(salt: u64, time_ms: i64, ordinal: u64) -> String {
    format!("49{salt:014}{:016}{ordinal:024}", time_ms.max(0))
}

/// A generated 30-digit DynamoDB Streams sequence number (the API allows 21–40 digits):
/// `4` + 5-digit shard salt + 13-digit time + 11-digit ordinal.
pub fn dynamodb_sequence_number(salt: u64, time_ms: i64, ordinal: u64) -> String {
    format!("4{salt:05}{:013}{ordinal:011}", time_ms.max(0))
}

/// Compares two decimal sequence numbers as big integers.
pub fn compare_sequence_numbers(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_shard_ranges_match_real_describe_stream_output() {
        // SEMANTICS §8.1, from `aws kinesis describe-stream` on a real 3-shard stream.
        let expected = [
            ("0", "113427455640312821154458202477256070484"),
            (
                "113427455640312821154458202477256070485",
                "226854911280625642308916404954512140969",
            ),
            (
                "226854911280625642308916404954512140970",
                "340282366920938463463374607431768211455",
            ),
        ];
        for (i, (lo, hi)) in expected.iter().enumerate() {
            let (s, e) = hash_key_range(i as u32, 3);
            assert_eq!(s.to_string(), *lo);
            assert_eq!(e.to_string(), *hi);
            assert_eq!(shard_for_hash(s, 3), i as u32);
            assert_eq!(shard_for_hash(e, 3), i as u32);
        }
    }

    #[test]
    fn two_shards_split_at_two_to_the_127() {
        let b = 1u128 << 127;
        assert_eq!(shard_for_hash(b - 1, 2), 0);
        assert_eq!(shard_for_hash(b, 2), 1);
        assert_eq!(hash_key_range(0, 2), (0, b - 1));
        assert_eq!(shard_for_hash(u128::MAX, 1), 0);
    }

    #[test]
    fn md5_is_big_endian() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(kinesis_hash_key(""), 0xd41d8cd98f00b204e9800998ecf8427e);
    }

    #[test]
    fn explicit_hash_keys_are_validated() {
        assert_eq!(parse_explicit_hash_key("0"), Ok(0));
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211455"),
            Ok(u128::MAX)
        );
        assert!(parse_explicit_hash_key("340282366920938463463374607431768211456").is_err());
        assert!(parse_explicit_hash_key("01").is_err());
        assert!(parse_explicit_hash_key("-1").is_err());
        assert!(parse_explicit_hash_key("").is_err());
    }

    #[test]
    fn ids_and_sequence_numbers_have_aws_shapes() {
        assert_eq!(kinesis_shard_id(6), "shardId-000000000006");
        let seq = kinesis_sequence_number(shard_seq_salt("s", 0, 14), 1_607_497_475_000, 7);
        assert_eq!(seq.len(), 56);
        assert!(seq.bytes().all(|b| b.is_ascii_digit()));
        let ddb = dynamodb_sequence_number(shard_seq_salt("s", 0, 5), 1_607_497_475_000, 7);
        assert!((21..=40).contains(&ddb.len()));
        let id = dynamodb_shard_id(0, 1_573_689_847_184, "Orders");
        assert!(id.starts_with("shardId-00000001573689847184-"));
        assert_eq!(id.len(), "shardId-00000001573689847184-864758bb".len());
    }

    #[test]
    fn sequence_numbers_increase_with_time_then_ordinal() {
        let salt = shard_seq_salt("s", 1, 14);
        let a = kinesis_sequence_number(salt, 1000, 5);
        let b = kinesis_sequence_number(salt, 1000, 6);
        let c = kinesis_sequence_number(salt, 1001, 0);
        assert!(compare_sequence_numbers(&a, &b).is_lt());
        assert!(compare_sequence_numbers(&b, &c).is_lt());
        assert!(compare_sequence_numbers("0099", "100").is_lt());
    }
}
