//! A template's mapping and function as tumblescope's settings, with where each came from.
//! A property tumblescope cannot simulate, or a value outside AWS's range, is an error naming
//! the property; flags given on the command line win over the template.

use std::path::Path;

use serde_json::Value;

use super::{Function, Mapping, Prop};
use crate::model::Source;
use crate::model::settings::Settings;

/// Where one setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The AWS property name (`BatchSize`).
    pub setting: String,
    /// The value, as text.
    pub value: String,
    /// `template.yaml: Resources.…BatchSize`, `flag --batch-size`, or `default`.
    pub from: String,
}

/// The settings a template gives, on top of `base`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// The settings.
    pub settings: Settings,
    /// The stream source the mapping reads.
    pub source: Source,
    /// The handler spec of the function's code next to the template, when it can run here.
    pub handler: Option<String>,
    /// The stream or table name from the mapping's ARN.
    pub stream_name: Option<String>,
    /// The function's name.
    pub function_name: Option<String>,
    /// Where each setting came from.
    pub origins: Vec<Origin>,
    /// What the template sets that tumblescope does not model, in words (not errors).
    pub notes: Vec<String>,
}

/// Mapping properties and the flag that overrides each.
const FLAGS: &[(&str, &str)] = &[
    ("BatchSize", "batch-size"),
    ("MaximumBatchingWindowInSeconds", "batching-window"),
    ("TumblingWindowInSeconds", "window"),
    ("StartingPosition", "starting-position"),
    ("StartingPositionTimestamp", "starting-position-timestamp"),
    ("ParallelizationFactor", "parallelization-factor"),
    ("MaximumRetryAttempts", "max-retry-attempts"),
    ("MaximumRecordAgeInSeconds", "max-record-age"),
    ("BisectBatchOnFunctionError", "bisect"),
    ("FunctionResponseTypes", "report-batch-item-failures"),
    ("FilterCriteria", "filter"),
    ("Timeout", "timeout-ms"),
    ("Environment", "env"),
];

/// The flag that overrides a property.
pub fn flag_of(property: &str) -> Option<&'static str> {
    FLAGS.iter().find(|(p, _)| *p == property).map(|(_, f)| *f)
}

fn int(p: &Prop) -> Result<i64, String> {
    match &p.value {
        Ok(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("{}: {n} is not a whole number", p.at)),
        Ok(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("{}: {s:?} is not a number", p.at)),
        Ok(other) => Err(format!("{}: {other} is not a number", p.at)),
        Err(u) => Err(format!("{}: {}", p.at, u.0)),
    }
}

fn boolean(p: &Prop) -> Result<bool, String> {
    match &p.value {
        Ok(Value::Bool(b)) => Ok(*b),
        Ok(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Ok(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Ok(other) => Err(format!("{}: {other} is not true or false", p.at)),
        Err(u) => Err(format!("{}: {}", p.at, u.0)),
    }
}

fn text(p: &Prop) -> Result<String, String> {
    match &p.value {
        Ok(Value::String(s)) => Ok(s.clone()),
        Ok(other) => Err(format!("{}: {other} is not text", p.at)),
        Err(u) => Err(format!("{}: {}", p.at, u.0)),
    }
}

/// Applies `m` to `base`. `explicit` lists the flags the user gave (they win); `file` names
/// the template in origins. Errors name every property that cannot be simulated.
pub fn apply(
    m: &Mapping,
    base: &Settings,
    explicit: &[String],
    file: &Path,
) -> Result<Applied, Vec<String>> {
    let mut a = Applied {
        settings: base.clone(),
        source: m.source,
        ..Applied::default()
    };
    let mut errors = Vec::new();
    let name = file.display().to_string();
    for p in &m.props {
        let given = |f: &str| explicit.iter().any(|e| e == f);
        let overridden = flag_of(&p.name).is_some_and(given)
            || (p.name == "FilterCriteria" && given("filter-criteria"));
        if overridden {
            a.origins.push(Origin {
                setting: p.name.clone(),
                value: String::new(),
                from: format!(
                    "flag --{} (over {name}: {})",
                    flag_of(&p.name).unwrap_or(""),
                    p.at
                ),
            });
            continue;
        }
        match mapping_prop(&mut a, p) {
            Ok(Some(value)) => a.origins.push(Origin {
                setting: p.name.clone(),
                value,
                from: format!("{name}: {}", p.at),
            }),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if let Some(f) = &m.function {
        function_props(&mut a, f, explicit, file, &mut errors);
    }
    if a.settings.tumbling_window_s > 0 && a.settings.parallelization_factor > 1 {
        errors.push(format!(
            "{name}: ParallelizationFactor {} with TumblingWindowInSeconds: AWS allows tumbling \
             windows only with ParallelizationFactor 1",
            a.settings.parallelization_factor
        ));
    }
    if let Err(e) = a.settings.check() {
        errors.push(format!("{name}: {e}"));
    }
    if errors.is_empty() {
        Ok(a)
    } else {
        Err(errors)
    }
}

/// One mapping property into the settings; the value as text for the origins list.
fn mapping_prop(a: &mut Applied, p: &Prop) -> Result<Option<String>, String> {
    let s = &mut a.settings;
    let n = || int(p);
    let set_u32 = |v: i64| u32::try_from(v).map_err(|_| format!("{}: {v} is out of range", p.at));
    match p.name.as_str() {
        "BatchSize" => s.batch_size = set_u32(n()?)?,
        "MaximumBatchingWindowInSeconds" => s.max_batching_window_s = set_u32(n()?)?,
        "TumblingWindowInSeconds" => s.tumbling_window_s = set_u32(n()?)?,
        "ParallelizationFactor" => s.parallelization_factor = set_u32(n()?)?,
        "MaximumRetryAttempts" => {
            s.max_retry_attempts =
                i32::try_from(n()?).map_err(|_| format!("{}: out of range", p.at))?;
        }
        "MaximumRecordAgeInSeconds" => {
            s.max_record_age_s =
                i32::try_from(n()?).map_err(|_| format!("{}: out of range", p.at))?;
        }
        "BisectBatchOnFunctionError" => s.bisect_on_error = boolean(p)?,
        "StartingPosition" => {
            s.starting_position = text(p)?.parse().map_err(|e| format!("{}: {e}", p.at))?;
        }
        "StartingPositionTimestamp" => s.starting_position_timestamp_ms = Some(timestamp_ms(p)?),
        "FunctionResponseTypes" => s.report_batch_item_failures = response_types(p)?,
        "FilterCriteria" => s.filters = filters(p)?,
        _ => return other_prop(a, p),
    }
    Ok(Some(
        p.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
    ))
}

/// Properties that set no number: where the mapping reads from, what it calls, and the ones
/// that are accepted but change nothing about processing.
fn other_prop(a: &mut Applied, p: &Prop) -> Result<Option<String>, String> {
    match p.name.as_str() {
        "Enabled" => {
            if !boolean(p)? {
                return Err(format!(
                    "{}: the mapping is disabled (Enabled: false): Lambda would not read the \
                     stream; enable it to simulate",
                    p.at
                ));
            }
            Ok(Some("true".into()))
        }
        "Stream" | "EventSourceArn" => {
            let arn = text(p)?;
            a.stream_name = stream_name(&arn);
            Ok(Some(arn))
        }
        "FunctionName" => Ok(p.value.as_ref().ok().map(|v| v.to_string())),
        "DestinationConfig" => {
            a.notes.push(format!(
                "{}: on-failure records are written with --destination-out, as the document \
                 Lambda sends",
                p.at
            ));
            Ok(p.value.as_ref().ok().map(|v| v.to_string()))
        }
        "TumblingWindowInSecondsUnits" | "Tags" | "KmsKeyArn" | "MetricsConfig" => {
            a.notes
                .push(format!("{}: not simulated (no effect on processing)", p.at));
            Ok(None)
        }
        other => Err(format!(
            "{}: {other} is not simulated by tumblescope (remove it or simulate without it)",
            p.at
        )),
    }
}

/// `StartingPositionTimestamp` in Unix seconds, given as a number or a string.
fn timestamp_ms(p: &Prop) -> Result<i64, String> {
    let secs = match &p.value {
        Ok(Value::Number(x)) => x.as_f64().unwrap_or(f64::NAN),
        _ => text(p)?.parse::<f64>().unwrap_or(f64::NAN),
    };
    crate::model::ms_from_epoch_seconds(secs).ok_or_else(|| format!("{}: not Unix seconds", p.at))
}

/// `FunctionResponseTypes: [ReportBatchItemFailures]` (the only type Lambda defines).
fn response_types(p: &Prop) -> Result<bool, String> {
    let Ok(Value::Array(list)) = &p.value else {
        return Err(format!(
            "{}: expected a list like [ReportBatchItemFailures]",
            p.at
        ));
    };
    if let Some(t) = list.iter().find(|t| *t != "ReportBatchItemFailures") {
        return Err(format!("{}: unknown response type {t}", p.at));
    }
    Ok(!list.is_empty())
}

/// `FilterCriteria: {Filters: [{Pattern: "…"}]}`; a pattern may be given as an object (SAM
/// templates often do), which is its JSON.
fn filters(p: &Prop) -> Result<Vec<String>, String> {
    let v = p.value.as_ref().map_err(|u| format!("{}: {}", p.at, u.0))?;
    let list = v["Filters"]
        .as_array()
        .ok_or_else(|| format!("{}: expected {{Filters: [{{Pattern: …}}]}}", p.at))?;
    list.iter()
        .enumerate()
        .map(|(k, f)| match &f["Pattern"] {
            Value::String(s) => Ok(s.clone()),
            Value::Object(_) => Ok(f["Pattern"].to_string()),
            _ => Err(format!("{}.Filters[{k}]: no Pattern", p.at)),
        })
        .collect()
}

/// The stream or table name an ARN names.
fn stream_name(arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let parts: Vec<&str> = resource.split('/').collect();
    match parts.as_slice() {
        ["stream", name, ..] | ["table", name, ..] => Some((*name).to_owned()),
        _ => None,
    }
}

fn function_props(
    a: &mut Applied,
    f: &Function,
    explicit: &[String],
    file: &Path,
    errors: &mut Vec<String>,
) {
    let name = file.display().to_string();
    let given = |flag: &str| explicit.iter().any(|e| e == flag);
    if let Some(p) = f.prop("Timeout") {
        if given("timeout-ms") {
            push_flag(a, p, "timeout-ms", &name);
        } else {
            match int(p) {
                Ok(secs) if (1..=900).contains(&secs) => {
                    a.settings.timeout_ms = secs as u32 * 1000;
                    push(a, p, secs.to_string(), &name);
                }
                Ok(secs) => errors.push(format!(
                    "{}: Timeout {secs} is out of range: valid range is 1–900",
                    p.at
                )),
                Err(e) => errors.push(e),
            }
        }
    }
    if let Some(p) = f.prop("Environment") {
        if given("env") {
            push_flag(a, p, "env", &name);
        } else if let Ok(v) = &p.value {
            a.settings.function_env = super::env_vars(v);
            push(
                a,
                p,
                format!("{} variable(s)", a.settings.function_env.len()),
                &name,
            );
        }
    }
    if let Some(Ok(Value::String(n))) = f.prop("FunctionName").map(|p| &p.value) {
        a.function_name = Some(n.clone());
    }
    a.handler = handler_spec(f, file);
}

fn push(a: &mut Applied, p: &Prop, value: String, file: &str) {
    a.origins.push(Origin {
        setting: p.name.clone(),
        value,
        from: format!("{file}: {}", p.at),
    });
}

fn push_flag(a: &mut Applied, p: &Prop, flag: &str, file: &str) {
    a.origins.push(Origin {
        setting: p.name.clone(),
        value: String::new(),
        from: format!("flag --{flag} (over {file}: {})", p.at),
    });
}

/// The handler file as deployed: `CodeUri` next to the template, `Handler` `app.handler` →
/// `app.js`/`app.mjs`/`app.cjs` (Node.js) or `app.py` (Python) with export `handler`.
pub fn handler_spec(f: &Function, template: &Path) -> Option<String> {
    let handler = f.prop("Handler").and_then(|p| text(p).ok())?;
    let runtime = f
        .prop("Runtime")
        .and_then(|p| text(p).ok())
        .unwrap_or_default();
    let code = f
        .prop("CodeUri")
        .and_then(|p| text(p).ok())
        .unwrap_or_else(|| ".".into());
    let (module, export) = handler.rsplit_once('.')?;
    let dir = template.parent().unwrap_or(Path::new(".")).join(code);
    let exts: &[&str] = if runtime.starts_with("python") {
        &["py"]
    } else {
        &["js", "mjs", "cjs"]
    };
    let file = exts
        .iter()
        .map(|e| dir.join(format!("{module}.{e}")))
        .find(|p| p.is_file())?;
    Some(format!("{}:{export}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_come_from_arns() {
        assert_eq!(
            stream_name("arn:aws:kinesis:us-east-1:1:stream/orders").as_deref(),
            Some("orders")
        );
        assert_eq!(
            stream_name("arn:aws:dynamodb:us-east-1:1:table/Orders/stream/2026").as_deref(),
            Some("Orders")
        );
        assert_eq!(stream_name("nope"), None);
    }
}
