//! A user's deployment template as the mapping and function tumblescope simulates: SAM and
//! CloudFormation (YAML or JSON, short intrinsic tags, `Globals`), and Terraform's JSON
//! (`terraform show -json`). Every property is read;
//! what cannot be simulated is named with the reason, never dropped.

mod cfn;
pub mod export;
pub mod intrinsic;
pub mod settings;
mod terraform;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::Source;
pub use intrinsic::Unresolved;

/// One property of a mapping or function as the template gives it, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Prop {
    /// The property's name (`BatchSize`).
    pub name: String,
    /// Its value with intrinsics resolved, or why it could not be.
    pub value: Result<Value, Unresolved>,
    /// Where it is: `Resources.SalesFn.Properties.Events.Stream.Properties.BatchSize`.
    pub at: String,
}

/// The function a mapping invokes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Function {
    /// Logical id.
    pub id: String,
    /// Its properties (Globals merged in, the function's own winning).
    pub props: Vec<Prop>,
}

impl Function {
    /// A property by name.
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }
}

/// One stream event source mapping found in the template.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// How `--mapping` names it: the SAM event's name, or the mapping resource's logical id.
    pub id: String,
    /// Kinesis or DynamoDB (from the event type or the stream ARN).
    pub source: Source,
    /// The mapping's properties.
    pub props: Vec<Prop>,
    /// The function it invokes, when the template defines it.
    pub function: Option<Function>,
}

impl Mapping {
    /// A property by name.
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }
}

/// A template's stream mappings, and what in it tumblescope cannot simulate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Template {
    /// The file.
    pub path: PathBuf,
    /// Stream mappings (Kinesis and DynamoDB).
    pub mappings: Vec<Mapping>,
    /// Other event sources and resources left out, each with the reason.
    pub skipped: Vec<String>,
}

/// Why a template could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The file cannot be read.
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What happened.
        message: String,
    },
    /// A syntax error.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// The file.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What was wrong.
        message: String,
    },
}

/// Reads a template file. `region` and `account` fill `AWS::Region` and `AWS::AccountId`.
pub fn load(path: &Path, region: &str, account: &str) -> Result<Template, TemplateError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| TemplateError::File {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let doc = yaml::parse(&text).map_err(|(line, column, message)| TemplateError::At {
        file: file.clone(),
        line,
        column,
        message,
    })?;
    let mut t = from_value(&doc, region, account).map_err(|message| TemplateError::File {
        file: file.clone(),
        message,
    })?;
    t.path = path.to_owned();
    Ok(t)
}

/// A parsed template document's mappings.
pub fn from_value(doc: &Value, region: &str, account: &str) -> Result<Template, String> {
    if doc.get("Resources").is_some() {
        return cfn::mappings(doc, region, account);
    }
    if terraform::is_terraform(doc) {
        return terraform::mappings(doc);
    }
    Err(
        "not a SAM or CloudFormation template (no \"Resources\") nor `terraform show -json` \
         output (no \"values\" or \"planned_values\")"
            .into(),
    )
}

impl Template {
    /// The mapping to simulate: the one named by `mapping` or whose function is `function`, or
    /// the only one. Otherwise the message lists the choice.
    pub fn pick(&self, function: Option<&str>, mapping: Option<&str>) -> Result<&Mapping, String> {
        let found: Vec<&Mapping> = self
            .mappings
            .iter()
            .filter(|m| mapping.is_none_or(|n| m.id == n))
            .filter(|m| function.is_none_or(|f| m.function.as_ref().is_some_and(|x| x.id == f)))
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] if self.mappings.is_empty() => Err(format!(
                "{}: no Kinesis or DynamoDB event source mapping in this template{}",
                self.path.display(),
                self.skipped_text()
            )),
            [] => Err(format!(
                "{}: no mapping matches{}{}; the template has {}",
                self.path.display(),
                function
                    .map(|f| format!(" --function {f}"))
                    .unwrap_or_default(),
                mapping
                    .map(|m| format!(" --mapping {m}"))
                    .unwrap_or_default(),
                self.choices()
            )),
            _ => Err(format!(
                "{}: the template has several stream mappings: {}; choose one with --mapping \
                 (or --function)",
                self.path.display(),
                self.choices()
            )),
        }
    }

    fn choices(&self) -> String {
        let list: Vec<String> = self
            .mappings
            .iter()
            .map(|m| match &m.function {
                Some(f) => format!("{} (function {}, {})", m.id, f.id, m.source.name()),
                None => format!("{} ({})", m.id, m.source.name()),
            })
            .collect();
        list.join(", ")
    }

    fn skipped_text(&self) -> String {
        if self.skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.skipped.join("; "))
        }
    }
}

/// Environment variables of a function's `Environment.Variables`, as text.
pub fn env_vars(value: &Value) -> BTreeMap<String, String> {
    let vars = value.get("Variables").and_then(Value::as_object);
    vars.into_iter()
        .flatten()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}
