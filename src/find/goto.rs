//! "Go to": a time, a sequence number, an invocation number or a window, as typed, resolved
//! to the invocation to select and the moment to bring into view.

use std::sync::atomic::{AtomicBool, Ordering};

use super::CANCEL_EVERY;
use crate::index::RunIndex;
use crate::model::stream::Stream;
use crate::sim::trace::Trace;

/// What the box names.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Invocation number (1-based, as the stepper counts): `#12`, `12`.
    Invocation(u32),
    /// A moment (epoch ms): `12:01:30`, `12:01`, RFC 3339.
    Time(i64),
    /// The window containing a moment: `w 12:01:00`, `window 12:01`.
    Window(i64),
    /// A record's sequence number (15 digits or more).
    Sequence(String),
}

/// Where a go-to lands.
#[derive(Clone, Debug, PartialEq)]
pub struct Landing {
    /// Invocation to select (0-based).
    pub select: Option<u32>,
    /// Moment to show, epoch ms.
    pub at_ms: i64,
    /// What was found, in words, for the status line.
    pub said: String,
}

/// Reads the box; `day_ms` is any moment of the day a bare clock time refers to (the run's
/// first record).
pub fn parse(text: &str, day_ms: i64) -> Result<Target, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("window ")
        .or_else(|| lower.strip_prefix("w "))
    {
        return moment(rest, day_ms).map(Target::Window);
    }
    let digits = t.strip_prefix('#').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() >= 15 {
            return Ok(Target::Sequence(digits.to_owned()));
        }
        return digits
            .parse()
            .map(Target::Invocation)
            .map_err(|_| format!("{digits} is not an invocation number"));
    }
    moment(t, day_ms).map(Target::Time)
}

/// A clock time on the run's day, or a full RFC 3339 instant.
fn moment(text: &str, day_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Some(ms) = crate::model::parse_rfc3339_ms(text) {
        return Ok(ms);
    }
    let fmt = if text.matches(':').count() == 2 {
        "%H:%M:%S%.f"
    } else {
        "%H:%M"
    };
    let time = chrono::NaiveTime::parse_from_str(text, fmt).map_err(|_| {
        format!(
            "{text:?}: type a time (12:01:30), an invocation (#12), a window (w 12:01) or a \
             sequence number"
        )
    })?;
    let day = chrono::DateTime::from_timestamp_millis(day_ms)
        .ok_or("the run has no day to put that time on")?
        .date_naive();
    Ok(day.and_time(time).and_utc().timestamp_millis())
}

/// Resolves `target` on a run; `shard` is the shard to prefer (the selection's). `None` when
/// cancelled; an error when nothing is there.
pub fn resolve(
    target: &Target,
    stream: &Stream,
    trace: &Trace,
    index: &RunIndex,
    shard: usize,
    cancel: &AtomicBool,
) -> Option<Result<Landing, String>> {
    let invs = &trace.invocations;
    let landing = |k: u32, said: String| Landing {
        select: Some(k),
        at_ms: invs[k as usize].start_ms,
        said,
    };
    Some(match target {
        Target::Invocation(n) => match n.checked_sub(1).filter(|&k| (k as usize) < invs.len()) {
            Some(k) => Ok(landing(k, format!("invocation {n}"))),
            None => Err(format!("no invocation {n}: the run has {}", invs.len())),
        },
        Target::Time(t) => {
            let k = index
                .invocation_at(trace, shard, *t)
                .or_else(|| index.by_shard.get(shard).and_then(|l| l.first().copied()));
            Ok(Landing {
                select: k,
                at_ms: *t,
                said: crate::model::iso_millis(*t),
            })
        }
        Target::Window(t) => window(trace, index, shard, *t),
        Target::Sequence(seq) => {
            let mut buf = Vec::new();
            let mut found = None;
            for i in 0..stream.len() {
                if i % CANCEL_EVERY == 0 && cancel.load(Ordering::Relaxed) {
                    return None;
                }
                if super::seq_into(stream, i, &mut buf) == seq.as_bytes() {
                    found = Some(i);
                    break;
                }
            }
            match found {
                None => Err(format!("no record has sequence number {seq}")),
                Some(i) => Ok(match index.delivered_by[i] {
                    u32::MAX => Landing {
                        select: None,
                        at_ms: stream.ts_ms[i],
                        said: format!("record {seq} (not delivered)"),
                    },
                    k => landing(
                        k,
                        format!("record {seq}, delivered by invocation {}", k + 1),
                    ),
                }),
            }
        }
    })
}

/// The window of `shard` containing `t`: its final invocation, else its last one.
fn window(trace: &Trace, index: &RunIndex, shard: usize, t: i64) -> Result<Landing, String> {
    let invs = &trace.invocations;
    let list = index.by_shard.get(shard).map_or(&[][..], Vec::as_slice);
    let in_window: Vec<u32> = list
        .iter()
        .copied()
        .filter(|&k| {
            invs[k as usize]
                .window()
                .is_some_and(|w| w.start_ms <= t && t < w.end_ms)
        })
        .collect();
    let pick = in_window
        .iter()
        .copied()
        .find(|&k| invs[k as usize].is_final)
        .or(in_window.last().copied())
        .ok_or_else(|| {
            format!(
                "no window of shard {shard} holds {}",
                crate::model::clock_seconds(t)
            )
        })?;
    let w = invs[pick as usize].window().expect("filtered on windows");
    Ok(Landing {
        select: Some(pick),
        at_ms: w.start_ms,
        said: format!(
            "window {}–{} of shard {shard}",
            crate::model::clock_seconds(w.start_ms),
            crate::model::clock_seconds(w.end_ms)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 1_767_268_800_000; // 2026-01-01T12:00:00Z

    #[test]
    fn targets_are_read_as_typed() {
        assert_eq!(parse("#12", DAY), Ok(Target::Invocation(12)));
        assert_eq!(parse("12", DAY), Ok(Target::Invocation(12)));
        assert_eq!(parse("12:01:30", DAY), Ok(Target::Time(DAY + 90_000)));
        assert_eq!(parse("12:01", DAY), Ok(Target::Time(DAY + 60_000)));
        assert_eq!(parse("w 12:00:45", DAY), Ok(Target::Window(DAY + 45_000)));
        assert_eq!(
            parse("2026-01-01T12:00:01.5Z", DAY),
            Ok(Target::Time(DAY + 1_500))
        );
        let seq = "49590338271490256608559692538361571095921575989136588898";
        assert_eq!(parse(seq, DAY), Ok(Target::Sequence(seq.into())));
        assert!(parse("soon", DAY).unwrap_err().contains("type a time"));
    }
}
