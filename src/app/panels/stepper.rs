//! Previous/next, first/last, play/pause, jumps to the next final invocation or failure, and
//! the position readout. Reads state, emits commands.

use egui::Ui;

use crate::app::command::AppCommand;

/// What the stepper shows.
pub struct StepperState {
    /// Selected invocation (0-based).
    pub selected: Option<u32>,
    /// Invocations in the run.
    pub total: u32,
    /// Playing.
    pub playing: bool,
    /// Whether the run has invocations to jump to: finals, failed attempts.
    pub has_finals: bool,
    /// See `has_finals`.
    pub has_failures: bool,
    /// The selected invocation has a bookmark.
    pub bookmarked: bool,
}

/// Draws the stepper; a new playback speed goes out as a command like every other action.
pub fn stepper_ui(ui: &mut Ui, st: &StepperState, speed: f32, cmds: &mut Vec<AppCommand>) {
    let button =
        |ui: &mut Ui, label: &str, cmd: AppCommand, enabled: bool, cmds: &mut Vec<AppCommand>| {
            let tip = match cmd.shortcut() {
                Some(sc) => format!("{} ({})", cmd.text(), ui.ctx().format_shortcut(&sc)),
                None => cmd.text().to_owned(),
            };
            if ui
                .add_enabled(enabled, egui::Button::new(label))
                .on_hover_text(tip)
                .clicked()
            {
                cmds.push(cmd);
            }
        };
    let has = st.total > 0;
    let at_start = st.selected.is_none_or(|s| s == 0);
    let at_end = st.selected.is_some_and(|s| s + 1 >= st.total);
    button(ui, "|< First", AppCommand::First, has && !at_start, cmds);
    button(ui, "< Previous", AppCommand::Prev, has && !at_start, cmds);
    button(
        ui,
        if st.playing { "Pause" } else { "Play" },
        AppCommand::TogglePlay,
        has,
        cmds,
    );
    button(ui, "Next >", AppCommand::Next, has && !at_end, cmds);
    button(ui, "Last >|", AppCommand::Last, has && !at_end, cmds);
    ui.separator();
    let mark = if st.bookmarked {
        "Remove bookmark"
    } else {
        "Bookmark"
    };
    button(
        ui,
        mark,
        AppCommand::ToggleBookmark,
        has && st.selected.is_some(),
        cmds,
    );
    button(ui, "Next final", AppCommand::NextFinal, st.has_finals, cmds);
    button(
        ui,
        "Next failure",
        AppCommand::NextFailure,
        st.has_failures,
        cmds,
    );
    ui.separator();
    let mut edited = speed;
    let resp = ui
        .add(
            egui::DragValue::new(&mut edited)
                .range(0.5..=200.0)
                .speed(0.2)
                .suffix(" inv/s")
                .max_decimals(1),
        )
        .on_hover_text("Playback speed: invocations per second");
    if resp.changed() {
        cmds.push(AppCommand::SetPlaySpeed(edited));
    }
    ui.separator();
    let text = match st.selected {
        Some(s) if has => format!("invocation {} of {}", s + 1, st.total),
        _ if has => format!("{} invocations", st.total),
        _ => "no invocations".to_owned(),
    };
    ui.label(egui::RichText::new(text).strong());
}
