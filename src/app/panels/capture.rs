//! The "Capture from stream" window: the same options as `tumblescope capture`, Start, then a
//! progress bar and Stop while it runs, then the summary or the error.

use egui::{RichText, Ui};

use crate::app::capture::{CaptureForm, CaptureState};
use crate::app::command::AppCommand;

/// Shows the window while `state.open`; Start and Stop go out as commands.
pub(crate) fn capture_window(
    ctx: &egui::Context,
    state: &mut CaptureState,
    cmds: &mut Vec<AppCommand>,
) {
    let mut open = state.open;

    egui::Window::new("Capture from stream")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .default_width(460.0)
        .default_pos(ctx.content_rect().center() - egui::vec2(230.0, 200.0))
        .show(ctx, |ui| {
            let running = state.job.is_some();
            ui.add_enabled_ui(!running, |ui| form_ui(ui, &mut state.form));
            ui.separator();
            match &state.job {
                Some(job) => {
                    let p = &job.progress;
                    let text = format!(
                        "{} record(s), {}/{} shard(s) done, {:.1} s{}",
                        p.records,
                        p.shards_done,
                        p.shards,
                        p.elapsed_s,
                        p.behind_ms
                            .map(|b| format!(", {b} ms behind"))
                            .unwrap_or_default()
                    );
                    let bar = match p.fraction {
                        Some(f) => egui::ProgressBar::new(f).text(text),
                        None => egui::ProgressBar::new(0.0).animate(true).text(text),
                    };
                    ui.add(bar);
                    if ui
                        .button("Stop")
                        .on_hover_text("Stop reading and write what was read")
                        .clicked()
                    {
                        cmds.push(AppCommand::StopCapture);
                    }
                }
                None => {
                    if ui.button("Start capture").clicked() {
                        cmds.push(AppCommand::StartCapture);
                    }
                }
            }
            match &state.outcome {
                Some(Ok(summary)) => {
                    ui.label(summary);
                }
                Some(Err(e)) => {
                    ui.label(RichText::new(e).color(ui.visuals().error_fg_color));
                }
                None => {}
            }
            ui.label(
                RichText::new(
                    "Read-only: ListShards/DescribeStream, GetShardIterator and GetRecords. \
                     Credentials and region as the AWS CLI finds them.",
                )
                .small()
                .weak(),
            );
        });
    state.open = open;
}

fn form_ui(ui: &mut Ui, f: &mut CaptureForm) {
    ui.horizontal(|ui| {
        ui.label("Source:");
        ui.radio_value(&mut f.kinesis, true, "Kinesis");
        ui.radio_value(&mut f.kinesis, false, "DynamoDB");
    });
    egui::Grid::new("capture-form")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let name = if f.kinesis {
                "Stream name"
            } else {
                "Table or stream ARN"
            };
            field(ui, name, &mut f.name, "");
            field(
                ui,
                "Start at",
                &mut f.from,
                "trim-horizon, latest or at-timestamp:TIME",
            );
            field(ui, "Stop after records", &mut f.records, "any number");
            field(ui, "Stop after seconds", &mut f.duration, "until Stop");
            field(ui, "Stop at time", &mut f.until, "RFC 3339 or Unix seconds");
            field(ui, "Region", &mut f.region, "as the AWS CLI resolves it");
            field(ui, "Profile", &mut f.profile, "AWS_PROFILE or default");
            field(
                ui,
                "Endpoint URL",
                &mut f.endpoint_url,
                "AWS (or an emulator's URL)",
            );
            field(ui, "Save to folder", &mut f.out, "captures/NAME-TIME");
        });
}

fn field(ui: &mut Ui, label: &str, text: &mut String, hint: &str) {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .hint_text(hint)
            .desired_width(280.0),
    )
    .labelled_by(l.id);
    ui.end_row();
}
