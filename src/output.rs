//! Writing output files without ever losing input: every output is checked against the inputs
//! (same path or same file), checked for writability before any work starts, and written
//! atomically (a temporary file in the same folder, renamed over the target), so a crash, a full
//! disk or a failing write never leaves half a file or touches an existing one.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Standard input or output, as `-` on the command line.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Whether two paths name the same file: the same device and inode where both exist, else the
/// same canonical path (hard links, symbolic links and `./x` versus `x` all count as the same).
pub fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
        #[cfg(not(unix))]
        {
            let _ = (ma, mb);
        }
    }
    match (canonical_target(a), canonical_target(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// The canonical path a (possibly not yet existing) file would have: its folder canonicalised,
/// plus its name.
fn canonical_target(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = std::fs::canonicalize(p) {
        return Some(c);
    }
    let dir = parent_dir(p);
    Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
}

fn parent_dir(p: &Path) -> &Path {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Checks an output path before any work: not one of the inputs, not a folder, in a folder that
/// exists and can be written. `what` names the option (`--events`) for the message.
pub fn check_output(what: &str, path: &Path, inputs: &[PathBuf]) -> Result<(), String> {
    if is_stdio(path) {
        return Ok(());
    }
    let shown = path.display();
    if let Some(input) = inputs.iter().find(|i| !is_stdio(i) && same_file(path, i)) {
        return Err(format!(
            "{what} {shown} is the input file {}: refusing to overwrite an input; choose another output path",
            input.display()
        ));
    }
    if path.is_dir() {
        return Err(format!("{what} {shown} is a folder, not a file"));
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(format!(
            "{what} {shown}: the folder {} does not exist",
            dir.display()
        ));
    }
    // Proves the folder takes new files (the atomic write needs one beside the target).
    let probe = temp_path(path);
    std::fs::File::create(&probe)
        .map_err(|e| format!("{what} {shown}: cannot write in {}: {e}", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().readonly()
    {
        return Err(format!("{what} {shown}: the file is read-only"));
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    parent_dir(path).join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes a file atomically from a writer callback: nothing appears at `path` unless every byte
/// was written and synced; on any error the temporary file is removed and an existing file at
/// `path` is left as it was.
pub fn write_with<F>(path: &Path, fill: F) -> std::io::Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let tmp = temp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    result
}

/// Writes bytes atomically (see [`write_with`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tumblescope-output-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_output_naming_an_input_any_way_is_refused() {
        let dir = scratch("same");
        let input = dir.join("x.jsonl");
        std::fs::write(&input, "keep me\n").unwrap();
        let link = dir.join("link.jsonl");
        std::fs::hard_link(&input, &link).unwrap();
        let dotted = dir.join(".").join("x.jsonl");
        for out in [&input, &link, &dotted] {
            let err = check_output("--events", out, std::slice::from_ref(&input)).unwrap_err();
            assert!(err.contains("refusing to overwrite an input"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "keep me\n");
        check_output("--events", &dir.join("other.jsonl"), &[input]).unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn missing_folders_and_folders_are_refused_before_work() {
        let dir = scratch("dirs");
        let err = check_output("-o", &dir.join("no/such/out.jsonl"), &[]).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        let err = check_output("-o", &dir, &[]).unwrap_err();
        assert!(err.contains("is a folder"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_failing_write_leaves_the_old_file_and_no_temporary() {
        let dir = scratch("atomic");
        let path = dir.join("results.json");
        std::fs::write(&path, "old").unwrap();
        let err = write_with(&path, |w| {
            w.write_all(b"half of the new")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["results.json"]);
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        std::fs::remove_dir_all(&dir).ok();
    }
}
