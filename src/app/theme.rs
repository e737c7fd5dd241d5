//! Semantic colours for dark and light themes. Panels ask for these; they never hold raw
//! colour literals.

use egui::Color32;

/// Named colours of the timeline, plots and inspector.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    /// Lane background.
    pub lane: Color32,
    /// Alternate window shading.
    pub window_shade: Color32,
    /// Window boundary line.
    pub boundary: Color32,
    /// Record mark, already processed.
    pub record_done: Color32,
    /// Record mark, still waiting.
    pub record_waiting: Color32,
    /// Aggregate invocation.
    pub aggregate: Color32,
    /// Final invocation.
    pub final_: Color32,
    /// Early-termination invocation.
    pub early: Color32,
    /// Failed attempt.
    pub failed: Color32,
    /// Retry outline.
    pub retry: Color32,
    /// Selection highlight.
    pub selected: Color32,
    /// Playhead.
    pub playhead: Color32,
    /// Warnings.
    pub warn: Color32,
    /// Errors.
    pub error: Color32,
    /// Changed values in JSON trees.
    pub changed: Color32,
    /// Dim text.
    pub dim: Color32,
}

impl Palette {
    /// The palette for the current visuals.
    pub fn of(visuals: &egui::Visuals) -> Self {
        if visuals.dark_mode {
            Self {
                lane: Color32::from_gray(30),
                window_shade: Color32::from_rgba_unmultiplied(90, 110, 150, 28),
                boundary: Color32::from_gray(90),
                record_done: Color32::from_rgb(110, 170, 255),
                record_waiting: Color32::from_gray(110),
                aggregate: Color32::from_rgb(70, 130, 220),
                final_: Color32::from_rgb(60, 185, 110),
                early: Color32::from_rgb(235, 150, 50),
                failed: Color32::from_rgb(225, 70, 70),
                retry: Color32::from_rgb(240, 200, 80),
                selected: Color32::WHITE,
                playhead: Color32::from_rgb(255, 210, 90),
                warn: visuals.warn_fg_color,
                error: visuals.error_fg_color,
                changed: Color32::from_rgb(120, 220, 140),
                dim: Color32::from_gray(140),
            }
        } else {
            Self {
                lane: Color32::from_gray(242),
                window_shade: Color32::from_rgba_unmultiplied(60, 90, 160, 22),
                boundary: Color32::from_gray(150),
                record_done: Color32::from_rgb(30, 100, 210),
                record_waiting: Color32::from_gray(160),
                aggregate: Color32::from_rgb(60, 120, 210),
                final_: Color32::from_rgb(30, 150, 80),
                early: Color32::from_rgb(215, 120, 20),
                failed: Color32::from_rgb(200, 40, 40),
                retry: Color32::from_rgb(190, 140, 0),
                selected: Color32::BLACK,
                playhead: Color32::from_rgb(200, 120, 0),
                warn: visuals.warn_fg_color,
                error: visuals.error_fg_color,
                changed: Color32::from_rgb(20, 140, 50),
                dim: Color32::from_gray(110),
            }
        }
    }

    /// Colour of one shard's line in plots (a fixed, distinguishable sequence).
    pub fn shard(&self, shard: usize) -> Color32 {
        const HUES: [(u8, u8, u8); 8] = [
            (76, 144, 226),
            (230, 126, 34),
            (46, 170, 110),
            (200, 80, 160),
            (150, 110, 220),
            (200, 170, 40),
            (40, 170, 190),
            (220, 80, 80),
        ];
        let (r, g, b) = HUES[shard % HUES.len()];
        Color32::from_rgb(r, g, b)
    }
}
