//! Records no run could deliver, refused before the run starts.

use crate::handlers::Request;
use crate::handlers::event::MAX_PAYLOAD_BYTES;
use crate::model::Window;
use crate::model::settings::Settings;
use crate::model::state::State;
use crate::model::stream::Stream;

/// Refuses records no run could deliver: a Kinesis record over the stream's maximum record size
/// (PutRecord would have refused it), or a record whose event alone is over Lambda's 6 MB
/// payload limit (AWS does not document what a mapping does with one, so tumblescope will not
/// guess). Lists the first few.
pub(super) fn check_record_sizes(stream: &Stream, settings: &Settings) -> Result<(), String> {
    use std::fmt::Write as _;
    let max_record = settings.max_record_size_kib as usize * 1024;
    // Every run passes this check: bound the sizes first, one vectorisable pass, and look at
    // records one by one only when some record could be over a limit.
    let max_data = stream.payload_lens.iter().copied().max().unwrap_or(0) as usize;
    let max_key = stream.keys.iter().map(|k| k.len()).max().unwrap_or(0);
    let record_bound =
        stream.source != crate::model::Source::Kinesis || max_data + max_key <= max_record;
    if record_bound && max_data <= 4_000_000 {
        return Ok(());
    }
    let mut found = Vec::new();
    for i in 0..stream.len() {
        let data = stream.payload_len(i);
        // Base64 makes Kinesis data 4/3 larger; below 4 MB nothing can reach 6 MB.
        let size = data + stream.partition_key(i).len();
        let over_record = stream.source == crate::model::Source::Kinesis && size > max_record;
        let over_payload =
            data > 4_000_000 && single_event_len(stream, settings, i) > MAX_PAYLOAD_BYTES;
        if over_record || over_payload {
            found.push((i, size, over_record));
            if found.len() == 5 {
                break;
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let mut msg = String::new();
    for (i, size, over_record) in found {
        let shard = &stream.shards[stream.shard_of(i)].id;
        let seq = stream.seq(i);
        if over_record {
            let _ = writeln!(
                msg,
                "record {} on {shard} (sequence number {seq}) is {size} bytes (data and partition key): \
                 over the stream's maximum record size of {max_record} bytes (MaxRecordSizeInKiB {}; \
                 Kinesis accepts 1024–10240 KiB), so PutRecord would have refused it",
                i + 1,
                settings.max_record_size_kib,
            );
        } else {
            let _ = writeln!(
                msg,
                "record {} on {shard} (sequence number {seq}) can never be delivered: an event carrying \
                 it alone is {} bytes, over Lambda's invocation payload limit of {MAX_PAYLOAD_BYTES} bytes \
                 (AWS does not document what the event source mapping does with such a record)",
                i + 1,
                single_event_len(stream, settings, i),
            );
        }
    }
    Err(msg.trim_end().to_owned())
}

pub(super) fn single_event_len(stream: &Stream, settings: &Settings, i: usize) -> usize {
    let state = State::empty();
    let req = Request {
        stream,
        settings,
        shard: stream.shard_of(i),
        records: i..i + 1,
        window: settings
            .window_ms()
            .map(|w| Window::containing(stream.ts_ms[i], w)),
        state: &state,
        is_final: false,
        is_early: false,
        n: 1,
        shard_n: 1,
        attempt: 1,
        at_ms: stream.ts_ms[i],
    };
    crate::handlers::event::event_json(&req).len()
}
