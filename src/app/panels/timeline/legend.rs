//! The timeline's colour key, one line above the lanes: what each colour and mark means, with
//! the kinds the run does not have left out (no "failed" key on a run without failures).

use egui::{Color32, Rect, Sense, Stroke, StrokeKind, Ui, vec2};

use crate::app::session::Run;
use crate::app::theme::Palette;

/// How a key's swatch is drawn.
#[derive(Clone, Copy)]
enum Swatch {
    /// A record mark: a thin vertical line.
    Mark(Color32),
    /// An invocation box.
    Fill(Color32),
    /// A retry's outline.
    Outline(Color32),
    /// A discard's cross.
    Cross(Color32),
    /// A window band.
    Band(Color32),
    /// A cold start's dot.
    Dot(Color32),
    /// A filtered record's ring.
    Ring(Color32),
    /// Records never read.
    Veil,
}

/// The keys that apply to `run`, in reading order (what it has comes from its index, found
/// once per run, not per frame).
fn keys(run: &Run, pal: &Palette) -> Vec<(Swatch, &'static str)> {
    let has = run.index.has;
    let mut keys = vec![
        (Swatch::Mark(pal.record_waiting), "record waiting"),
        (Swatch::Mark(pal.record_done), "record delivered"),
        (Swatch::Band(pal.window_shade), "tumbling window"),
        (Swatch::Fill(pal.aggregate), "invocation"),
        (Swatch::Fill(pal.final_), "final"),
    ];
    if has.early {
        keys.push((Swatch::Fill(pal.early), "early termination"));
    }
    if has.failed {
        keys.push((Swatch::Fill(pal.failed), "failed attempt"));
    }
    if has.partial {
        keys.push((Swatch::Fill(pal.retry), "partial failure"));
    }
    if has.retry {
        keys.push((Swatch::Outline(pal.retry), "retry"));
    }
    if has.cold {
        keys.push((Swatch::Dot(pal.record_done), "cold start"));
    }
    if !run.dropped.is_empty() {
        keys.push((Swatch::Ring(pal.dim), "filtered out"));
    }
    if !run.trace.unread.is_empty() {
        keys.push((Swatch::Veil, "not read"));
    }
    if !run.trace.discards.is_empty() {
        keys.push((Swatch::Cross(pal.error), "discarded batch"));
    }
    keys
}

/// Draws the key as one wrapped row of swatches and words.
pub fn legend_ui(ui: &mut Ui, run: &Run) {
    let pal = Palette::of(ui.visuals());
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        for (swatch, text) in keys(run, &pal) {
            let (rect, _) = ui.allocate_exact_size(vec2(14.0, 12.0), Sense::hover());
            draw(ui, rect, swatch, &pal);
            ui.label(egui::RichText::new(text).small());
            ui.add_space(6.0);
        }
    });
}

fn draw(ui: &Ui, r: Rect, swatch: Swatch, pal: &Palette) {
    let p = ui.painter();
    match swatch {
        Swatch::Mark(c) => {
            p.line_segment([r.center_top(), r.center_bottom()], Stroke::new(2.0, c));
        }
        Swatch::Fill(c) => {
            p.rect_filled(r.shrink2(vec2(1.0, 2.0)), 1.0, c);
        }
        Swatch::Outline(c) => {
            let b = r.shrink2(vec2(1.0, 2.0));
            p.rect_filled(b, 1.0, pal.aggregate);
            p.rect_stroke(b, 1.0, Stroke::new(1.5, c), StrokeKind::Inside);
        }
        Swatch::Cross(c) => {
            let (m, d) = (r.center(), 4.0);
            let s = Stroke::new(2.0, c);
            p.line_segment([m + vec2(-d, -d), m + vec2(d, d)], s);
            p.line_segment([m + vec2(-d, d), m + vec2(d, -d)], s);
        }
        Swatch::Dot(c) => {
            p.circle_filled(r.center(), 3.0, c);
        }
        Swatch::Ring(c) => {
            p.circle_stroke(r.center(), 2.5, Stroke::new(1.0, c));
        }
        Swatch::Veil => {
            let b = r.shrink2(vec2(1.0, 2.0));
            p.rect_filled(b, 1.0, pal.lane.gamma_multiply(0.75));
            p.rect_stroke(b, 1.0, Stroke::new(1.0, pal.dim), StrokeKind::Inside);
        }
        Swatch::Band(c) => {
            p.rect_filled(r, 0.0, pal.lane);
            p.rect_filled(r, 0.0, c);
            p.line_segment(
                [r.left_top(), r.left_bottom()],
                Stroke::new(1.0, pal.boundary),
            );
        }
    }
}
