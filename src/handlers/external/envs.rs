//! Execution environments for a user's handler (SEMANTICS §14.6). Lambda runs concurrently
//! processed shards in different environments, so module-level variables are not shared
//! between them. By default each shard gets a runtime of its own, started when the shard first
//! invokes; `--shared-runtime` keeps one process for every shard. On AWS an environment is not
//! tied to a shard and is recycled every few hours: one per shard, and recycling after a number
//! of invocations or a simulated time, are modelling choices.
//!
//! The stand-in DynamoDB table is one table, as the real one is: before an environment
//! invokes, it applies the writes the others made since it last ran.

use super::{External, ExternalSpec};
use crate::handlers::{Handler, HandlerError, Invoked, Request, TableWrite};
use crate::model::settings::Settings;
use crate::model::stream::Stream;

struct Env {
    handler: External,
    /// The shard it serves (`None`: started at prepare, not yet assigned).
    shard: Option<usize>,
    invocations: u32,
    started_ms: Option<i64>,
    /// How much of the shared write log it has applied.
    synced: usize,
    /// Its number, from 1 in the order environments started.
    id: u32,
}

/// One runtime per shard (or one for all), with a shared stand-in table.
pub struct Environments {
    spec: ExternalSpec,
    shared: bool,
    cap: u32,
    recycle_after: u32,
    recycle_after_ms: i64,
    envs: Vec<Env>,
    log: Vec<TableWrite>,
    /// Environments started so far (recycled ones included).
    started: u32,
    /// Shards in the stream being run.
    shards: usize,
}

impl Environments {
    /// Environments for `spec` (nothing starts until `prepare`).
    pub fn new(spec: ExternalSpec) -> Self {
        Self {
            spec,
            shared: false,
            cap: 64,
            recycle_after: 0,
            recycle_after_ms: 0,
            envs: Vec::new(),
            log: Vec::new(),
            started: 0,
            shards: 0,
        }
    }

    fn key(&self, shard: usize) -> usize {
        if self.shared { 0 } else { shard }
    }

    /// The environment serving `shard`, started (or recycled) as needed.
    fn env_for(&mut self, req: &Request<'_>) -> Result<usize, HandlerError> {
        let key = self.key(req.shard);
        let found = self.envs.iter().position(|e| e.shard == Some(key));
        if let Some(k) = found {
            let e = &self.envs[k];
            let by_count = self.recycle_after > 0 && e.invocations >= self.recycle_after;
            let by_time = self.recycle_after_ms > 0
                && e.started_ms
                    .is_some_and(|t| req.at_ms - t >= self.recycle_after_ms);
            if !(by_count || by_time) {
                return Ok(k);
            }
            // Recycled: a new runtime takes its place, cold, with the table as it stands.
            self.envs[k] = self.start(req.stream, req.settings, Some(key))?;
            return Ok(k);
        }
        if let Some(k) = self.envs.iter().position(|e| e.shard.is_none()) {
            self.envs[k].shard = Some(key);
            return Ok(k);
        }
        if self.envs.len() >= self.cap as usize {
            return Err(HandlerError::new(
                "Tumblescope.EnvironmentLimit",
                format!(
                    "{} needs an execution environment of its own, but {} are running (the \
                     simulator's limit, one per shard): raise --max-environments or use \
                     --shared-runtime",
                    req.stream.shards[req.shard].id,
                    self.envs.len()
                ),
            ));
        }
        let env = self.start(req.stream, req.settings, Some(key))?;
        self.envs.push(env);
        Ok(self.envs.len() - 1)
    }

    fn start(
        &mut self,
        stream: &Stream,
        settings: &Settings,
        shard: Option<usize>,
    ) -> Result<Env, HandlerError> {
        let mut handler = External::new(self.spec.clone());
        handler
            .prepare(stream, settings)
            .map_err(|m| HandlerError::new("Runtime.ImportModuleError", m))?;
        self.started += 1;
        Ok(Env {
            handler,
            shard,
            invocations: 0,
            started_ms: None,
            synced: 0,
            id: self.started,
        })
    }
}

impl Handler for Environments {
    fn describe(&self) -> String {
        External::new(self.spec.clone()).describe()
    }

    /// Starts the first environment now, so a handler that does not load fails the run before
    /// it starts, as with one shared runtime.
    fn prepare(&mut self, stream: &Stream, settings: &Settings) -> Result<(), String> {
        self.shared = settings.shared_runtime;
        self.cap = settings.max_environments;
        self.recycle_after = settings.recycle_after_invocations;
        self.recycle_after_ms = i64::from(settings.recycle_after_s) * 1000;
        self.envs.clear();
        self.log.clear();
        self.started = 0;
        self.shards = stream.shards.len();
        let first = self
            .start(stream, settings, None)
            .map_err(|e| e.error_message)?;
        self.envs.push(first);
        Ok(())
    }

    fn invoke(&mut self, req: &Request<'_>) -> Invoked {
        let k = match self.env_for(req) {
            Ok(k) => k,
            Err(e) => return Invoked::err(e),
        };
        let env = &mut self.envs[k];
        env.handler.absorb(&self.log[env.synced..]);
        env.started_ms.get_or_insert(req.at_ms);
        env.invocations += 1;
        let mut inv = env.handler.invoke(req);
        inv.environment = Some(env.id);
        self.log.extend(inv.writes.iter().cloned());
        env.synced = self.log.len();
        inv
    }

    /// Environments for some of the shards, started as they first invoke. Each shard has its
    /// own, so a shard's runtime sees only its own requests; numbered per fork (the engine
    /// renumbers them in start order). Not with one runtime for every shard, nor when the
    /// environment limit would refuse some shard.
    fn fork(&self) -> Option<Box<dyn Handler>> {
        if self.shared || self.shards > self.cap as usize {
            return None;
        }
        Some(Box::new(Self {
            spec: self.spec.clone(),
            shared: false,
            cap: self.cap,
            recycle_after: self.recycle_after,
            recycle_after_ms: self.recycle_after_ms,
            envs: Vec::new(),
            log: Vec::new(),
            started: 0,
            shards: self.shards,
        }))
    }

    fn warnings(&self) -> Vec<String> {
        let mut w: Vec<String> = Vec::new();
        for e in &self.envs {
            for x in e.handler.warnings() {
                if !w.contains(&x) {
                    w.push(x);
                }
            }
        }
        w
    }
}
