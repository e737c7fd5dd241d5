//! Find, go-to and the invocation table, on the app's side: sending requests to the find
//! worker, and what its answers change (matches shown, selection, view).

use super::command::AppCommand;
use super::finder::{Answer, Ask};
use super::panels::find::Mode;
use super::panels::timeline::fit_view;
use super::panels::timeline::view::TimeView;
use super::{StatusLine, TumbleApp};

impl TumbleApp {
    /// Find-bar commands.
    pub(super) fn apply_find(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::ShowFind | AppCommand::ShowGoTo => {
                self.find.open = true;
                self.find.focus = true;
                self.find.mode = if cmd == AppCommand::ShowFind {
                    Mode::Find
                } else {
                    Mode::GoTo
                };
            }
            AppCommand::CloseFind => self.find.open = false,
            AppCommand::SearchFor(text) => {
                self.find.text = text.clone();
                self.find.current = None;
                if let Some(run) = &self.run {
                    self.finder.ask(Ask::Search(text), run);
                }
            }
            AppCommand::FindStep(step) => self.find_step(step),
            AppCommand::ShowMatch(i) => self.show_match(i),
            AppCommand::GoTo(text) => {
                let shard = self.selected_shard();
                if let Some(run) = &self.run {
                    self.finder.ask(Ask::GoTo(text, shard), run);
                }
            }
            AppCommand::QueryTable(q) => {
                if let Some(run) = &self.run {
                    self.finder.ask(Ask::Table(q), run);
                }
            }
            _ => {}
        }
    }

    fn selected_shard(&self) -> usize {
        let run = self.run.as_ref();
        self.selected
            .and_then(|k| run?.trace.invocations.get(k as usize))
            .map_or(0, |i| i.shard as usize)
    }

    fn find_step(&mut self, step: i32) {
        if !self.find.open {
            self.find.open = true;
        }
        let n = self.find.matches.as_ref().map_or(0, |m| m.records.len());
        if n == 0 {
            return;
        }
        let next = match (self.find.current, step >= 0) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(c), true) => (c + 1) % n,
            (Some(c), false) => (c + n - 1) % n,
        };
        self.show_match(next);
    }

    /// Selects the invocation that delivered match `i` and brings its record into view.
    fn show_match(&mut self, i: usize) {
        let (Some(run), Some(m)) = (&self.run, &self.find.matches) else {
            return;
        };
        let Some(&r) = m.records.get(i) else { return };
        let r = r as usize;
        self.find.current = Some(i);
        let t = run.stream.ts_ms[r];
        let said = match run.index.delivered_by[r] {
            u32::MAX => format!(
                "Match {} of {}: record not delivered",
                i + 1,
                m.records.len()
            ),
            k => {
                self.selected = Some(k);
                format!(
                    "Match {} of {}: record {} on shard {}, delivered by invocation {}",
                    i + 1,
                    m.records.len(),
                    run.stream.seq(r),
                    run.stream.shard_of(r),
                    k + 1
                )
            }
        };
        self.status = StatusLine::info(said);
        self.bring_into_view(t);
    }

    /// Pans (keeping the zoom) so `t` is on screen, a quarter in from the left.
    fn bring_into_view(&mut self, t: i64) {
        let Some(run) = &self.run else { return };
        let view = self.view.unwrap_or_else(|| fit_view(run));
        let (t0, t1) = view.range_ms();
        if (t0..=t1).contains(&t) {
            return;
        }
        self.view = Some(TimeView {
            min_ms: t as f64 - view.span_ms * 0.25,
            span_ms: view.span_ms,
        });
    }

    /// Answers from the find worker.
    pub(super) fn find_answered(&mut self, answer: Answer) {
        match answer {
            Answer::Search(result, took) => {
                self.find.took = Some(took);
                match result {
                    Ok(m) => {
                        self.find.error = None;
                        self.find.matches = m;
                        if std::mem::take(&mut self.find_first_when_found) {
                            self.show_match(0);
                        }
                    }
                    Err(e) => {
                        self.find.error = Some(e);
                        self.find.matches = None;
                    }
                }
            }
            Answer::GoTo(Ok(landing)) => {
                self.find.error = None;
                if landing.select.is_some() {
                    self.selected = landing.select;
                }
                self.bring_into_view(landing.at_ms);
                self.status = StatusLine::info(format!("Went to {}", landing.said));
            }
            Answer::GoTo(Err(e)) => self.find.error = Some(e),
            Answer::Table(rows) => self.plots.table.rows = Some(rows),
            Answer::Compare(c) => self.plots.set_comparison(c),
        }
    }

    /// A new run: searches and the table are asked again on it.
    pub(super) fn refresh_finds(&mut self) {
        let Some(run) = &self.run else { return };
        if !self.find.text.trim().is_empty() {
            self.finder.ask(Ask::Search(self.find.text.clone()), run);
        }
        self.find.current = None;
        self.plots.table.rows = None;
        self.plots.table.asked = None;
    }

    /// Asks for the comparison of the pinned run with the shown one when either, or the
    /// plotted value, changed.
    pub(super) fn sync_compare(&mut self) {
        let (Some(a), Some(b)) = (&self.pinned, &self.run) else {
            return;
        };
        let path = self.plots.current_path(b);
        let key = (a.generation, b.generation, path.clone());
        if self.plots.compared.as_ref() == Some(&key) {
            return;
        }
        self.plots.compared = Some(key);
        self.plots.comparison = None;
        self.finder.ask(Ask::Compare(Box::new(a.clone()), path), b);
    }

    /// Whether a search is awaited.
    pub(super) fn searching(&self) -> bool {
        self.finder.pending(&Ask::Search(String::new()))
    }
}
