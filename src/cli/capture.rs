//! `capture kinesis` / `capture dynamodb` on the command line: flags to a capture request,
//! progress on stderr, Ctrl-C to stop.

use super::{CaptureArgs, CaptureCommon, CliError, usage};

/// `capture kinesis` / `capture dynamodb`: reads until a stop condition or Ctrl-C, then writes
/// the files (Ctrl-C keeps what was read, with each shard's iterator to go on from).
pub(super) fn capture(args: &CaptureArgs) -> Result<(), CliError> {
    use crate::capture::{Target, capture, check};
    use std::sync::atomic::{AtomicBool, Ordering};
    let (target, common) = match args {
        CaptureArgs::Kinesis(a) => (
            Target::Kinesis {
                stream: a.stream.clone(),
            },
            &a.common,
        ),
        CaptureArgs::Dynamodb(a) => match (&a.table, &a.stream_arn) {
            (Some(table), _) => (
                Target::DynamodbTable {
                    table: table.clone(),
                },
                &a.common,
            ),
            (None, Some(arn)) => (Target::DynamodbStream { arn: arn.clone() }, &a.common),
            (None, None) => return Err(usage("capture dynamodb needs --table or --stream-arn")),
        },
    };
    let options = capture_options(target, common)?;
    check(&options).map_err(usage)?;
    static CANCEL: AtomicBool = AtomicBool::new(false);
    // The capture is the only thing running: Ctrl-C stops reading and the files are written.
    let _ = ctrlc::set_handler(|| CANCEL.store(true, Ordering::Relaxed));
    let mut last = std::time::Instant::now();
    let result = capture(&options, &CANCEL, &mut |p| {
        if last.elapsed() >= std::time::Duration::from_millis(250) {
            last = std::time::Instant::now();
            eprint!(
                "\rcapture: {} record(s), {}/{} shard(s) done, {:.1} s{}   ",
                p.records,
                p.shards_done,
                p.shards,
                p.elapsed_s,
                p.behind_ms
                    .map(|b| format!(", {b} ms behind"))
                    .unwrap_or_default()
            );
        }
    });
    eprintln!();
    let captured = result.map_err(usage)?;
    for line in &captured.summary {
        eprintln!("{line}");
    }
    eprintln!(
        "captured {} record(s) from {} shard(s) of {} ({})",
        captured.records,
        captured.files.len(),
        options.target.describe(),
        captured.stopped.describe()
    );
    Ok(())
}

fn capture_options(
    target: crate::capture::Target,
    a: &CaptureCommon,
) -> Result<crate::capture::Options, CliError> {
    let from = crate::capture::From::parse(&a.from).map_err(usage)?;
    let duration = match a.duration {
        Some(s) if s.is_finite() && s > 0.0 => Some(std::time::Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(usage(format!(
                "--duration {s} must be a positive number of seconds"
            )));
        }
        None => None,
    };
    Ok(crate::capture::Options {
        target,
        from,
        stop: crate::capture::Stop {
            records: a.records,
            until_ms: a.until,
            duration,
        },
        connection: crate::capture::Connection {
            profile: a.profile.clone(),
            region: a.region.clone(),
            endpoint_url: a.endpoint_url.clone(),
        },
        out: a.out.clone(),
    })
}
