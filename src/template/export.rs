//! Settings out as a deployable template: SAM (YAML), CloudFormation (JSON) or Terraform
//! (`.tf.json`), deploying the same mapping (settings, filters) and its function. `--template`
//! reads each back to the same settings.

use serde_json::{Map, Value, json};

use crate::model::Source;
use crate::model::position::StartingPosition;
use crate::model::settings::Settings;
use crate::model::stream::StreamMeta;

/// The three formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateFormat {
    /// `AWS::Serverless::Function` with a stream event, YAML.
    Sam,
    /// `AWS::Lambda::EventSourceMapping`, `AWS::Lambda::Function` and its role, JSON.
    Cloudformation,
    /// `aws_lambda_event_source_mapping` and `aws_lambda_function`, `.tf.json`.
    Terraform,
}

/// What is exported: the mapping's settings, the stream it reads, and the function.
pub struct Deployment<'a> {
    /// Settings.
    pub settings: &'a Settings,
    /// Kinesis or DynamoDB.
    pub source: Source,
    /// Names and ARNs.
    pub meta: &'a StreamMeta,
    /// A user handler (`path[:export]`), or `None` for a built-in (code to supply).
    pub handler: Option<crate::handlers::external::ExternalSpec>,
}

impl Deployment<'_> {
    fn stream_arn(&self) -> String {
        match self.source {
            Source::Kinesis => self.meta.kinesis_arn(),
            Source::Dynamodb => self.meta.dynamodb_arn(crate::generate::DEFAULT_START_MS),
        }
    }

    /// The mapping's properties, CloudFormation names, only where they say something.
    fn mapping_props(&self) -> Map<String, Value> {
        let s = self.settings;
        let mut m = Map::new();
        let position = match s.starting_position {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
            StartingPosition::AtTimestamp => "AT_TIMESTAMP",
        };
        m.insert("StartingPosition".into(), json!(position));
        if let (StartingPosition::AtTimestamp, Some(ms)) =
            (s.starting_position, s.starting_position_timestamp_ms)
        {
            m.insert(
                "StartingPositionTimestamp".into(),
                json!(ms as f64 / 1000.0),
            );
        }
        m.insert("BatchSize".into(), json!(s.batch_size));
        m.insert(
            "MaximumBatchingWindowInSeconds".into(),
            json!(s.max_batching_window_s),
        );
        m.insert("TumblingWindowInSeconds".into(), json!(s.tumbling_window_s));
        m.insert(
            "ParallelizationFactor".into(),
            json!(s.parallelization_factor),
        );
        m.insert("MaximumRetryAttempts".into(), json!(s.max_retry_attempts));
        m.insert(
            "MaximumRecordAgeInSeconds".into(),
            json!(s.max_record_age_s),
        );
        m.insert(
            "BisectBatchOnFunctionError".into(),
            json!(s.bisect_on_error),
        );
        if s.report_batch_item_failures {
            m.insert(
                "FunctionResponseTypes".into(),
                json!(["ReportBatchItemFailures"]),
            );
        }
        if !s.filters.is_empty() {
            let filters: Vec<Value> = s.filters.iter().map(|p| json!({"Pattern": p})).collect();
            m.insert("FilterCriteria".into(), json!({"Filters": filters}));
        }
        m
    }

    fn runtime(&self) -> &'static str {
        match &self.handler {
            Some(h) if h.runtime == crate::handlers::external::Runtime::Python => "python3.12",
            _ => "nodejs20.x",
        }
    }

    /// `Handler` and the code directory, relative to the directory the template goes to.
    fn code(&self) -> (String, String) {
        match &self.handler {
            Some(h) => {
                let module = h
                    .path
                    .file_stem()
                    .map(|m| m.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let dir = h
                    .path
                    .parent()
                    .map(|d| d.display().to_string())
                    .filter(|d| !d.is_empty());
                (
                    format!("{module}.{}", h.export),
                    dir.unwrap_or_else(|| ".".into()),
                )
            }
            None => ("index.handler".into(), "./src".into()),
        }
    }

    fn timeout_s(&self) -> u32 {
        self.settings.timeout_ms.div_ceil(1000).clamp(1, 900)
    }

    /// The template in `format`, as text.
    pub fn render(&self, format: TemplateFormat) -> String {
        match format {
            TemplateFormat::Sam => {
                let doc = self.sam();
                let yaml = serde_norway::to_string(&doc).unwrap_or_default();
                format!(
                    "# Written by tumblescope export-template: the mapping as simulated.\n{yaml}"
                )
            }
            TemplateFormat::Cloudformation => pretty(&self.cloudformation()),
            TemplateFormat::Terraform => pretty(&self.terraform()),
        }
    }

    fn environment(&self) -> Option<Value> {
        let env = &self.settings.function_env;
        (!env.is_empty()).then(|| json!({"Variables": env}))
    }

    fn sam(&self) -> Value {
        let (handler, code) = self.code();
        let kind = match self.source {
            Source::Kinesis => "Kinesis",
            Source::Dynamodb => "DynamoDB",
        };
        let mut event = self.mapping_props();
        event.insert("Stream".into(), json!(self.stream_arn()));
        let mut props = json!({
            "FunctionName": self.meta.function_name,
            "Runtime": self.runtime(),
            "Handler": handler,
            "CodeUri": code,
            "Timeout": self.timeout_s(),
            "Events": {"Stream": {"Type": kind, "Properties": event}},
        });
        if let Some(e) = self.environment() {
            props["Environment"] = e;
        }
        json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {"Aggregator": {"Type": "AWS::Serverless::Function", "Properties": props}},
        })
    }

    fn policy(&self) -> &'static str {
        match self.source {
            Source::Kinesis => "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole",
            Source::Dynamodb => {
                "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"
            }
        }
    }

    fn cloudformation(&self) -> Value {
        let (handler, _) = self.code();
        let mut mapping = self.mapping_props();
        mapping.insert("EventSourceArn".into(), json!(self.stream_arn()));
        mapping.insert("FunctionName".into(), json!({"Ref": "Aggregator"}));
        let mut function = json!({
            "FunctionName": self.meta.function_name,
            "Runtime": self.runtime(),
            "Handler": handler,
            "Code": {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}},
            "Role": {"Fn::GetAtt": ["AggregatorRole", "Arn"]},
            "Timeout": self.timeout_s(),
        });
        if let Some(e) = self.environment() {
            function["Environment"] = e;
        }
        json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "Written by tumblescope export-template: the mapping as simulated.",
            "Parameters": {
                "CodeBucket": {"Type": "String", "Description": "S3 bucket of the function's zip"},
                "CodeKey": {"Type": "String", "Description": "S3 key of the function's zip"},
            },
            "Resources": {
                "AggregatorRole": {"Type": "AWS::IAM::Role", "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole"}]},
                    "ManagedPolicyArns": [self.policy()],
                }},
                "Aggregator": {"Type": "AWS::Lambda::Function", "Properties": function},
                "WindowedMapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping},
            },
        })
    }

    fn terraform(&self) -> Value {
        let (handler, code) = self.code();
        let s = self.settings;
        let mut mapping = json!({
            "event_source_arn": self.stream_arn(),
            "function_name": "${aws_lambda_function.aggregator.arn}",
        });
        for (k, v) in self.mapping_props() {
            let key = match k.as_str() {
                "StartingPosition" => "starting_position",
                "StartingPositionTimestamp" => {
                    let ms = s.starting_position_timestamp_ms.unwrap_or(0);
                    mapping["starting_position_timestamp"] =
                        json!(crate::model::iso_millis(ms).replace(".000Z", "Z"));
                    continue;
                }
                "BatchSize" => "batch_size",
                "MaximumBatchingWindowInSeconds" => "maximum_batching_window_in_seconds",
                "TumblingWindowInSeconds" => "tumbling_window_in_seconds",
                "ParallelizationFactor" => "parallelization_factor",
                "MaximumRetryAttempts" => "maximum_retry_attempts",
                "MaximumRecordAgeInSeconds" => "maximum_record_age_in_seconds",
                "BisectBatchOnFunctionError" => "bisect_batch_on_function_error",
                "FunctionResponseTypes" => "function_response_types",
                "FilterCriteria" => {
                    let filters: Vec<Value> =
                        s.filters.iter().map(|p| json!({"pattern": p})).collect();
                    mapping["filter_criteria"] = json!({"filter": filters});
                    continue;
                }
                _ => continue,
            };
            mapping[key] = v;
        }
        let mut function = json!({
            "function_name": self.meta.function_name,
            "runtime": self.runtime(),
            "handler": handler,
            "filename": format!("{code}/function.zip"),
            "role": "${aws_iam_role.aggregator.arn}",
            "timeout": self.timeout_s(),
        });
        if !s.function_env.is_empty() {
            function["environment"] = json!({"variables": s.function_env});
        }
        json!({
            "resource": {
                "aws_iam_role": {"aggregator": {
                    "name": format!("{}-role", self.meta.function_name),
                    "assume_role_policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}",
                    "managed_policy_arns": [self.policy()],
                }},
                "aws_lambda_function": {"aggregator": function},
                "aws_lambda_event_source_mapping": {"tumblescope": mapping},
            }
        })
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}
