//! The timeline's time ↔ pixel mapping: pure `f64` maths, tested by round trips. `f64` because
//! deep zoom puts epoch-millisecond coordinates far off screen, where `f32` loses whole seconds.

use serde::{Deserialize, Serialize};

/// The visible time range: `[min_ms, min_ms + span_ms]` mapped onto `[left, left + width]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeView {
    /// Time at the left edge, epoch ms.
    pub min_ms: f64,
    /// Time across the full width, ms.
    pub span_ms: f64,
}

/// Narrowest span: 2 ms across the screen.
pub const MIN_SPAN_MS: f64 = 2.0;

/// Widest span: ten years.
pub const MAX_SPAN_MS: f64 = 10.0 * 365.0 * 86_400_000.0;

impl TimeView {
    /// A view showing `[t0, t1]` with a small margin on both sides.
    pub fn fit(t0_ms: i64, t1_ms: i64) -> Self {
        let span = ((t1_ms - t0_ms) as f64).max(1_000.0);
        let margin = span * 0.03;
        Self {
            min_ms: t0_ms as f64 - margin,
            span_ms: (span + 2.0 * margin).clamp(MIN_SPAN_MS, MAX_SPAN_MS),
        }
    }

    /// Screen x of a time, for a canvas starting at `left` with `width` points.
    pub fn x_from_time(&self, t_ms: f64, left: f32, width: f32) -> f32 {
        let x = f64::from(left) + (t_ms - self.min_ms) / self.span_ms * f64::from(width);
        // Clamp far-off-screen values so painting never sees huge coordinates.
        x.clamp(-1.0e7, 1.0e7) as f32
    }

    /// Time at a screen x.
    pub fn time_from_x(&self, x: f32, left: f32, width: f32) -> f64 {
        self.min_ms + f64::from(x - left) / f64::from(width.max(1.0)) * self.span_ms
    }

    /// Milliseconds per point.
    pub fn ms_per_point(&self, width: f32) -> f64 {
        self.span_ms / f64::from(width.max(1.0))
    }

    /// The view moved by `dx` points (dragging right shows earlier times).
    pub fn pan(&self, dx: f32, width: f32) -> Self {
        Self {
            min_ms: self.min_ms - f64::from(dx) * self.ms_per_point(width),
            span_ms: self.span_ms,
        }
    }

    /// The view zoomed by `factor` (> 1 zooms in) keeping the time under `x` fixed.
    pub fn zoom_at(&self, x: f32, factor: f64, left: f32, width: f32) -> Self {
        let anchor = self.time_from_x(x, left, width);
        let span_ms = (self.span_ms / factor.max(1e-6)).clamp(MIN_SPAN_MS, MAX_SPAN_MS);
        let frac = f64::from(x - left) / f64::from(width.max(1.0));
        Self {
            min_ms: anchor - frac * span_ms,
            span_ms,
        }
    }

    /// Visible time range `[start, end]` in whole ms.
    pub fn range_ms(&self) -> (i64, i64) {
        (
            self.min_ms.floor() as i64,
            (self.min_ms + self.span_ms).ceil() as i64,
        )
    }
}

/// A good tick step (ms) for labels about `min_px` points apart, from a fixed ladder of clock
/// units so labels read as times (1 s, 5 s, 30 s, 1 min, ...).
pub fn tick_step_ms(view: &TimeView, width: f32, min_px: f32) -> i64 {
    const STEPS: [i64; 25] = [
        1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000,
        120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000,
        86_400_000,
    ];
    let want = view.ms_per_point(width) * f64::from(min_px);
    STEPS
        .iter()
        .copied()
        .find(|&s| s as f64 >= want)
        .unwrap_or_else(|| ((want / 86_400_000.0).ceil() as i64).max(1) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_and_time_round_trip_within_half_a_pixel() {
        let v = TimeView {
            min_ms: 1_767_268_800_000.0,
            span_ms: 90_000.0,
        };
        for x in [0.0f32, 0.5, 17.25, 640.0, 1279.5] {
            let t = v.time_from_x(x + 100.0, 100.0, 1280.0);
            let back = v.x_from_time(t, 100.0, 1280.0);
            assert!((back - (x + 100.0)).abs() < 0.5, "{x} -> {back}");
        }
    }

    #[test]
    fn zoom_keeps_the_time_under_the_pointer() {
        let v = TimeView {
            min_ms: 1_000_000.0,
            span_ms: 60_000.0,
        };
        let x = 300.0;
        let before = v.time_from_x(x, 0.0, 1000.0);
        let z = v.zoom_at(x, 4.0, 0.0, 1000.0);
        assert!((z.span_ms - 15_000.0).abs() < 1e-9);
        assert!((z.time_from_x(x, 0.0, 1000.0) - before).abs() < 1e-6);
        let out = z.zoom_at(x, 0.25, 0.0, 1000.0);
        assert!((out.min_ms - v.min_ms).abs() < 1e-6);
    }

    #[test]
    fn zoom_is_clamped() {
        let v = TimeView {
            min_ms: 0.0,
            span_ms: 10.0,
        };
        assert_eq!(v.zoom_at(0.0, 1e9, 0.0, 100.0).span_ms, MIN_SPAN_MS);
        let wide = TimeView {
            min_ms: 0.0,
            span_ms: 1e12,
        };
        assert_eq!(wide.zoom_at(0.0, 1e-9, 0.0, 100.0).span_ms, MAX_SPAN_MS);
    }

    #[test]
    fn pan_moves_by_pixels() {
        let v = TimeView {
            min_ms: 0.0,
            span_ms: 1000.0,
        };
        let p = v.pan(100.0, 1000.0);
        assert!((p.min_ms + 100.0).abs() < 1e-9);
    }

    #[test]
    fn fit_adds_a_margin_and_a_minimum_span() {
        let v = TimeView::fit(10_000, 70_000);
        assert!(v.min_ms < 10_000.0 && v.min_ms + v.span_ms > 70_000.0);
        let tiny = TimeView::fit(5, 5);
        assert!(tiny.span_ms >= 1_000.0);
    }

    #[test]
    fn ticks_adapt_to_zoom() {
        let v = TimeView {
            min_ms: 0.0,
            span_ms: 60_000.0,
        };
        assert_eq!(tick_step_ms(&v, 1200.0, 80.0), 5_000);
        let v = TimeView {
            min_ms: 0.0,
            span_ms: 3_600_000.0,
        };
        assert_eq!(tick_step_ms(&v, 1200.0, 80.0), 300_000);
        let v = TimeView {
            min_ms: 0.0,
            span_ms: 500.0,
        };
        assert_eq!(tick_step_ms(&v, 1000.0, 80.0), 50);
    }
}
