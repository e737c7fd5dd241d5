//! CloudFormation's intrinsic functions, resolved as far as a local run can: parameters take
//! their `Default`, pseudo parameters the stream's region and account, `Ref`/`GetAtt` of a
//! resource the name or ARN it would have. What depends on a deployment (`Fn::ImportValue`, a
//! parameter without a default) stays unresolved, with the reason, for the caller to name.

use serde_json::{Map, Value};

/// What a value could not be resolved to, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved(pub String);

/// The parts of a template intrinsics look things up in.
pub struct Scope<'a> {
    /// `Parameters`.
    pub parameters: &'a Map<String, Value>,
    /// `Resources`.
    pub resources: &'a Map<String, Value>,
    /// `Conditions`.
    pub conditions: &'a Map<String, Value>,
    /// `Mappings`.
    pub mappings: &'a Map<String, Value>,
    /// `AWS::Region`.
    pub region: &'a str,
    /// `AWS::AccountId`.
    pub account: &'a str,
}

impl Scope<'_> {
    /// `v` with every intrinsic resolved.
    pub fn resolve(&self, v: &Value) -> Result<Value, Unresolved> {
        self.resolve_depth(v, 0)
    }

    fn resolve_depth(&self, v: &Value, depth: u32) -> Result<Value, Unresolved> {
        if depth > 64 {
            return Err(Unresolved("intrinsics nest too deeply".into()));
        }
        match v {
            Value::Array(items) => items
                .iter()
                .map(|x| self.resolve_depth(x, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                if k == "Ref" || k.starts_with("Fn::") {
                    return self.function(k, arg, depth + 1);
                }
                self.object(m, depth)
            }
            Value::Object(m) => self.object(m, depth),
            other => Ok(other.clone()),
        }
    }

    fn object(&self, m: &Map<String, Value>, depth: u32) -> Result<Value, Unresolved> {
        let mut out = Map::new();
        for (k, x) in m {
            out.insert(k.clone(), self.resolve_depth(x, depth + 1)?);
        }
        Ok(Value::Object(out))
    }

    fn text(&self, v: &Value, depth: u32) -> Result<String, Unresolved> {
        match self.resolve_depth(v, depth)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(Unresolved(format!("expected text, got {other}"))),
        }
    }

    fn function(&self, name: &str, arg: &Value, depth: u32) -> Result<Value, Unresolved> {
        let list = |n: usize| -> Result<&Vec<Value>, Unresolved> {
            arg.as_array()
                .filter(|a| a.len() >= n)
                .ok_or_else(|| Unresolved(format!("{name} takes a list of {n}")))
        };
        match name {
            "Ref" => self.reference(&self.text(arg, depth)?),
            "Fn::GetAtt" => {
                let parts = list(2)?;
                let res = self.text(&parts[0], depth)?;
                let att = self.text(&parts[1], depth)?;
                self.attribute(&res, &att)
            }
            "Fn::Sub" => self.sub(arg, depth),
            "Fn::Join" | "Fn::Select" | "Fn::Split" | "Fn::FindInMap" => self.list_function(
                name,
                list(if name == "Fn::FindInMap" { 3 } else { 2 })?,
                depth,
            ),
            "Fn::If" => {
                let parts = list(3)?;
                let cond = self.text(&parts[0], depth)?;
                let pick = if self.condition(&cond, depth)? { 1 } else { 2 };
                self.resolve_depth(&parts[pick], depth)
            }
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => {
                self.boolean(name, arg, depth).map(Value::Bool)
            }
            "Fn::ImportValue" => Err(Unresolved(
                "Fn::ImportValue reads another stack's output, which only a deployment has".into(),
            )),
            other => Err(Unresolved(format!(
                "{other} is not resolved by tumblescope"
            ))),
        }
    }

    /// The functions that take a list of arguments and pick from or build lists.
    fn list_function(&self, name: &str, parts: &[Value], depth: u32) -> Result<Value, Unresolved> {
        match name {
            "Fn::Join" => {
                let sep = self.text(&parts[0], depth)?;
                let items = match self.resolve_depth(&parts[1], depth)? {
                    Value::Array(a) => a,
                    other => return Err(Unresolved(format!("Fn::Join needs a list, got {other}"))),
                };
                let texts: Result<Vec<String>, _> =
                    items.iter().map(|x| self.text(x, depth)).collect();
                Ok(Value::String(texts?.join(&sep)))
            }
            "Fn::Select" => {
                let i: usize = self
                    .text(&parts[0], depth)?
                    .parse()
                    .map_err(|_| Unresolved("Fn::Select needs an index".into()))?;
                match self.resolve_depth(&parts[1], depth)? {
                    Value::Array(a) => a
                        .get(i)
                        .cloned()
                        .ok_or_else(|| Unresolved(format!("Fn::Select index {i} is out of range"))),
                    other => Err(Unresolved(format!("Fn::Select needs a list, got {other}"))),
                }
            }
            "Fn::Split" => {
                let sep = self.text(&parts[0], depth)?;
                let s = self.text(&parts[1], depth)?;
                Ok(Value::Array(
                    s.split(sep.as_str()).map(Value::from).collect(),
                ))
            }
            "Fn::FindInMap" => {
                let keys: Result<Vec<String>, _> =
                    parts.iter().take(3).map(|x| self.text(x, depth)).collect();
                let keys = keys?;
                self.mappings
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                    .map(|v| self.resolve_depth(v, depth))
                    .unwrap_or_else(|| {
                        Err(Unresolved(format!(
                            "Fn::FindInMap {keys:?} is not in Mappings"
                        )))
                    })
            }
            other => Err(Unresolved(format!("{other} is not a list function"))),
        }
    }

    fn reference(&self, name: &str) -> Result<Value, Unresolved> {
        match name {
            "AWS::Region" => return Ok(Value::from(self.region)),
            "AWS::AccountId" => return Ok(Value::from(self.account)),
            "AWS::Partition" => return Ok(Value::from("aws")),
            "AWS::StackName" => return Ok(Value::from("tumblescope-stack")),
            "AWS::URLSuffix" => return Ok(Value::from("amazonaws.com")),
            "AWS::NoValue" => return Ok(Value::Null),
            _ => {}
        }
        if let Some(p) = self.parameters.get(name) {
            return p.get("Default").cloned().ok_or_else(|| {
                Unresolved(format!(
                    "parameter {name} has no Default (give the value as a flag)"
                ))
            });
        }
        let Some(res) = self.resources.get(name) else {
            return Err(Unresolved(format!(
                "Ref {name}: no parameter or resource of that name"
            )));
        };
        // Ref of a resource: its physical name (the name property, else the logical id).
        let props = &res["Properties"];
        let named = [
            "FunctionName",
            "Name",
            "TableName",
            "QueueName",
            "TopicName",
        ]
        .iter()
        .find_map(|k| props.get(*k));
        match named {
            Some(v) => self.resolve(v),
            None => Ok(Value::from(name)),
        }
    }

    fn attribute(&self, res: &str, att: &str) -> Result<Value, Unresolved> {
        let Some(r) = self.resources.get(res) else {
            return Err(Unresolved(format!("GetAtt {res}.{att}: no resource {res}")));
        };
        let name = self.text(
            &Value::Object(Map::from_iter([("Ref".into(), Value::from(res))])),
            0,
        )?;
        let kind = r["Type"].as_str().unwrap_or_default();
        let (region, account) = (self.region, self.account);
        let arn = match (kind, att) {
            ("AWS::Kinesis::Stream", "Arn") => {
                format!("arn:aws:kinesis:{region}:{account}:stream/{name}")
            }
            ("AWS::DynamoDB::Table", "StreamArn") => format!(
                "arn:aws:dynamodb:{region}:{account}:table/{name}/stream/2026-01-01T00:00:00.000"
            ),
            ("AWS::Lambda::Function" | "AWS::Serverless::Function", "Arn") => {
                format!("arn:aws:lambda:{region}:{account}:function:{name}")
            }
            ("AWS::SQS::Queue", "Arn") => format!("arn:aws:sqs:{region}:{account}:{name}"),
            ("AWS::SNS::Topic", "TopicArn" | "Arn") => {
                format!("arn:aws:sns:{region}:{account}:{name}")
            }
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            _ => {
                return Err(Unresolved(format!(
                    "GetAtt {res}.{att} of a {kind} is not known here"
                )));
            }
        };
        Ok(Value::from(arn))
    }

    fn sub(&self, arg: &Value, depth: u32) -> Result<Value, Unresolved> {
        let (template, vars) = match arg {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Array(a) if a.len() == 2 => (
                self.text(&a[0], depth)?,
                self.resolve_depth(&a[1], depth)?
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            other => return Err(Unresolved(format!("Fn::Sub takes text, got {other}"))),
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            if let Some(lit) = after.strip_prefix('!') {
                out.push_str("${");
                rest = lit;
                continue;
            }
            let end = after
                .find('}')
                .ok_or_else(|| Unresolved(format!("Fn::Sub {template:?}: unclosed ${{")))?;
            let name = &after[..end];
            let value = match vars.get(name) {
                Some(v) => self.text(v, depth)?,
                None => match name.split_once('.') {
                    Some((r, a)) if !name.starts_with("AWS::") => {
                        self.text(&self.attribute(r, a)?, depth)?
                    }
                    _ => self.text(&self.reference(name)?, depth)?,
                },
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    fn condition(&self, name: &str, depth: u32) -> Result<bool, Unresolved> {
        let c = self
            .conditions
            .get(name)
            .ok_or_else(|| Unresolved(format!("condition {name} is not in Conditions")))?;
        match self.resolve_depth(c, depth + 1)? {
            Value::Bool(b) => Ok(b),
            other => Err(Unresolved(format!(
                "condition {name} is {other}, not true or false"
            ))),
        }
    }

    fn boolean(&self, name: &str, arg: &Value, depth: u32) -> Result<bool, Unresolved> {
        let items = arg.as_array().cloned().unwrap_or_default();
        let truth = |x: &Value| -> Result<bool, Unresolved> {
            match x {
                Value::Object(m) if m.contains_key("Condition") => {
                    self.condition(&self.text(&m["Condition"], depth)?, depth)
                }
                other => match self.resolve_depth(other, depth)? {
                    Value::Bool(b) => Ok(b),
                    v => Err(Unresolved(format!("{name} needs conditions, got {v}"))),
                },
            }
        };
        match name {
            "Fn::Equals" if items.len() == 2 => Ok(
                self.resolve_depth(&items[0], depth)? == self.resolve_depth(&items[1], depth)?
            ),
            "Fn::Not" if items.len() == 1 => Ok(!truth(&items[0])?),
            "Fn::And" => items.iter().try_fold(true, |acc, x| Ok(acc && truth(x)?)),
            "Fn::Or" => items.iter().try_fold(false, |acc, x| Ok(acc || truth(x)?)),
            _ => Err(Unresolved(format!(
                "{name} has the wrong number of arguments"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope_of(t: &Value) -> Scope<'_> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let empty = EMPTY.get_or_init(Map::new);
        let part = |k: &str| t.get(k).and_then(Value::as_object).unwrap_or(empty);
        Scope {
            parameters: part("Parameters"),
            resources: part("Resources"),
            conditions: part("Conditions"),
            mappings: part("Mappings"),
            region: "eu-west-1",
            account: "111122223333",
        }
    }

    #[test]
    fn refs_subs_getatts_conditions_and_maps_resolve() {
        let t = json!({
            "Parameters": {"Env": {"Type": "String", "Default": "prod"}, "NoDefault": {"Type": "String"}},
            "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
            "Mappings": {"Sizes": {"prod": {"Batch": 500}}},
            "Resources": {
                "Orders": {"Type": "AWS::Kinesis::Stream", "Properties": {"Name": {"Fn::Sub": "orders-${Env}"}}},
                "Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}
            }
        });
        let s = scope_of(&t);
        let r = |v: Value| s.resolve(&v);
        assert_eq!(r(json!({"Ref": "Env"})).unwrap(), json!("prod"));
        assert_eq!(
            r(json!({"Fn::GetAtt": ["Orders", "Arn"]})).unwrap(),
            json!("arn:aws:kinesis:eu-west-1:111122223333:stream/orders-prod")
        );
        assert_eq!(
            r(json!({"Fn::Sub": "${AWS::Region}/${Fn.Arn}"})).unwrap(),
            json!("eu-west-1/arn:aws:lambda:eu-west-1:111122223333:function:Fn")
        );
        assert_eq!(
            r(json!({"Fn::If": ["IsProd", 10, 100]})).unwrap(),
            json!(10)
        );
        assert_eq!(
            r(json!({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Batch"]})).unwrap(),
            json!(500)
        );
        assert_eq!(
            r(json!({"Fn::Join": ["-", ["a", {"Ref": "Env"}]]})).unwrap(),
            json!("a-prod")
        );
        assert_eq!(
            r(json!({"Fn::Select": [1, {"Fn::Split": [",", "x,y"]}]})).unwrap(),
            json!("y")
        );
        assert_eq!(
            r(json!({"Fn::Sub": "${!Literal}"})).unwrap(),
            json!("${Literal}")
        );
        let e = r(json!({"Ref": "NoDefault"})).unwrap_err();
        assert!(e.0.contains("no Default"), "{e:?}");
        assert!(
            r(json!({"Fn::ImportValue": "x"}))
                .unwrap_err()
                .0
                .contains("another stack")
        );
    }
}
