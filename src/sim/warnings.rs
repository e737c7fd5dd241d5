//! Where a user would get bitten: the warnings the inspector shows on an invocation, and the
//! command line reports, in one place.

use super::engine::MAX_STATE_BYTES;
use super::trace::{Invocation, flags};
use crate::model::state::State;

/// The kinds of a state's non-string values, for the typed runtimes' verdicts (SEMANTICS
/// §14.8): Go, Java and Rust declare `map[string]string` and fail on any of them; .NET's
/// converter also takes whole numbers.
pub fn typed_state_warning(state: &State) -> Option<String> {
    let json = state.to_json();
    let mut kinds = Vec::new();
    let mut dotnet_fails = false;
    for (k, v) in &json {
        let kind = match v {
            serde_json::Value::String(_) => continue,
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "whole number",
            serde_json::Value::Number(_) => "fraction",
            serde_json::Value::Bool(_) => "boolean",
            serde_json::Value::Null => "null",
            serde_json::Value::Array(_) => "list",
            serde_json::Value::Object(_) => "object",
        };
        dotnet_fails |= kind != "whole number";
        if kinds.len() < 3 {
            kinds.push(format!("{k}: {kind}"));
        }
    }
    if kinds.is_empty() {
        return None;
    }
    let dotnet = if dotnet_fails {
        ".NET's fails too (it accepts whole numbers only)"
    } else {
        ".NET's accepts these whole numbers"
    };
    Some(format!(
        "State values are not strings ({}): fine for Node.js and Python, but Lambda's typed Go, Java and Rust events declare string-to-string maps and fail on them; {dotnet}.",
        kinds.join(", ")
    ))
}

/// Every warning that applies to one invocation.
pub fn invocation_warnings(inv: &Invocation) -> Vec<String> {
    invocation_warnings_with(inv, &mut typed_state_warning)
}

/// The warnings of one invocation except the state value types, which the app says once per
/// run (they are a property of the handler's states, not of one invocation).
pub fn invocation_warnings_untyped(inv: &Invocation) -> Vec<String> {
    invocation_warnings_with(inv, &mut |_| None)
}

/// The run's first windowed invocation whose returned state has non-string values, with the
/// typed runtimes' verdict on it.
pub fn first_typed_state_warning(invocations: &[Invocation]) -> Option<(u32, String)> {
    invocations
        .iter()
        .enumerate()
        .filter(|(_, i)| i.window().is_some())
        .find_map(|(k, i)| Some((k as u32, typed_state_warning(i.state_out.as_ref()?)?)))
}

/// The warnings, with the state's value types judged by `typed` (which may decline).
fn invocation_warnings_with(
    inv: &Invocation,
    typed: &mut dyn FnMut(&State) -> Option<String>,
) -> Vec<String> {
    let mut w = Vec::new();
    let state = inv.state_out.as_ref().unwrap_or(&inv.state_in);
    // Asked first, because measuring an inline state means rendering its number.
    if inv.window().is_some() {
        let len = if state.may_exceed(MAX_STATE_BYTES / 2 - 1) {
            state.json_len()
        } else {
            0
        };
        let share = len as f64 / MAX_STATE_BYTES as f64 * 100.0;
        if share >= 50.0 {
            w.push(format!("State is {len} bytes: {share:.0}% of the 1 MB limit; past it Lambda terminates the window early."));
        }
        w.extend(typed(state));
    }
    if inv.flags & flags::FINAL_WITHOUT_STATE != 0 {
        w.push("This final invocation returned no \"state\". The docs require state in every response; tumblescope accepts it on the final invocation by default (modelling choice Q5, see --strict-final-state).".into());
    }
    if inv
        .error()
        .is_some_and(|e| e.error_type == "Tumblescope.MissingState")
    {
        w.push("A non-final response without \"state\" is a failed invocation: return { state } from every invocation.".into());
    }
    if inv.flags & flags::LATE_RECORDS != 0 {
        w.push("Some records have timestamps earlier than the open window (they went backwards on this shard); they joined the open window.".into());
    }
    if inv.flags & flags::CARRIED_STATE != 0 {
        w.push("Teaching mode: this window started with the previous window's state. AWS starts every window with {}.".into());
    }
    w
}

/// The run's warnings grouped by text: how many invocations each concerns and the first one.
/// State value types are checked on final invocations only (the state a window stores):
/// building every batch's state as JSON would cost more than the simulation itself.
pub fn summarize(invocations: &[Invocation]) -> Vec<(String, usize, u32)> {
    let mut out: Vec<(String, usize, u32)> = Vec::new();
    // A built-in's inline states differ only in their numbers: judge each shape once.
    type Shape = (
        crate::model::state::Key,
        crate::model::state::AggOp,
        bool,
        u8,
    );
    let mut shapes: Vec<(Shape, Option<String>)> = Vec::new();
    let mut judge = |state: &State| match state.scalar() {
        Some(s) => {
            // The kinds JSON would show: a whole number, a fraction, or null (not finite).
            let class = match s.value {
                v if !v.is_finite() => 2,
                v if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 => 0,
                _ => 1,
            };
            let shape = (s.key, s.op, s.count > 0, class);
            if let Some((_, text)) = shapes.iter().find(|(k, _)| *k == shape) {
                return text.clone();
            }
            let text = typed_state_warning(state);
            shapes.push((shape, text.clone()));
            text
        }
        None => typed_state_warning(state),
    };
    for inv in invocations {
        let texts = if inv.is_final {
            invocation_warnings_with(inv, &mut judge)
        } else {
            invocation_warnings_with(inv, &mut |_| None)
        };
        for text in texts {
            // Group state-size warnings whatever their byte count.
            let key = if text.starts_with("State is ") {
                "State is at least half of the 1 MB limit on some invocations; past it Lambda terminates the window early.".to_owned()
            } else {
                text
            };
            match out.iter_mut().find(|(t, ..)| *t == key) {
                Some(entry) => entry.1 += 1,
                None => out.push((key, 1, inv.n)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(json: &str) -> State {
        State::from_map(serde_json::from_str(json).unwrap())
    }

    /// The summary judges each inline state's shape once; it must count exactly what judging
    /// every final invocation's state would.
    #[test]
    fn the_summary_counts_what_every_invocation_shows() {
        let opts = crate::generate::GenOptions {
            count: 3_000,
            shards: 2,
            ..Default::default()
        };
        let stream = crate::generate::generate_stream(&opts, Default::default());
        for spec in [
            "builtin:sum:Item.sales",
            "builtin:avg:Item.sales",
            "builtin:min:Item.sales",
            "builtin:count",
            "builtin:sum:Item.sales:by=pk",
        ] {
            let mut h = crate::handlers::from_spec(spec).unwrap();
            let trace = crate::sim::simulate(&stream, &Default::default(), h.as_mut()).unwrap();
            let mut naive: Vec<(String, usize, u32)> = Vec::new();
            for inv in &trace.invocations {
                let texts = if inv.is_final {
                    invocation_warnings(inv)
                } else {
                    invocation_warnings_with(inv, &mut |_| None)
                };
                for t in texts {
                    match naive.iter_mut().find(|(x, ..)| *x == t) {
                        Some(e) => e.1 += 1,
                        None => naive.push((t, 1, inv.n)),
                    }
                }
            }
            assert!(!naive.is_empty(), "{spec}");
            assert_eq!(summarize(&trace.invocations), naive, "{spec}");
        }
    }

    #[test]
    fn each_typed_runtime_gets_its_own_verdict() {
        assert_eq!(typed_state_warning(&state(r#"{"a":"1"}"#)), None);
        let ints = typed_state_warning(&state(r#"{"sales":12,"n":"x"}"#)).unwrap();
        assert!(ints.contains("(sales: whole number)"), "{ints}");
        assert!(
            ints.contains(".NET's accepts these whole numbers"),
            "{ints}"
        );
        let mixed = typed_state_warning(&state(r#"{"avg":1.5,"ok":true,"o":{}}"#)).unwrap();
        assert!(
            mixed.contains("(avg: fraction, ok: boolean, o: object)"),
            "{mixed}"
        );
        assert!(mixed.contains(".NET's fails too"), "{mixed}");
    }
}
