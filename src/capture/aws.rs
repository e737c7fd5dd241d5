//! What every AWS call of a capture shares: the SDK configuration resolved as the AWS CLI
//! resolves it, and service errors turned into one line naming what to fix.

use aws_sdk_kinesis::config::ProvideCredentials as _;
use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::{Connection, Target};

/// A read that did not return records, by what the poller does next.
pub(super) enum Failure {
    /// Throttled: wait and read again.
    Throttled,
    /// The iterator expired (5 minutes unused): get a new one after the last record.
    Expired,
    /// Stop the capture with this message.
    Fatal(String),
}

/// Who and where, for messages.
#[derive(Clone)]
pub(super) struct Context {
    pub target: String,
    pub region: String,
    pub endpoint: Option<String>,
    /// The IAM actions a capture of this source needs, for "access denied".
    pub actions: &'static str,
}

impl Context {
    fn endpoint(&self) -> String {
        match &self.endpoint {
            Some(url) => url.clone(),
            None => format!("AWS in {}", self.region),
        }
    }

    /// One line for a failed call.
    pub fn failure<E>(&self, call: &str, e: &SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match e {
            SdkError::ServiceError(s) => {
                let err = s.err();
                let raw = s.raw();
                let body = raw
                    .body()
                    .bytes()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                // Some emulators answer a JSON service with an XML error (`<Code>…</Code>`).
                let code = err
                    .code()
                    .map(str::to_owned)
                    .or_else(|| xml_field(&body, "Code"))
                    .unwrap_or_else(|| match raw.status().as_u16() {
                        403 => "AccessDenied".into(),
                        404 => "ResourceNotFoundException".into(),
                        n => format!("HTTP {n}"),
                    });
                let msg = err
                    .message()
                    .map(str::to_owned)
                    .or_else(|| xml_field(&body, "Message"))
                    .unwrap_or_default();
                self.service_failure(call, &code, &msg)
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                let detail = DisplayErrorContext(e).to_string();
                if detail.contains("credentials") {
                    return Failure::Fatal(no_credentials(&detail));
                }
                Failure::Fatal(format!(
                    "cannot reach {} ({call}: {}); check --endpoint-url, --region and the network",
                    self.endpoint(),
                    last_cause(&detail)
                ))
            }
            other => Failure::Fatal(format!("{call}: {}", DisplayErrorContext(other))),
        }
    }

    fn service_failure(&self, call: &str, code: &str, msg: &str) -> Failure {
        let target = &self.target;
        match code {
            "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded" => Failure::Throttled,
            "ExpiredIteratorException" => Failure::Expired,
            "ResourceNotFoundException" => Failure::Fatal(format!(
                "{target} was not found at {}: check the name, --region and --profile ({call}: {msg})",
                self.endpoint()
            )),
            "AccessDeniedException" | "AccessDenied" => Failure::Fatal(format!(
                "access denied to {target} ({call}): the credentials need {} ({msg})",
                self.actions
            )),
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch" => Failure::Fatal(format!(
                "the AWS credentials were refused ({code}: {msg}): check --profile / AWS_PROFILE, \
                 or refresh them (`aws sso login`)"
            )),
            _ => Failure::Fatal(format!("{call} on {target}: {code}: {msg}")),
        }
    }
}

fn xml_field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{name}>"))?;
    Some(body[start..end].trim().to_owned())
}

/// The innermost cause of an SDK error chain ("Connection refused (os error 111)").
fn last_cause(detail: &str) -> &str {
    let detail = readable(detail);
    detail.rsplit(": ").next().unwrap_or(detail).trim()
}

fn no_credentials(detail: &str) -> String {
    let readable = readable(detail);
    // The chain's head ("an error occurred while loading credentials") says nothing new.
    let why = readable.split_once(": ").map_or(readable, |(_, rest)| rest);
    format!(
        "no AWS credentials: set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY, or sign in with `aws sso login` (last tried: {})",
        why.trim_end_matches('.')
    )
}

/// An SDK error's text without the `Debug` dump some of its causes append
/// (`... permissions. (ProviderError(ProviderError { source: ... }))`).
fn readable(detail: &str) -> &str {
    let text = match detail.find('{') {
        Some(brace) => detail[..brace]
            .rfind(" (")
            .map_or(&detail[..brace], |open| &detail[..open]),
        None => detail,
    };
    text.trim().trim_end_matches(':').trim()
}

/// The SDK configuration: the default chain (environment, `~/.aws/config` and `credentials`,
/// profiles, SSO, container and instance roles, `AWS_ENDPOINT_URL`) with the flags on top. Fails
/// early, before any read, without a region or credentials.
pub(super) async fn config(c: &Connection) -> Result<aws_config::SdkConfig, String> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &c.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &c.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(url) = &c.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(
            "no AWS region: pass --region, set AWS_REGION, or set a region in the profile \
             (~/.aws/config)"
                .into(),
        );
    }
    let Some(provider) = config.credentials_provider() else {
        return Err(no_credentials("no credentials provider"));
    };
    if let Err(e) = provider.provide_credentials().await {
        return Err(no_credentials(&DisplayErrorContext(&e).to_string()));
    }
    Ok(config)
}

/// The context for messages about this target.
pub(super) fn context(config: &aws_config::SdkConfig, c: &Connection, target: &Target) -> Context {
    Context {
        target: target.describe(),
        region: config.region().map(|r| r.to_string()).unwrap_or_default(),
        endpoint: c.endpoint_url.clone(),
        actions: match target {
            Target::Kinesis { .. } => {
                "kinesis:ListShards, kinesis:GetShardIterator and kinesis:GetRecords"
            }
            _ => {
                "dynamodb:DescribeTable, dynamodb:DescribeStream, dynamodb:GetShardIterator and \
                  dynamodb:GetRecords"
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_text_loses_the_debug_dump() {
        let sdk = "an error occurred while loading credentials: failed to load IMDS session \
                   token: service error: request forbidden: IMDS is disabled or the caller has \
                   insufficient permissions. (ProviderError(ProviderError { source: X { raw: \
                   Response { status: StatusCode(403) } } }))";
        let m = super::no_credentials(sdk);
        assert!(!m.contains('{') && !m.contains("ProviderError"), "{m}");
        assert!(
            m.ends_with(
                "(last tried: failed to load IMDS session token: service error: request \
                 forbidden: IMDS is disabled or the caller has insufficient permissions)"
            ),
            "{m}"
        );
        assert_eq!(
            super::last_cause("dispatch failure: io error: Connection refused (os error 111)"),
            "Connection refused (os error 111)"
        );
    }
}
