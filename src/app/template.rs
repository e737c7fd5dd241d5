//! Reading a deployment template into the setup (File → Path → Open as template): the
//! mapping's settings, the function's handler, timeout and environment, and where each came
//! from, shown in the setup panel. Templates are a few kilobytes, read on the UI thread as
//! sessions are.

use std::path::PathBuf;

use super::{StatusLine, TumbleApp};
use crate::run::SourceSpec;

impl TumbleApp {
    /// `FILE` or `FILE#MAPPING`.
    pub(super) fn open_template(&mut self, spec: PathBuf) {
        let text = spec.display().to_string();
        let (path, mapping) = match text.rsplit_once('#') {
            Some((p, m)) => (PathBuf::from(p), Some(m.to_owned())),
            None => (spec, None),
        };
        let meta = &self.draft.meta;
        let t = match crate::template::load(&path, &meta.region, &meta.account) {
            Ok(t) => t,
            Err(e) => return self.status = StatusLine::error(e.to_string()),
        };
        let m = match t.pick(None, mapping.as_deref()) {
            Ok(m) => m,
            Err(e) => return self.status = StatusLine::error(format!("{e} (type FILE#MAPPING)")),
        };
        let a = match crate::template::settings::apply(m, &self.draft.settings, &[], &path) {
            Ok(a) => a,
            Err(errors) => {
                return self.status = StatusLine::error(format!(
                    "{} cannot be simulated as it is: {}",
                    path.display(),
                    errors.join("; ")
                ));
            }
        };
        let mut run = self.draft.clone();
        run.settings = a.settings.clone();
        run.stream_source = a.source;
        if let SourceSpec::Generated { options } = &mut run.source {
            options.source = a.source;
        }
        if let Some(name) = &a.stream_name {
            match a.source {
                crate::model::Source::Kinesis => run.meta.stream_name = name.clone(),
                crate::model::Source::Dynamodb => run.meta.table_name = name.clone(),
            }
        }
        if let Some(f) = &a.function_name {
            run.meta.function_name = f.clone();
        }
        if let Some(h) = &a.handler {
            run.handler = h.clone();
        } else if !run.handler.starts_with("builtin:") || a.source != self.draft.stream_source {
            run.handler = crate::handlers::default_spec(a.source).to_owned();
        }
        let count = a.origins.len();
        self.status = StatusLine::info(format!(
            "Read mapping {} from {}: {count} setting(s), listed in the setup panel under \"From the template\"",
            m.id,
            path.display()
        ));
        let needs_approval = crate::handlers::external::ExternalSpec::parse(&run.handler)
            .is_some_and(|e| !self.approved.contains(&e.path));
        self.setup = Default::default();
        self.setup.template_origins = a.origins;
        if needs_approval {
            self.awaiting_approval = Some(run);
        } else {
            self.draft = run;
            self.start_run();
        }
    }
}
