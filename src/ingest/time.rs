//! The one timestamp rule every format follows: numbers are epoch seconds (or milliseconds, as
//! the unit says; `auto` takes numbers of 10^11 and more as milliseconds), strings are RFC 3339
//! / ISO 8601 or numbers, and the instant must fall in the years 1970–9999.

use serde_json::Value;

use super::TsUnit;

/// The instant a timestamp value names, in epoch ms, or why it names none.
pub fn instant_ms(v: &Value, unit: TsUnit) -> Result<i64, String> {
    let ms = parse(v, unit)?;
    crate::model::check_instant(ms)?;
    Ok(ms)
}

fn from_number(x: f64, unit: TsUnit) -> Result<i64, String> {
    let ms = match unit {
        TsUnit::Millis => Some(x.round() as i64),
        TsUnit::Seconds => crate::model::ms_from_epoch_seconds(x),
        TsUnit::Auto if x.abs() >= 1e11 => Some(x.round() as i64),
        TsUnit::Auto => crate::model::ms_from_epoch_seconds(x),
        TsUnit::Rfc3339 => {
            return Err(format!("expected an RFC 3339 string, got the number {x}"));
        }
    };
    ms.filter(|_| x.is_finite())
        .ok_or_else(|| format!("timestamp {x} is out of range"))
}

fn parse(v: &Value, unit: TsUnit) -> Result<i64, String> {
    match v {
        Value::Number(n) => from_number(n.as_f64().unwrap_or(f64::NAN), unit),
        Value::String(s) => {
            if unit != TsUnit::Rfc3339
                && let Ok(x) = s.trim().parse::<f64>()
            {
                return from_number(x, unit);
            }
            crate::model::parse_rfc3339_ms(s)
                // AWS CLI v2 prints offsets such as `+00:00` with microseconds.
                .or_else(|| {
                    chrono::DateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f%:z")
                        .ok()
                        .map(|t| t.timestamp_millis())
                })
                .ok_or_else(|| {
                    format!(
                        "timestamp {s:?} is not RFC 3339 (e.g. 2026-01-01T12:00:00.250Z) or epoch seconds/milliseconds"
                    )
                })
        }
        Value::Null => Err("timestamp is null".into()),
        other => Err(format!(
            "timestamp must be a number or a string, got {}",
            crate::json::write::json_kind(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_unit() {
        use serde_json::json;
        assert_eq!(
            instant_ms(&json!(1767268800.25), TsUnit::Auto),
            Ok(1_767_268_800_250)
        );
        assert_eq!(
            instant_ms(&json!(1767268800250i64), TsUnit::Auto),
            Ok(1_767_268_800_250)
        );
        assert_eq!(
            instant_ms(&json!("1767268800"), TsUnit::Seconds),
            Ok(1_767_268_800_000)
        );
        assert_eq!(instant_ms(&json!(5), TsUnit::Millis), Ok(5));
        assert_eq!(
            instant_ms(&json!("2026-01-01T12:00:00Z"), TsUnit::Auto),
            Ok(1_767_268_800_000)
        );
        assert!(
            instant_ms(&json!("noon"), TsUnit::Auto)
                .unwrap_err()
                .contains("RFC 3339")
        );
        assert!(instant_ms(&json!(true), TsUnit::Auto).is_err());
        assert!(instant_ms(&json!(5), TsUnit::Rfc3339).is_err());
    }
}
