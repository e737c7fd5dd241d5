//! Finding things in a run, without egui: record search (text or a field predicate), "go to"
//! targets, and the invocation table's filter and sort. The app runs these on a worker thread.

pub mod compare;
pub mod goto;
pub mod query;
pub mod records;
pub mod table;

/// Checked every this many items: often enough that a cancelled search stops within a
/// millisecond, rarely enough to cost nothing.
pub(crate) const CANCEL_EVERY: usize = 4096;

/// Record `i`'s sequence number into `buf` (cleared first), without allocating for generated
/// ones: the event writer's digits, less its quotes.
pub(crate) fn seq_into<'b>(
    stream: &crate::model::stream::Stream,
    i: usize,
    buf: &'b mut Vec<u8>,
) -> &'b [u8] {
    buf.clear();
    if !stream.write_seq(i, buf) {
        // Escapes were needed: take the text as stored.
        buf.clear();
        buf.extend_from_slice(stream.seq(i).as_bytes());
        return buf;
    }
    &buf[1..buf.len() - 1]
}
