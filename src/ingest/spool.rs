//! Inputs that are not regular files (standard input, pipes, FIFOs) and files that start with a
//! byte order mark are copied as they arrive into a private temporary file, then loaded like any
//! file; errors name the input as given.

use std::path::{Path, PathBuf};

use super::{
    LoadControl, LoadError, LoadOptions, LoadProgress, LoadReport, load_regular, rename_error,
    unique,
};
use crate::model::stream::Stream;

/// Standard input, as `-` on the command line.
pub fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// Name under which standard input (`-`) appears in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// Whether a path must be read as it arrives (standard input as `-`, a pipe, a FIFO, a
/// character device) rather than as a regular file with a size.
pub fn is_streamed_input(p: &Path) -> bool {
    is_stdin(p) || std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Loads one or more files into one stream (e.g. one file per shard, merged by time per shard).
/// The files are never modified. `-` is standard input; pipes and FIFOs are read as they arrive
/// into a private temporary copy, then loaded like any file, with errors naming the input as
/// given.
pub fn load_paths(
    paths: &[PathBuf],
    opts: &LoadOptions,
    control: &mut LoadControl<'_>,
) -> Result<(Stream, LoadReport), LoadError> {
    if !paths.iter().any(|p| needs_copy(p)) {
        return load_regular(paths, opts, control);
    }
    let dir = std::env::temp_dir().join(format!(
        "tumblescope-spool-{}-{}",
        std::process::id(),
        unique()
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| LoadError::file(&dir.display().to_string(), e.to_string()))?;
    let result = load_spooled(paths, &dir, opts, control);
    std::fs::remove_dir_all(&dir).ok();
    result
}

fn load_spooled(
    paths: &[PathBuf],
    dir: &Path,
    opts: &LoadOptions,
    control: &mut LoadControl<'_>,
) -> Result<(Stream, LoadReport), LoadError> {
    let mut names = Vec::new();
    let mut local = Vec::new();
    for (k, p) in paths.iter().enumerate() {
        if !needs_copy(p) {
            local.push(p.clone());
            continue;
        }
        let shown = if is_stdin(p) {
            STDIN_NAME.to_owned()
        } else {
            p.display().to_string()
        };
        let copy = dir.join(format!(
            "{k}-{}",
            p.file_name()
                .map_or_else(|| "stdin".into(), |n| n.to_string_lossy().into_owned())
        ));
        spool(p, &shown, &copy, control)?;
        names.push((copy.display().to_string(), shown));
        local.push(copy);
    }
    let rename = |e: LoadError| {
        names
            .iter()
            .fold(e, |e, (from, to)| rename_error(e, from, to))
    };
    load_regular(&local, opts, control)
        .map(|(stream, mut report)| {
            report.errors = report.errors.into_iter().map(rename).collect();
            (stream, report)
        })
        .map_err(rename)
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Inputs read through a private copy: streamed ones, and files that start with a UTF-8 byte
/// order mark (which editors on Windows add), so every format reads them alike.
fn needs_copy(p: &Path) -> bool {
    use std::io::Read as _;
    if is_streamed_input(p) {
        return true;
    }
    let mut head = [0u8; 3];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == BOM)
}

/// Copies an input to `copy` as it arrives (cancellable between chunks), without a leading byte
/// order mark: positions in messages then count from the first character after it.
fn spool(
    p: &Path,
    shown: &str,
    copy: &Path,
    control: &mut LoadControl<'_>,
) -> Result<(), LoadError> {
    use std::io::{Read as _, Write as _};
    let err = |e: std::io::Error| LoadError::file(shown, e.to_string());
    let mut input: Box<dyn std::io::Read> = if is_stdin(p) {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(p).map_err(err)?)
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(copy).map_err(err)?);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        if control.cancelled() {
            return Err(LoadError::Cancelled);
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(e)),
        };
        let skip = if done == 0 && buf[..n].starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        out.write_all(&buf[skip..n]).map_err(err)?;
        done += n as u64;
        if let Some(progress) = control.progress.as_mut() {
            progress(LoadProgress {
                bytes_done: done,
                bytes_total: done,
                records: 0,
            });
        }
    }
    out.flush().map_err(err)
}
