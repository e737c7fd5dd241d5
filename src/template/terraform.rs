//! Terraform's JSON (`terraform show -json` of a state or a plan):
//! `aws_lambda_event_source_mapping` resources and the `aws_lambda_function` each names. Their
//! snake_case attributes become the CloudFormation property names the rest of the template
//! code reads, so one table of rules applies to every format.

use serde_json::{Map, Value, json};

use super::{Function, Mapping, Prop, Template};
use crate::model::Source;

/// Attributes Terraform computes or that do not change processing: never a reason to refuse.
const COMPUTED: &[&str] = &[
    "id",
    "arn",
    "uuid",
    "function_arn",
    "last_modified",
    "last_processing_result",
    "state",
    "state_transition_reason",
    "tags",
    "tags_all",
    "kms_key_arn",
    "region",
    "provisioned_poller_config",
    "metrics_config",
    "invoke_arn",
    "qualified_arn",
    "qualified_invoke_arn",
    "version",
    "source_code_hash",
    "source_code_size",
    "role",
    "signing_job_arn",
    "signing_profile_version_arn",
];

/// Whether a document is Terraform's JSON: `terraform show -json` output, or a `.tf.json`
/// configuration (top-level `resource`).
pub(super) fn is_terraform(doc: &Value) -> bool {
    let shown = doc.get("format_version").is_some()
        && (doc.get("values").is_some() || doc.get("planned_values").is_some());
    shown || doc.get("resource").is_some_and(Value::is_object)
}

/// A `.tf.json` configuration's resources in the shape `terraform show -json` gives them, with
/// blocks written as objects turned into one-element lists.
fn configured(doc: &Value) -> Value {
    let as_list = |v: &mut Value| {
        if v.is_object() {
            *v = Value::Array(vec![v.take()]);
        }
    };
    let mut resources = Vec::new();
    for (kind, named) in doc["resource"].as_object().into_iter().flatten() {
        for (name, body) in named.as_object().into_iter().flatten() {
            let mut values = body.as_object().cloned().unwrap_or_default();
            for block in ["filter_criteria", "environment", "destination_config"] {
                if let Some(v) = values.get_mut(block) {
                    as_list(v);
                }
            }
            if let Some(f) = values
                .get_mut("filter_criteria")
                .and_then(|v| v.get_mut(0))
                .and_then(|c| c.get_mut("filter"))
            {
                as_list(f);
            }
            resources.push(json!({
                "address": format!("{kind}.{name}"), "type": kind, "name": name, "values": values,
            }));
        }
    }
    json!({"resources": resources})
}

/// Every resource of a module tree, child modules included.
fn resources(module: &Value, out: &mut Vec<Value>) {
    for r in module["resources"].as_array().into_iter().flatten() {
        out.push(r.clone());
    }
    for m in module["child_modules"].as_array().into_iter().flatten() {
        resources(m, out);
    }
}

/// The mappings of a Terraform JSON document.
pub(super) fn mappings(doc: &Value) -> Result<Template, String> {
    let root = match doc["values"]["root_module"]
        .as_object()
        .or_else(|| doc["planned_values"]["root_module"].as_object())
    {
        Some(r) => Value::Object(r.clone()),
        None => configured(doc),
    };
    let mut all = Vec::new();
    resources(&root, &mut all);
    let mut t = Template::default();
    for r in all
        .iter()
        .filter(|r| r["type"] == "aws_lambda_event_source_mapping")
    {
        let address = r["address"].as_str().unwrap_or_default().to_owned();
        let values = r["values"].as_object().cloned().unwrap_or_default();
        let arn = values
            .get("event_source_arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let source = if arn.contains(":kinesis:") {
            Source::Kinesis
        } else if arn.contains(":dynamodb:") {
            Source::Dynamodb
        } else {
            t.skipped.push(format!(
                "{address}: event_source_arn {arn:?} is not a Kinesis or DynamoDB stream"
            ));
            continue;
        };
        let function = values
            .get("function_name")
            .and_then(Value::as_str)
            .and_then(|name| function_for(&all, name));
        t.mappings.push(Mapping {
            id: address.clone(),
            source,
            props: mapping_props(&values, &format!("{address}.values")),
            function,
        });
    }
    Ok(t)
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn prop(name: &str, value: Value, at: String) -> Prop {
    Prop {
        name: name.to_owned(),
        value: Ok(value),
        at,
    }
}

fn mapping_props(values: &Map<String, Value>, at: &str) -> Vec<Prop> {
    let mut props = Vec::new();
    for (k, v) in values {
        if COMPUTED.contains(&k.as_str()) || empty(v) {
            continue;
        }
        let at = format!("{at}.{k}");
        let (name, value) = match k.as_str() {
            "batch_size" => ("BatchSize", v.clone()),
            "maximum_batching_window_in_seconds" => ("MaximumBatchingWindowInSeconds", v.clone()),
            "tumbling_window_in_seconds" => ("TumblingWindowInSeconds", v.clone()),
            "starting_position" => ("StartingPosition", v.clone()),
            "starting_position_timestamp" => {
                let secs = v
                    .as_str()
                    .and_then(crate::model::parse_rfc3339_ms)
                    .map_or(Value::Null, |ms| json!(ms as f64 / 1000.0));
                ("StartingPositionTimestamp", secs)
            }
            "parallelization_factor" => ("ParallelizationFactor", v.clone()),
            "maximum_retry_attempts" => ("MaximumRetryAttempts", v.clone()),
            "maximum_record_age_in_seconds" => ("MaximumRecordAgeInSeconds", v.clone()),
            "bisect_batch_on_function_error" => ("BisectBatchOnFunctionError", v.clone()),
            "function_response_types" => ("FunctionResponseTypes", v.clone()),
            "enabled" => ("Enabled", v.clone()),
            "event_source_arn" => ("EventSourceArn", v.clone()),
            "function_name" => ("FunctionName", v.clone()),
            "filter_criteria" => ("FilterCriteria", filter_criteria(v)),
            "destination_config" => ("DestinationConfig", v.clone()),
            // Booleans and numbers Terraform always writes, at values that change nothing.
            _ if v == &json!(false) || v == &json!(0) => continue,
            other => (other, v.clone()),
        };
        props.push(prop(name, value, at));
    }
    props
}

/// `filter_criteria = [{filter = [{pattern = "…"}]}]` as `{"Filters": [{"Pattern": "…"}]}`.
fn filter_criteria(v: &Value) -> Value {
    let filters: Vec<Value> = v
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["filter"].as_array().cloned().unwrap_or_default())
        .map(|f| json!({"Pattern": f["pattern"]}))
        .collect();
    json!({"Filters": filters})
}

fn function_for(all: &[Value], name: &str) -> Option<Function> {
    // `${aws_lambda_function.NAME.ATTR}` in a configuration names the resource itself.
    let reference = name
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .and_then(|r| r.rsplit_once('.'))
        .map(|(address, _)| address.to_owned());
    let short = name.rsplit(':').next().unwrap_or(name);
    let r = all.iter().find(|r| {
        r["type"] == "aws_lambda_function"
            && (r["values"]["function_name"] == short
                || r["values"]["arn"] == name
                || reference.as_deref() == r["address"].as_str())
    })?;
    let address = r["address"].as_str().unwrap_or_default();
    let v = &r["values"];
    let at = |k: &str| format!("{address}.values.{k}");
    let mut props = Vec::new();
    for (k, name) in [
        ("handler", "Handler"),
        ("runtime", "Runtime"),
        ("timeout", "Timeout"),
        ("function_name", "FunctionName"),
    ] {
        if let Some(x) = v.get(k).filter(|x| !empty(x)) {
            props.push(prop(name, x.clone(), at(k)));
        }
    }
    if let Some(vars) = v["environment"][0]["variables"].as_object() {
        props.push(prop(
            "Environment",
            json!({"Variables": vars}),
            at("environment"),
        ));
    }
    // The code as deployed: the directory of `filename` (a zip built from the handler files
    // next to it) or `source_dir`, relative to the template.
    let dir = v["source_dir"].as_str().map(str::to_owned).or_else(|| {
        let f = v["filename"].as_str()?;
        Some(std::path::Path::new(f).parent()?.display().to_string())
    });
    props.push(prop(
        "CodeUri",
        json!(dir.filter(|d| !d.is_empty()).unwrap_or_else(|| ".".into())),
        at("filename"),
    ));
    Some(Function {
        id: address.to_owned(),
        props,
    })
}
