//! The JSON-lines protocol with the harness: the `invoke` message, and a `result` turned into
//! what the invocation produced.

use serde_json::Value;

use super::External;
use crate::handlers::event::{EventContext, MAX_PAYLOAD_BYTES, write_event, write_kinesis_compact};
use crate::handlers::sandbox::{LogSink, StablePaths};
use crate::handlers::{HandlerError, Invoked, Request, Response, TableWrite};

impl External {
    /// The outgoing `invoke` message for a request, into the reused buffer.
    pub(super) fn invoke_message(&mut self, req: &Request<'_>) -> Vec<u8> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.extend_from_slice(b"{\"type\":\"invoke\",\"id\":");
        line.extend_from_slice(req.n.to_string().as_bytes());
        line.extend_from_slice(b",\"requestId\":\"");
        line.extend_from_slice(req.request_id().as_bytes());
        line.extend_from_slice(b"\",\"deadlineMs\":");
        line.extend_from_slice(
            (now_ms + self.timeout.as_millis() as u64)
                .to_string()
                .as_bytes(),
        );
        line.extend_from_slice(b",\"simMs\":");
        line.extend_from_slice(req.at_ms.to_string().as_bytes());
        line.extend_from_slice(b",\"functionName\":");
        crate::json::write::json_str(&mut line, &self.function_name);
        line.extend_from_slice(b",\"functionArn\":");
        crate::json::write::json_str(&mut line, &self.function_arn);
        line.push(b',');
        // Straight into the message buffer, reused across invocations.
        let fresh;
        let ctx = match &self.ctx {
            Some(ctx) => ctx,
            None => {
                fresh = EventContext::new(req.stream, req.settings.seed);
                &fresh
            }
        };
        // Both harnesses rebuild Kinesis events from a shorter form (see
        // `write_kinesis_compact`); everything else goes as the event itself.
        if !write_kinesis_compact(req, ctx, &mut line) {
            line.extend_from_slice(b"\"event\":");
            write_event(req, ctx, &mut line);
        }
        line.extend_from_slice(b"}\n");
        line
    }

    /// The invocation's outcome from its `result` message.
    pub(super) fn result_of(&mut self, v: &Value, mut logs: LogSink) -> Invoked {
        let writes: Vec<TableWrite> = v["writes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|w| serde_json::from_value::<TableWrite>(w.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        self.writes.extend(writes.iter().cloned());
        logs.add_dropped(v["droppedLogBytes"].as_u64().unwrap_or(0));
        let result = if v["ok"].as_bool() == Some(true) {
            let response = v.get("response").cloned().unwrap_or(Value::Null);
            let size = crate::model::state::compact_len(&response);
            if size > MAX_PAYLOAD_BYTES {
                Err(too_large(size as u64))
            } else {
                Ok(Response::from_json(response))
            }
        } else {
            Err(self.paths.error(handler_error(&v["error"])))
        };
        Invoked {
            result,
            logs: logs.finish(),
            writes,
            measured_us: v["durationUs"].as_u64(),
            timed_out: false,
            cold_start: false,
            environment: None,
            deferred_write: false,
            table_read: false,
        }
    }
}

pub(super) fn too_large(size: u64) -> HandlerError {
    HandlerError::new(
        "Function.ResponseSizeTooLarge",
        format!(
            "Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
        ),
    )
}

pub(super) fn strings<'v>(
    v: &'v Value,
    paths: &'v StablePaths,
) -> impl Iterator<Item = String> + 'v {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(|l| paths.apply(l)))
}

pub(super) fn handler_error(v: &Value) -> HandlerError {
    HandlerError {
        error_type: v["errorType"].as_str().unwrap_or("Error").to_owned(),
        error_message: v["errorMessage"].as_str().unwrap_or_default().to_owned(),
        // Paths are made stable by the caller ([`StablePaths::error`]).
        stack_trace: v["stackTrace"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
    }
}
