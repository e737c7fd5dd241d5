//! Line-based formats (orders, generic JSON Lines) streamed from disk in blocks, each block's
//! lines parsed on both cores, then added to the stream in file order. Memory follows the
//! records, not the file: only one block of text is held at a time.

use std::io::Read as _;

use super::record::Parsed;
use super::{Format, LoadCtx, LoadError, LoadOptions, LoadProgress};
use crate::model::payloads::InputFiles;
use crate::model::stream::{RecordRef, Stream, StreamBuilder};

/// Bytes read per block. Big enough that thread hand-off is noise, small enough to keep memory
/// flat.
const BLOCK: usize = 8 << 20;

type ParseFn<'o> = dyn for<'a> Fn(&'a str, u64) -> Result<Parsed<'a>, LoadError> + Sync + 'o;

/// Parses every line of a chunk (whole lines), returning records in order.
pub(super) fn parse_chunk<'a>(
    chunk: &'a [u8],
    first_line: u64,
    file: &str,
    parse: &ParseFn<'_>,
) -> Vec<Result<Parsed<'a>, LoadError>> {
    let mut out = Vec::with_capacity(chunk.len() / 96 + 1);
    for (line_no, raw) in (first_line..).zip(chunk.split(|&b| b == b'\n')) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if !raw.iter().all(u8::is_ascii_whitespace) {
            match std::str::from_utf8(raw) {
                Ok(text) => out.push(parse(text, line_no)),
                Err(e) => out.push(Err(LoadError::at(
                    file,
                    line_no,
                    e.valid_up_to() as u64 + 1,
                    "this line is not UTF-8 text",
                ))),
            }
        }
    }
    out
}

/// Parses the lines of a chunk straight into a builder; returns the bad lines' errors in order,
/// how many records were added and how many newlines the chunk held (so nobody has to count
/// them in a separate pass).
fn parse_into(
    chunk: &[u8],
    first_line: u64,
    file: &str,
    parse: &ParseFn<'_>,
    b: &mut StreamBuilder,
    at: Option<u64>,
) -> (Vec<LoadError>, usize, u64) {
    let before = b.len();
    let mut errs = Vec::new();
    let mut start = 0;
    let mut line_no = first_line;
    let mut newlines = 0u64;
    // One UTF-8 check for the whole piece instead of one per line (lines end at '\n', always a
    // character boundary), with SIMD; a piece with bad bytes is checked line by line, to say
    // which.
    let text = simdutf8::basic::from_utf8(chunk).ok();
    while start < chunk.len() {
        let end = memchr::memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |p| start + p + 1);
        let mut raw_end = end;
        if chunk[start..end].ends_with(b"\n") {
            raw_end -= 1;
            newlines += 1;
        }
        if chunk[start..raw_end].ends_with(b"\r") {
            raw_end -= 1;
        }
        let raw = &chunk[start..raw_end];
        if !raw.iter().all(u8::is_ascii_whitespace) {
            let line = match text {
                Some(t) => Ok(&t[start..raw_end]),
                None => std::str::from_utf8(raw),
            };
            match line {
                Ok(line) => match parse(line, line_no) {
                    Ok(p) => push(b, &p, None, at.and_then(|at| located(&p, chunk, at))),
                    Err(e) => errs.push(e),
                },
                Err(e) => errs.push(LoadError::at(
                    file,
                    line_no,
                    e.valid_up_to() as u64 + 1,
                    "this line is not UTF-8 text",
                )),
            }
        }
        start = end;
        line_no += 1;
    }
    (errs, b.len() - before, newlines)
}

/// Pieces each block is cut into for the two parsing cores to share.
const PIECES: usize = 32;

/// What one core made of one piece of a block.
struct Piece {
    index: usize,
    which: usize,
    errs: Vec<LoadError>,
    records: usize,
    lines: u64,
}

/// Cuts `chunk` into about `n` pieces of whole lines.
fn split_lines(chunk: &[u8], n: usize) -> Vec<&[u8]> {
    let step = (chunk.len() / n).max(1);
    let mut out = Vec::with_capacity(n + 1);
    let mut start = 0;
    while start < chunk.len() {
        let want = (start + step).min(chunk.len());
        let end = memchr::memchr(b'\n', &chunk[want - 1..]).map_or(chunk.len(), |p| want + p);
        out.push(&chunk[start..end]);
        start = end;
    }
    out
}

/// Moves an error found in a piece of a block (numbered from line 0 there) to its line in the
/// file, known once the pieces before it have been counted.
fn shift_line(mut e: LoadError, by: u64) -> LoadError {
    if let LoadError::At { line, .. } = &mut e {
        *line += by;
    }
    e
}

/// Reads up to `BLOCK` more bytes onto `buf`; returns how many.
fn read_block(f: &mut std::fs::File, buf: &mut Vec<u8>, file: &str) -> Result<usize, LoadError> {
    // `take` + `read_to_end` fills spare capacity without zeroing it first.
    f.take(BLOCK as u64)
        .read_to_end(buf)
        .map_err(|e| LoadError::file(file, e.to_string()))
}

/// Loads line-based files into one stream (records that name their shard go to
/// [`super::mapped`] instead).
pub(crate) fn load_line_files(
    cx: &mut LoadCtx<'_, '_>,
    format: Format,
) -> Result<Stream, LoadError> {
    let opts = cx.opts;
    // Two builders, one per core, filled block by block; merged in file order at the end.
    let mut first = StreamBuilder::new(opts.source, opts.shards, opts.meta.clone())
        .payloads_are_json(true)
        .with_reshard(&opts.reshard);
    if let Some(path) = &opts.value {
        first = first.reading_values(crate::model::stream::column_key(path, opts.meta.view_type));
    }
    let mut parts = [first.sibling(), first];
    let mut segments: Vec<(usize, usize)> = Vec::new();
    let mut bytes_done = 0u64;
    let mut files = InputFiles::default();
    for path in cx.paths {
        let mut into = Into {
            parts: &mut parts,
            segments: &mut segments,
            files: &mut files,
        };
        load_line_file(cx, path, format, &mut into, &mut bytes_done)?;
    }
    cx.report.bytes = bytes_done;
    let [a, b] = parts;
    let mut stream = StreamBuilder::merge(a, b, &segments).finish();
    if !files.is_empty() {
        stream.payload_files = Some(std::sync::Arc::new(files));
    }
    Ok(stream)
}

/// What a file's records are loaded into.
struct Into<'a> {
    /// One builder per core.
    parts: &'a mut [StreamBuilder; 2],
    /// Each block's split between the builders.
    segments: &'a mut Vec<(usize, usize)>,
    /// The files payloads are left in.
    files: &'a mut InputFiles,
}

/// Reads one file block by block into the two builders; `segments` gets each block's split.
fn load_line_file(
    cx: &mut LoadCtx<'_, '_>,
    path: &std::path::Path,
    format: Format,
    into: &mut Into<'_>,
    bytes_done: &mut u64,
) -> Result<(), LoadError> {
    let (parts, segments) = (&mut *into.parts, &mut *into.segments);
    let (opts, total) = (cx.opts, cx.total);
    let (control, errors) = (&mut *cx.control, &mut cx.errors);
    let file = path.display().to_string();
    let parse = parser(format, opts, &file);
    let mut f = std::fs::File::open(path).map_err(|e| LoadError::file(&file, e.to_string()))?;
    let base = leave_payloads_in(into.files, &f, &file);
    let mut block_at = 0u64;
    // Two buffers: while both cores parse one block, a third thread reads the next into the
    // other, so the disk (or page cache) copy is off the critical path.
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + (1 << 16));
    let mut next: Vec<u8> = Vec::with_capacity(BLOCK + (1 << 16));
    let mut line_no = 1u64;
    let mut density: Option<(f64, f64)> = None;
    let got = read_block(&mut f, &mut buf, &file)?;
    let mut eof = got < BLOCK;
    *bytes_done += got as u64;
    loop {
        if control.cancelled() {
            return Err(LoadError::Cancelled);
        }
        let cut = whole_lines(&mut f, &mut buf, &mut eof, bytes_done, &file)?;
        if cut == 0 {
            break;
        }
        let chunk = &buf[..cut];
        let ends_with_newline = chunk.last() == Some(&b'\n');
        let pieces = split_lines(chunk, PIECES);
        next.clear();
        next.extend_from_slice(&buf[cut..]);
        let reader = (!eof).then_some((&mut f, &mut next));
        let located = base.map(|b| (b + block_at, chunk));
        let (done, read) = parse_block(
            parts,
            &pieces,
            density,
            &file,
            parse.as_ref(),
            reader,
            located,
        )?;
        let first_block = segments.is_empty();
        let (block_errors, newlines) = collect_pieces(done, line_no, segments);
        if first_block && !eof {
            density = Some(size_builders(parts, total, cut));
        }
        let last_line = line_no + newlines - u64::from(ends_with_newline);
        for e in block_errors {
            errors.bad(truncated(e, eof && !ends_with_newline, last_line))?;
        }
        line_no += newlines;
        control.report(LoadProgress {
            bytes_done: *bytes_done,
            bytes_total: total,
            records: (parts[0].len() + parts[1].len()) as u64,
        });
        if eof {
            break;
        }
        let got = read.unwrap_or(0);
        *bytes_done += got as u64;
        eof = got < BLOCK;
        block_at += cut as u64;
        std::mem::swap(&mut buf, &mut next);
    }
    Ok(())
}

/// Where `buf`'s last whole line ends (all of it at the end of the file); a line longer than a
/// block is read on until it ends.
fn whole_lines(
    f: &mut std::fs::File,
    buf: &mut Vec<u8>,
    eof: &mut bool,
    bytes_done: &mut u64,
    file: &str,
) -> Result<usize, LoadError> {
    loop {
        if *eof {
            return Ok(buf.len());
        }
        if let Some(p) = memchr::memrchr(b'\n', buf) {
            return Ok(p + 1);
        }
        let got = read_block(f, buf, file)?;
        *eof = got < BLOCK;
        *bytes_done += got as u64;
    }
}

/// Registers `f` for its payloads to stay in it when it is a regular file (before reading, so a
/// change made while loading shows); returns where it starts among the inputs.
fn leave_payloads_in(files: &mut InputFiles, f: &std::fs::File, file: &str) -> Option<u64> {
    match f.metadata() {
        Ok(m) if m.is_file() => f.try_clone().ok().and_then(|c| files.add(file, c).ok()),
        _ => None,
    }
}

/// Parses one block's pieces on both cores, each claiming the next unparsed piece, while a
/// third thread reads the next block into `reader`'s buffer. Returns the parsed pieces and the
/// bytes read ahead.
fn parse_block(
    parts: &mut [StreamBuilder; 2],
    pieces: &[&[u8]],
    density: Option<(f64, f64)>,
    file: &str,
    parse: &ParseFn<'_>,
    reader: Option<(&mut std::fs::File, &mut Vec<u8>)>,
    located: Option<(u64, &[u8])>,
) -> Result<(Vec<Piece>, Option<usize>), LoadError> {
    // Where a piece starts in the files, from where its block does.
    let piece_at = |piece: &[u8]| {
        located.map(|(at, block)| at + (piece.as_ptr() as usize - block.as_ptr() as usize) as u64)
    };
    let claimed = std::sync::atomic::AtomicUsize::new(0);
    // A core slowed by anything else on the machine simply parses fewer pieces instead of
    // holding the other up at the end of the block.
    let work = |part: &mut StreamBuilder, which: usize| {
        let mut done = Vec::new();
        loop {
            let k = claimed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(piece) = pieces.get(k) else {
                return done;
            };
            if let Some((records, bytes)) = density {
                // Room for this piece with a margin; pieces are claimed unevenly, so each
                // builder grows by what it takes rather than by a fixed half.
                let n = piece.len() as f64 * 1.1;
                part.grow_for((n * records) as usize + 16, (n * bytes) as usize + 64);
            }
            let (errs, n, lines) = parse_into(piece, 0, file, parse, part, piece_at(piece));
            done.push(Piece {
                index: k,
                which,
                errs,
                records: n,
                lines,
            });
        }
    };
    let [part_a, part_b] = parts;
    let (mut done, read) = std::thread::scope(|s| {
        let spawn_err =
            |e: std::io::Error| LoadError::file(file, format!("could not start a thread: {e}"));
        let reader = reader
            .map(|(f, next)| {
                std::thread::Builder::new()
                    .name("tumblescope-read".into())
                    .spawn_scoped(s, move || read_block(f, next, file))
            })
            .transpose()
            .map_err(spawn_err)?;
        let h = std::thread::Builder::new()
            .name("tumblescope-parse".into())
            .spawn_scoped(s, || work(part_b, 1))
            .map_err(spawn_err)?;
        let mut done = work(part_a, 0);
        done.extend(
            h.join()
                .map_err(|_| LoadError::file(file, "a parse thread failed"))?,
        );
        let read = match reader {
            Some(r) => Some(
                r.join()
                    .map_err(|_| LoadError::file(file, "the reading thread failed"))??,
            ),
            None => None,
        };
        Ok::<_, LoadError>((done, read))
    })?;
    done.sort_by_key(|p| p.index);
    Ok((done, read))
}

/// Appends each piece's records to the file-order segments; returns the pieces' errors with
/// their lines made absolute, and the block's line count.
fn collect_pieces(
    done: Vec<Piece>,
    line_no: u64,
    segments: &mut Vec<(usize, usize)>,
) -> (Vec<LoadError>, u64) {
    let mut block_errors = Vec::new();
    let mut newlines = 0u64;
    for p in done {
        segments.push(if p.which == 0 {
            (p.records, 0)
        } else {
            (0, p.records)
        });
        let at = line_no + newlines;
        block_errors.extend(p.errs.into_iter().map(|e| shift_line(e, at)));
        newlines += p.lines;
    }
    (block_errors, newlines)
}

/// Sizes both builders once from what the first block (`cut` bytes) held, instead of doubling
/// (and copying) columns and arenas as they fill. The first builder's arena becomes the
/// stream's, so it is sized for all payloads; each core takes about half the pieces, and a
/// little more room than half keeps uneven claims from reallocating. Returns records and
/// payload bytes per input byte, for each core's check before every later piece.
fn size_builders(parts: &mut [StreamBuilder; 2], total: u64, cut: usize) -> (f64, f64) {
    let records = (parts[0].len() + parts[1].len()).max(1);
    let payload = parts[0].payload_bytes() + parts[1].payload_bytes();
    let scale = total as f64 / cut as f64;
    let share = |x: usize, f: f64| (x as f64 * scale * f) as usize;
    for (part, recs, bytes) in [
        (0, share(records, 0.56), share(payload, 1.04)),
        (1, share(records, 0.56), share(payload, 0.56)),
    ] {
        let p = &mut parts[part];
        let (have, have_bytes) = (p.len(), p.payload_bytes());
        p.reserve(recs.saturating_sub(have), bytes.saturating_sub(have_bytes));
    }
    (records as f64 / cut as f64, payload as f64 / cut as f64)
}

/// The last line of a file that ends without a newline and fails to parse was cut short.
pub(super) fn truncated(e: LoadError, unterminated: bool, last_line: u64) -> LoadError {
    match e {
        LoadError::At {
            file,
            line,
            column,
            message,
        } if unterminated
            && line == last_line
            && (message.contains("truncated") || message.contains("EOF")) =>
        {
            LoadError::At {
                file,
                line,
                column,
                message: format!(
                    "truncated last line: the file ends in the middle of a record ({message})"
                ),
            }
        }
        other => other,
    }
}

/// DynamoDB: "nested attributes up to 32 levels deep". Counting the item's own braces as one,
/// an item may nest 33 brackets deep.
const DYNAMODB_MAX_DEPTH: usize = 33;

pub(super) fn parser<'o>(format: Format, opts: &'o LoadOptions, file: &str) -> Box<ParseFn<'o>> {
    let inner = format_parser(format, opts, file);
    let ddb = opts.source == crate::model::Source::Dynamodb;
    // Orders wrap the item in the line's own object; generic records are the item.
    let max = DYNAMODB_MAX_DEPTH + usize::from(format == Format::Orders);
    let ts_field = match format {
        Format::Orders => "timestamp".to_owned(),
        _ => opts
            .fields
            .timestamp
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_owned(),
    };
    let file = file.to_owned();
    let new_images = opts.meta.view_type.has_new();
    Box::new(move |text: &str, line_no: u64| {
        let mut parsed = inner(text, line_no)?;
        if let Err(m) = crate::model::check_instant(parsed.ts_ms) {
            let col = super::record::column_of(text, &ts_field);
            return Err(LoadError::at(&file, line_no, col, m));
        }
        if let Some(path) = &opts.value {
            // As the built-ins' column reads it: nothing where the record has no new image.
            let imaged = !ddb || (new_images && parsed.event != crate::model::EventName::Remove);
            parsed.value = Some(match parsed.value {
                _ if !imaged => f64::NAN,
                Some(v) => v,
                None => crate::json::path::number_in(parsed.data.as_bytes(), path, true),
            });
        }
        if !ddb {
            return Ok(parsed);
        }
        match crate::json::text::too_deep_at(text.as_bytes(), max) {
            None => Ok(parsed),
            Some(at) => Err(LoadError::at(
                &file,
                line_no,
                at as u64 + 1,
                "the item nests deeper than DynamoDB's limit of 32 levels of nested attributes; \
                 DynamoDB would reject it",
            )),
        }
    })
}

fn format_parser<'o>(format: Format, opts: &'o LoadOptions, file: &str) -> Box<ParseFn<'o>> {
    let file = file.to_owned();
    match format {
        Format::Orders => {
            let source = opts.source;
            let key_attr = opts.meta.key_attribute.clone();
            Box::new(move |text: &str, line_no: u64| {
                super::orders::parse_line(
                    text,
                    &file,
                    line_no,
                    source,
                    &key_attr,
                    opts.value.as_ref(),
                )
            })
        }
        _ => {
            let fields = opts.fields.clone();
            let source = opts.source;
            let key_attr = opts.meta.key_attribute.clone();
            Box::new(move |text: &str, line_no: u64| {
                super::generic::parse_json_line(text, &file, line_no, &fields, source, &key_attr)
            })
        }
    }
}

/// Where `p`'s payload lies among the input files, when it is written verbatim in `chunk`
/// (which starts at `at` there): borrowed from the line, not rewritten.
fn located(p: &Parsed<'_>, chunk: &[u8], at: u64) -> Option<u64> {
    let std::borrow::Cow::Borrowed(data) = &p.data else {
        return None;
    };
    let offset = (data.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
    (offset + data.len() <= chunk.len()).then_some(at + offset as u64)
}

/// Adds a parsed record; its payload stays in the file when `at` says where it lies there.
pub(super) fn push(b: &mut StreamBuilder, p: &Parsed<'_>, shard: Option<u32>, at: Option<u64>) {
    if let Some(v) = p.value {
        b.push_value(v);
    }
    let rec = RecordRef {
        ts_ms: p.ts_ms,
        partition_key: &p.pk,
        explicit_hash_key: p.ehk,
        shard,
        seq: p.seq.as_deref(),
        data: p.data.as_bytes(),
        event_name: p.event,
        old_image: p.old.as_deref().map(str::as_bytes),
        typed: None,
    };
    match at {
        Some(at) => b.push_ref_in_file(rec, at),
        None => b.push_ref(rec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{LoadControl, LoadOptions, load_paths};

    #[test]
    fn pieces_are_whole_lines_covering_the_chunk() {
        let chunk = b"a\nbb\n\nccc\ndddd\ne";
        for n in 1..12 {
            let pieces = split_lines(chunk, n);
            assert_eq!(pieces.concat(), chunk, "n={n}");
            for p in &pieces[..pieces.len() - 1] {
                assert!(p.ends_with(b"\n"), "n={n}: {p:?}");
            }
            assert!(pieces.iter().all(|p| !p.is_empty()));
        }
        assert!(split_lines(b"", 4).is_empty());
    }

    #[test]
    fn skipped_lines_keep_their_line_numbers_across_pieces_and_blocks() {
        // More than one block, so bad lines fall in different pieces, on both cores, and in
        // the second block.
        let good = r#"{"timestamp":1767268800.250,"partitionKey":"k","data":{"Item":{"sales":1}}}"#;
        let lines = BLOCK / good.len() + 5000;
        let bad: Vec<usize> = vec![1, 2, 777, lines / 3, lines / 2 + 1, lines - 2, lines];
        let mut text = String::new();
        for l in 1..=lines {
            text.push_str(if bad.contains(&l) { "{oops}" } else { good });
            text.push('\n');
        }
        let path = std::env::temp_dir().join(format!(
            "tumblescope-lines-test-{}.jsonl",
            std::process::id()
        ));
        std::fs::write(&path, &text).unwrap();
        let opts = LoadOptions {
            skip_bad: true,
            max_listed: 100,
            ..LoadOptions::default()
        };
        let (stream, report) = load_paths(
            std::slice::from_ref(&path),
            &opts,
            &mut LoadControl::default(),
        )
        .unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(stream.len(), lines - bad.len());
        assert_eq!(report.skipped, bad.len() as u64);
        let listed: Vec<u64> = report
            .errors
            .iter()
            .map(|e| match e {
                LoadError::At { line, .. } => *line,
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(listed, bad.iter().map(|&l| l as u64).collect::<Vec<_>>());
    }

    /// Loads `text` as a file with `opts`, once reading `path`'s numbers and once not.
    fn load_reading(text: &str, opts: &LoadOptions, path: &str) -> (Stream, Stream) {
        let file = std::env::temp_dir().join(format!(
            "tumblescope-values-test-{}-{}.jsonl",
            std::process::id(),
            path
        ));
        std::fs::write(&file, text).unwrap();
        let load = |o: &LoadOptions| {
            load_paths(std::slice::from_ref(&file), o, &mut LoadControl::default())
                .unwrap()
                .0
        };
        let reading = LoadOptions {
            value: Some(crate::json::path::Path::parse(path)),
            ..opts.clone()
        };
        let (with, without) = (load(&reading), load(opts));
        std::fs::remove_file(&file).ok();
        (with, without)
    }

    /// Reading values changes nothing else. Record by record: which core parsed which piece
    /// (and so key ids and arena offsets) varies from load to load.
    fn assert_same_stream(a: &Stream, b: &Stream) {
        assert_eq!(a.len(), b.len());
        assert_eq!(a.shards, b.shards);
        assert!(a.ts_ms == b.ts_ms, "timestamps differ");
        for i in 0..a.len() {
            assert_eq!(a.partition_key(i), b.partition_key(i), "record {i}");
            assert_eq!(a.payload(i), b.payload(i), "record {i}");
            assert_eq!(a.event_name(i), b.event_name(i), "record {i}");
        }
    }

    /// The column loading left in the cache, which must be the one a run computes from the
    /// payloads (same bits, NaN where absent, masked where DynamoDB has no new image).
    fn assert_column_read_while_loading(stream: &Stream, path: &str) {
        let p = crate::json::path::Path::parse(path);
        let key = crate::model::stream::column_key(&p, stream.meta.view_type);
        let col = stream
            .columns
            .get(&key)
            .expect("the column was read while loading");
        assert_eq!(col.len(), stream.len());
        for (i, v) in col.iter().enumerate() {
            let imaged = stream.source == crate::model::Source::Kinesis
                || (stream.meta.view_type.has_new()
                    && stream.event_name(i) != crate::model::EventName::Remove);
            let want = if imaged {
                crate::json::path::number_in(&stream.payload(i), &p, true)
            } else {
                f64::NAN
            };
            assert_eq!(v.to_bits(), want.to_bits(), "record {i}: {v} != {want}");
        }
    }

    #[test]
    fn values_read_while_loading_are_the_runs_column() {
        // Several layouts in runs long enough for the shape to learn each, over more than one
        // block (both cores, the merge), with values that are numbers, strings, absent,
        // nested, negative, fractional and huge.
        let layouts = [
            r#"{"timestamp":1767268800.250,"partitionKey":"k{i}","data":{"Item":{"sales":{v}}}}"#,
            r#"{"timestamp":1767268801,"partitionKey":"s{i}","data":{"Item":{"store":"x","sales":"{v}"}}}"#,
            r#"{"timestamp":"2026-01-01T12:00:00Z","partitionKey":"k{i}","data":{"Other":{"sales":{v}}}}"#,
            r#"{"timestamp":1767268802.5,"partitionKey":"k{i}","data":{"Item":{"sales":[{v}]},"x":1}}"#,
            r#"{"timestamp":1767268803, "partitionKey":"k{i}", "data":{"Item": {"sales": {v}}}}"#,
        ];
        let values = ["42", "-7.25", "1e300", "0", "123456789012345678"];
        let mut text = String::new();
        let mut i = 0;
        while text.len() < BLOCK + BLOCK / 2 {
            let layout = layouts[(i / 700) % layouts.len()];
            let v = values[i % values.len()];
            text.push_str(
                &layout
                    .replace("{i}", &(i % 97).to_string())
                    .replace("{v}", v),
            );
            text.push('\n');
            i += 1;
        }
        let opts = LoadOptions {
            shards: 4,
            ..LoadOptions::default()
        };
        let (with, without) = load_reading(&text, &opts, "Item.sales");
        assert_same_stream(&with, &without);
        assert_column_read_while_loading(&with, "Item.sales");
        assert!(
            without
                .columns
                .get("number:Item.sales:NEW_AND_OLD_IMAGES")
                .is_none()
        );
    }

    #[test]
    fn dynamodb_values_read_while_loading_skip_records_without_a_new_image() {
        let mut text = String::new();
        for i in 0..3000 {
            let event = ["INSERT", "MODIFY", "REMOVE"][i % 3];
            text.push_str(&format!(
                r#"{{"timestamp":{},"partitionKey":"k{}","eventName":"{event}","data":{{"id":"k{}","sales":{}}}}}"#,
                1767268800 + i,
                i % 13,
                i % 13,
                i % 50
            ));
            text.push('\n');
        }
        for view in [
            crate::model::StreamViewType::NewAndOldImages,
            crate::model::StreamViewType::KeysOnly,
        ] {
            let opts = LoadOptions {
                source: crate::model::Source::Dynamodb,
                meta: crate::model::stream::StreamMeta {
                    view_type: view,
                    key_attribute: "id".into(),
                    ..Default::default()
                },
                ..LoadOptions::default()
            };
            let (with, without) = load_reading(&text, &opts, "sales");
            assert_same_stream(&with, &without);
            assert_column_read_while_loading(&with, "sales");
        }
    }
}
