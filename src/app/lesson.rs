//! Lesson mode: a guided walk through tumbling-window semantics on the run on screen. Each
//! step selects the invocation it talks about, points at the part of the screen that shows
//! it, and says it in two sentences; the steps are found in the run, so every scenario (and
//! the user's own stream) gets its own lesson.

use super::panels::inspector::{Tab, explain};
use super::panels::plots::PlotTab;
use super::session::Run;
use crate::model::clock_seconds;
use crate::sim::trace::{Kind, Status};

/// The part of the window a step points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The lanes.
    Timeline,
    /// The inspector, on a tab.
    Inspector(Tab),
    /// The bottom panel, on a tab.
    Plots(PlotTab),
}

/// One step of the lesson.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// A few words.
    pub title: String,
    /// Two sentences.
    pub text: String,
    /// The invocation it is about (0-based).
    pub select: Option<u32>,
    /// Where to look.
    pub focus: Focus,
}

/// The lesson in progress.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The step shown.
    pub at: usize,
}

/// The steps this run can show, in teaching order; the ones it has nothing for (no early
/// termination, say) are left out.
pub fn steps(run: &Run) -> Vec<Step> {
    let t = &run.trace.invocations;
    let s = &run.spec.settings;
    let mut out = vec![intro_step(run)];
    if s.window_ms().is_none() {
        return out;
    }
    let windowed = |k: &usize| t[*k].window().is_some() && t[*k].status != Status::Failed;
    let first = (0..t.len()).find(|k| windowed(k) && t[*k].kind == Kind::Aggregate);
    if let Some(k) = first {
        let inv = &t[k];
        out.push(Step {
            title: "The first invocation gets {}".into(),
            text: format!(
                "Invocation {} is the first batch of window {} on shard {}: Lambda sends \"state\": {{}} because nothing in this window has returned state yet. The handler adds its records and returns the state it wants the next batch to get.",
                inv.n,
                clock_seconds(inv.window().map_or(0, |w| w.start_ms)),
                inv.shard
            ),
            select: Some(k as u32),
            focus: Focus::Inspector(Tab::State),
        });
        let next = (k + 1..t.len())
            .find(|&j| windowed(&j) && t[j].shard == inv.shard && t[j].window() == inv.window());
        if let Some(j) = next.filter(|&j| t[j].kind == Kind::Aggregate) {
            out.push(Step {
                title: "State threads from batch to batch".into(),
                text: format!(
                    "Invocation {} receives exactly the state invocation {} returned, with the next records. Lambda keeps nothing else between invocations: the state is the only memory.",
                    t[j].n, inv.n
                ),
                select: Some(j as u32),
                focus: Focus::Inspector(Tab::State),
            });
        }
        out.push(Step {
            title: "Why a batch ends where it does".into(),
            text: format!(
                "{} Batches are cut by BatchSize, the batching window, the window boundary or what one read returned.",
                explain(run, inv)
            ),
            select: Some(k as u32),
            focus: Focus::Inspector(Tab::Records),
        });
    }
    if let Some(k) = (0..t.len()).find(|k| windowed(k) && t[*k].kind == Kind::Final) {
        out.push(Step {
            title: "The final invocation closes the window".into(),
            text: format!(
                "{} Its event has isFinalInvokeForWindow: true and no records: this is where a handler stores the window's result.",
                explain(run, &t[k])
            ),
            select: Some(k as u32),
            focus: Focus::Inspector(Tab::Event),
        });
    }
    if let Some(k) = (0..t.len()).find(|k| t[*k].kind == Kind::Early) {
        out.push(Step {
            title: "Early termination past 1 MB".into(),
            text: format!(
                "{} The window is not over: its next batch starts again from {{}}.",
                explain(run, &t[k])
            ),
            select: Some(k as u32),
            focus: Focus::Inspector(Tab::Event),
        });
    }
    out.extend(closing_steps(run));
    out
}

/// The first step: what the lanes show (or that the run has no windows).
fn intro_step(run: &Run) -> Step {
    let shards = run.stream.shards.len();
    match run.spec.settings.window_ms() {
        Some(len) => Step {
            title: "Records land in windows, shard by shard".into(),
            text: format!(
                "Each mark in a lane is a record at its arrival time; the shaded bands are {} s tumbling windows, aligned to the Unix epoch. Each of the {shards} shard(s) runs its own windows and its own invocations.",
                len / 1000
            ),
            select: None,
            focus: Focus::Timeline,
        },
        None => Step {
            title: "No windows in this run".into(),
            text: "TumblingWindowInSeconds is 0 here, so batches are stateless and nothing below applies. Pick a scenario with windows (the demo has 30 s windows) and start the lesson again.".into(),
            select: None,
            focus: Focus::Timeline,
        },
    }
}

/// The last two steps: the results table, and AWS's reset against the article's running total.
fn closing_steps(run: &Run) -> [Step; 2] {
    let closed = run
        .trace
        .windows
        .iter()
        .filter(|w| w.final_state.is_some())
        .count();
    let results = Step {
        title: "Results per shard and window".into(),
        text: format!(
            "The results table has one row per shard and window: {closed} window(s) closed with a final state in this run. Shards never share state, so a key spread over two shards gives two partial totals."
        ),
        select: None,
        focus: Focus::Plots(PlotTab::Table),
    };
    let carry = run.spec.settings.carry_state_across_windows;
    let reset = Step {
        title: "AWS resets; the 2020 article's figure runs on".into(),
        text: if carry {
            "This run carries state across windows (teaching mode, not AWS behaviour), which is how the 2020 article's running total (6, 18, 28, 32) reads. Untick the teaching mode in the setup panel to see AWS's reset to {} at every window.".into()
        } else {
            "On AWS every window starts from {}, so each curve drops back after a final invocation. The 2020 article's running total (6, 18, 28, 32) adds windows up: tick Total across windows to see that reading.".into()
        },
        select: None,
        focus: Focus::Plots(PlotTab::Totals),
    };
    [results, reset]
}

impl super::TumbleApp {
    /// Lesson commands.
    pub(super) fn apply_lesson(&mut self, cmd: super::command::AppCommand) {
        use super::command::AppCommand as C;
        match cmd {
            C::StartLesson => {
                let Some(run) = &self.run else { return };
                self.lesson = Some(Lesson {
                    steps: steps(run),
                    at: 0,
                });
                self.show_lesson_step();
            }
            C::LessonStep(d) => {
                if let Some(l) = &mut self.lesson {
                    l.at =
                        l.at.saturating_add_signed(d as isize)
                            .min(l.steps.len() - 1);
                    self.show_lesson_step();
                }
            }
            C::EndLesson => self.lesson = None,
            _ => {}
        }
    }

    /// Selects what the step is about and opens the tab it points at.
    fn show_lesson_step(&mut self) {
        let Some(step) = self.lesson.as_ref().and_then(|l| l.steps.get(l.at)) else {
            return;
        };
        if step.select.is_some() {
            self.selected = step.select;
        }
        match step.focus {
            Focus::Timeline => {}
            Focus::Inspector(tab) => {
                self.prefs.show_inspector = true;
                self.inspector.tab = tab;
            }
            Focus::Plots(tab) => {
                self.prefs.show_plots = true;
                self.plots.tab = tab;
            }
        }
    }
}

/// The lesson's card (inside `area`, at its bottom right) and a frame around what the step
/// talks about.
pub fn lesson_ui(
    ctx: &egui::Context,
    lesson: &Lesson,
    area: egui::Rect,
    focus_rect: Option<egui::Rect>,
    cmds: &mut Vec<super::command::AppCommand>,
) {
    use super::command::AppCommand as C;
    let Some(step) = lesson.steps.get(lesson.at) else {
        return;
    };
    if let Some(r) = focus_rect {
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("lesson-focus"),
        ));
        let pal = super::theme::Palette::of(&ctx.global_style().visuals);
        painter.rect_stroke(
            r.shrink(2.0),
            6.0,
            egui::Stroke::new(3.0, pal.playhead),
            egui::StrokeKind::Inside,
        );
    }
    let n = lesson.steps.len();
    egui::Window::new(format!("Lesson {} of {n}", lesson.at + 1))
        .id(egui::Id::unique("lesson-card"))
        .collapsible(false)
        .resizable(false)
        .default_width(420.0)
        .pivot(egui::Align2::RIGHT_BOTTOM)
        .default_pos(area.right_bottom() - egui::vec2(16.0, 16.0))
        .constrain_to(area)
        .show(ctx, |ui| {
            ui.strong(&step.title);
            ui.add(egui::Label::new(&step.text).wrap());
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(lesson.at > 0, egui::Button::new("Back"))
                    .clicked()
                {
                    cmds.push(C::LessonStep(-1));
                }
                let last = lesson.at + 1 == n;
                if ui
                    .add_enabled(!last, egui::Button::new("Next step"))
                    .clicked()
                {
                    cmds.push(C::LessonStep(1));
                }
                if ui.button("End lesson").clicked() {
                    cmds.push(C::EndLesson);
                }
            });
        });
}
