//! SAM and CloudFormation: `AWS::Serverless::Function` events of type `Kinesis` and `DynamoDB`,
//! and `AWS::Lambda::EventSourceMapping` with the function it names.

use serde_json::{Map, Value};

use super::intrinsic::{Scope, Unresolved};
use super::{Function, Mapping, Prop, Template};
use crate::model::Source;

/// Every stream mapping of a template document.
pub(super) fn mappings(doc: &Value, region: &str, account: &str) -> Result<Template, String> {
    let empty = Map::new();
    let part = |k: &str| doc.get(k).and_then(Value::as_object).unwrap_or(&empty);
    let resources = doc
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or("\"Resources\" must be a map of resources")?;
    let scope = Scope {
        parameters: part("Parameters"),
        resources,
        conditions: part("Conditions"),
        mappings: part("Mappings"),
        region,
        account,
    };
    let globals = doc["Globals"]["Function"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut t = Template::default();
    for (id, res) in resources {
        match res["Type"].as_str().unwrap_or_default() {
            "AWS::Serverless::Function" => {
                serverless_events(&scope, &globals, id, res, &mut t);
            }
            "AWS::Lambda::EventSourceMapping" => {
                if let Some(m) = mapping_resource(&scope, &globals, id, res, &mut t.skipped) {
                    t.mappings.push(m);
                }
            }
            _ => {}
        }
    }
    Ok(t)
}

fn props_of(scope: &Scope<'_>, props: &Map<String, Value>, at: &str) -> Vec<Prop> {
    props
        .iter()
        .map(|(name, v)| Prop {
            name: name.clone(),
            value: scope.resolve(v),
            at: format!("{at}.{name}"),
        })
        .collect()
}

/// A SAM or Lambda function with `Globals.Function` under its own properties.
fn function(scope: &Scope<'_>, globals: &Map<String, Value>, id: &str, res: &Value) -> Function {
    let own = res["Properties"].as_object().cloned().unwrap_or_default();
    let mut props = props_of(scope, &own, &format!("Resources.{id}.Properties"));
    if res["Type"] == "AWS::Serverless::Function" {
        let inherited: Map<String, Value> = globals
            .iter()
            .filter(|(k, _)| !own.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        props.extend(props_of(scope, &inherited, "Globals.Function"));
    }
    Function {
        id: id.to_owned(),
        props,
    }
}

fn serverless_events(
    scope: &Scope<'_>,
    globals: &Map<String, Value>,
    id: &str,
    res: &Value,
    t: &mut Template,
) {
    let Some(events) = res["Properties"]["Events"].as_object() else {
        return;
    };
    for (name, ev) in events {
        let kind = ev["Type"].as_str().unwrap_or_default();
        let source = match kind {
            "Kinesis" => Source::Kinesis,
            "DynamoDB" => Source::Dynamodb,
            other => {
                t.skipped.push(format!(
                    "{id} event {name} (type {other}): not a Kinesis or DynamoDB stream"
                ));
                continue;
            }
        };
        let props = ev["Properties"].as_object().cloned().unwrap_or_default();
        t.mappings.push(Mapping {
            id: name.clone(),
            source,
            props: props_of(
                scope,
                &props,
                &format!("Resources.{id}.Properties.Events.{name}.Properties"),
            ),
            function: Some(function(scope, globals, id, res)),
        });
    }
}

/// The logical id a `FunctionName` points at: `!Ref Fn`, `!GetAtt Fn.Arn`, or a literal name
/// or ARN matching a function's `FunctionName` or logical id.
fn function_target(scope: &Scope<'_>, raw: &Value) -> Option<String> {
    if let Some(r) = raw.get("Ref").and_then(Value::as_str) {
        return Some(r.to_owned());
    }
    if let Some(g) = raw.get("Fn::GetAtt").and_then(Value::as_array) {
        return g.first().and_then(Value::as_str).map(str::to_owned);
    }
    let name = scope.resolve(raw).ok()?;
    let name = name.as_str()?.rsplit(':').next()?.to_owned();
    scope.resources.iter().find_map(|(id, r)| {
        let named = scope.resolve(&r["Properties"]["FunctionName"]).ok();
        (id == &name || named.as_ref().and_then(Value::as_str) == Some(name.as_str()))
            .then(|| id.clone())
    })
}

fn mapping_resource(
    scope: &Scope<'_>,
    globals: &Map<String, Value>,
    id: &str,
    res: &Value,
    skipped: &mut Vec<String>,
) -> Option<Mapping> {
    let raw = res["Properties"].as_object().cloned().unwrap_or_default();
    let props = props_of(scope, &raw, &format!("Resources.{id}.Properties"));
    let arn = props.iter().find(|p| p.name == "EventSourceArn");
    let source = match arn.map(|p| &p.value) {
        Some(Ok(Value::String(a))) if a.contains(":kinesis:") => Source::Kinesis,
        Some(Ok(Value::String(a))) if a.contains(":dynamodb:") => Source::Dynamodb,
        Some(Ok(other)) => {
            skipped.push(format!(
                "{id}: EventSourceArn {other} is not a Kinesis or DynamoDB stream"
            ));
            return None;
        }
        Some(Err(Unresolved(why))) => {
            skipped.push(format!(
                "{id}: its EventSourceArn cannot be resolved ({why})"
            ));
            return None;
        }
        None => {
            skipped.push(format!("{id}: no EventSourceArn"));
            return None;
        }
    };
    let function = raw
        .get("FunctionName")
        .and_then(|f| function_target(scope, f))
        .and_then(|fid| {
            let r = scope.resources.get(&fid)?;
            Some(function(scope, globals, &fid, r))
        });
    Some(Mapping {
        id: id.to_owned(),
        source,
        props,
        function,
    })
}
