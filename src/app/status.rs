//! The status bar: the latest message, what it was about and for how long it matters, the
//! messages before it, and the progress of the job in flight.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use egui::Ui;

use super::command::AppCommand;
use super::jobs::JobProgress;
use super::theme::Palette;

/// A passing message (a file written, a run cancelled) gives way to the summary of the run
/// on screen after this long; errors stay until dismissed or replaced.
pub const INFO_LASTS: Duration = Duration::from_secs(12);

/// Messages kept in the status bar's history.
const HISTORY: usize = 50;

/// A status-bar message.
#[derive(Clone, Debug)]
pub struct StatusLine {
    /// Text.
    pub text: String,
    /// Shown as an error.
    pub is_error: bool,
    /// When it was said.
    pub at: Instant,
}

impl Default for StatusLine {
    fn default() -> Self {
        Self::info("")
    }
}

impl StatusLine {
    /// A message.
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: false,
            at: Instant::now(),
        }
    }

    /// An error.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: true,
            at: Instant::now(),
        }
    }

    /// A message from a worker: an error when it starts with "error:".
    pub fn from_worker(text: String) -> Self {
        if text.starts_with("error:") {
            Self::error(text)
        } else {
            Self::info(text)
        }
    }
}

/// What the status bar remembers between frames.
#[derive(Default)]
pub struct StatusBar {
    /// The summary of the run on screen (what a passing message gives way to).
    pub summary: String,
    /// Earlier messages, newest first.
    pub history: VecDeque<StatusLine>,
    /// The full message and the history are unfolded.
    pub expanded: bool,
    last_logged: Option<Instant>,
}

impl StatusBar {
    /// Records `status` in the history the first frame it is shown.
    pub fn log(&mut self, status: &StatusLine) {
        if self.last_logged == Some(status.at) || status.text.is_empty() {
            return;
        }
        self.last_logged = Some(status.at);
        self.history.push_front(status.clone());
        self.history.truncate(HISTORY);
    }

    /// What the bar shows now: the message, or the run's summary once a passing message has
    /// had its time (and was not itself the summary).
    pub fn shown<'a>(&'a self, status: &'a StatusLine, now: Instant) -> (&'a str, bool) {
        let stale = !status.is_error && now.duration_since(status.at) > INFO_LASTS;
        if stale && !self.summary.is_empty() {
            (&self.summary, false)
        } else {
            (&status.text, status.is_error)
        }
    }
}

/// The job in flight: a progress bar with what it has done and for how long, and Cancel.
pub fn progress_ui(
    ui: &mut Ui,
    started: Instant,
    progress: Option<JobProgress>,
    cmds: &mut Vec<AppCommand>,
) {
    // Short jobs finish before a bar would be read; show it after a moment.
    if started.elapsed() > Duration::from_millis(150) {
        let (frac, text) = match progress {
            Some(p) => (
                p.done as f32 / p.total.max(1) as f32,
                p.describe(started.elapsed()),
            ),
            None => (0.0, format!("Starting, {} s", started.elapsed().as_secs())),
        };
        ui.add(egui::ProgressBar::new(frac).desired_width(360.0).text(text));
        if ui.button("Cancel").clicked() {
            cmds.push(AppCommand::Cancel);
        }
    } else {
        ui.spinner();
    }
    ui.ctx().request_repaint_after(Duration::from_millis(100));
}

/// One line of message, cut to the bar's width; "More" unfolds the whole message and the
/// ones before it, an error has "Dismiss".
pub fn message_ui(
    ui: &mut Ui,
    bar: &mut StatusBar,
    (text, is_error): (&str, bool),
    pal: &Palette,
) -> bool {
    let mut dismiss = false;
    let color = if is_error {
        pal.error
    } else {
        ui.visuals().text_color()
    };
    let font = egui::TextStyle::Body.resolve(ui.style());
    let wide = ui.fonts_mut(|f| f.layout_no_wrap(text.to_owned(), font, color).size().x);
    let buttons = if is_error { 150.0 } else { 70.0 };
    let cut = wide > ui.available_width() - buttons;
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        if is_error && ui.small_button("Dismiss").clicked() {
            dismiss = true;
        }
        let more = if bar.expanded { "Less" } else { "More" };
        if (cut || bar.expanded || bar.history.len() > 1)
            && ui
                .small_button(more)
                .on_hover_text("The whole message and the ones before it")
                .clicked()
        {
            bar.expanded = !bar.expanded;
        }
        ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
            let label = egui::Label::new(egui::RichText::new(text).color(color)).truncate();
            ui.add(label);
        });
    });
    dismiss
}

/// The whole message, wrapped, and the earlier ones with their age.
pub fn expanded_ui(ui: &mut Ui, bar: &StatusBar, (text, is_error): (&str, bool), pal: &Palette) {
    let color = if is_error {
        pal.error
    } else {
        ui.visuals().text_color()
    };
    ui.separator();
    egui::ScrollArea::vertical()
        .max_height(160.0)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            ui.add(egui::Label::new(egui::RichText::new(text).color(color)).wrap());
            let now = Instant::now();
            for earlier in bar.history.iter().skip(1) {
                let age = now.duration_since(earlier.at).as_secs();
                let line = format!("{age} s ago: {}", earlier.text);
                ui.add(egui::Label::new(egui::RichText::new(line).weak()).wrap());
            }
        });
}

/// The status line after a run: what ran, how many records passed or were not read, windows,
/// invocations, discards and how long it took.
pub(super) fn run_summary(run: &super::session::Run, n: u32) -> String {
    let unread: usize = run.trace.unread.iter().map(|u| u.records.len()).sum();
    let records = match (&run.trace.filter, unread) {
        (Some(f), _) => format!(
            "{} of {} records passed the filters",
            f.passed,
            f.passed + f.dropped
        ),
        (None, 0) => format!("{} records", run.stream.len()),
        (None, u) => format!("{} records ({u} not read)", run.stream.len()),
    };
    let discarded = match run.trace.discards.len() {
        0 => String::new(),
        b => format!(
            ", {b} batch(es) discarded ({} records)",
            run.trace
                .discards
                .iter()
                .map(|d| d.records.len())
                .sum::<usize>()
        ),
    };
    format!(
        "{} — {records} on {} shard(s), {} windows, {} invocations{discarded}; simulated in {:.0} ms",
        run.spec.describe(),
        run.stream.shards.len(),
        run.trace.windows.len(),
        n,
        run.took.as_secs_f64() * 1000.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_messages_give_way_to_the_summary_and_errors_stay() {
        let mut bar = StatusBar {
            summary: "demo — 3 shards".into(),
            ..Default::default()
        };
        let said = StatusLine::info("Wrote results.csv");
        let now = said.at;
        assert_eq!(bar.shown(&said, now).0, "Wrote results.csv");
        let later = now + INFO_LASTS + Duration::from_secs(1);
        assert_eq!(bar.shown(&said, later).0, "demo — 3 shards");
        let err = StatusLine::error("error: disk full");
        assert_eq!(
            bar.shown(&err, err.at + INFO_LASTS * 10),
            ("error: disk full", true)
        );
        bar.log(&said);
        bar.log(&said);
        bar.log(&err);
        assert_eq!(bar.history.len(), 2, "each message logged once");
        assert_eq!(bar.history[0].text, "error: disk full");
    }
}
