//! Shaping running totals for drawing: thinning, steps, gaps at resets, clock-aligned ticks.
//! Pure functions of points, tested here; the plot panel only draws what they return.

use egui_plot::{GridInput, GridMark, PlotPoint};

use crate::index::SeriesPoint;

/// Drawable lines of one shard: one polyline per stretch between resets.
pub type Segments = Vec<Vec<PlotPoint>>;

/// One shard's drawable running total.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shaped {
    /// Step polylines, broken where the state resets to `{}`.
    pub segments: Segments,
    /// Where a window closed and its state was dropped: the value it closed with.
    pub resets: Vec<PlotPoint>,
}

/// `[x, y]` pairs as plot points.
pub fn as_plot_points(xy: &[[f64; 2]]) -> Vec<PlotPoint> {
    xy.iter().map(|&[x, y]| PlotPoint::new(x, y)).collect()
}

/// Steps, not ramps: a state holds its value from the invocation that returned it until the
/// next one, so each point is reached by a horizontal run then a vertical rise. A drop at one
/// instant is a window's state reset to `{}`: no line is drawn down, the stretch ends there
/// (a gap a reader cannot mistake for a dip) and the closing value is kept as a marker.
pub fn shape(points: Vec<PlotPoint>) -> Shaped {
    let mut out = Shaped::default();
    let mut cur: Vec<PlotPoint> = Vec::new();
    for p in points {
        match cur.last().copied() {
            Some(last) if last.x == p.x && p.y < last.y => {
                out.resets.push(last);
                out.segments.push(std::mem::take(&mut cur));
            }
            Some(last) if last.y != p.y && last.x != p.x => {
                cur.push(PlotPoint::new(p.x, last.y));
            }
            _ => {}
        }
        cur.push(p);
    }
    if !cur.is_empty() {
        out.segments.push(cur);
    }
    out
}

/// Clock steps (ms) the time axis may tick on, so marks fall on whole seconds, minutes and
/// hours of the wall clock rather than on multiples of 100 s from the run's start.
const CLOCK_STEPS_MS: [i64; 22] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000,
    120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
];

/// Grid marks for an x axis in seconds since `t_min_ms`, on clock-aligned steps: a labelled
/// step about ten minimum spacings apart and the next finer step as unlabelled lines.
pub fn clock_marks(t_min_ms: i64, input: GridInput) -> Vec<GridMark> {
    let base_ms = input.base_step_size * 1000.0;
    let pick = |want: f64| {
        CLOCK_STEPS_MS
            .iter()
            .copied()
            .find(|&s| s as f64 >= want)
            .unwrap_or_else(|| ((want / 3_600_000.0).ceil() as i64).max(1) * 3_600_000)
    };
    let major = pick(base_ms * 10.0);
    let minor = CLOCK_STEPS_MS
        .iter()
        .copied()
        .rev()
        .find(|&s| s < major && major % s == 0 && s as f64 >= base_ms)
        .unwrap_or(major);
    let (lo, hi) = input.bounds;
    let lo_ms = t_min_ms + (lo * 1000.0).floor() as i64;
    let hi_ms = t_min_ms + (hi * 1000.0).ceil() as i64;
    let mut marks = Vec::new();
    let mut t = lo_ms.div_euclid(minor) * minor;
    // Far more marks than a plot can show means the bounds are degenerate: draw none.
    if (hi_ms - t) / minor > 10_000 {
        return marks;
    }
    while t <= hi_ms {
        let step = if t.rem_euclid(major) == 0 {
            major
        } else {
            minor
        };
        marks.push(GridMark {
            value: (t - t_min_ms) as f64 / 1000.0,
            step_size: step as f64 / 1000.0,
        });
        t += minor;
    }
    marks
}

/// The point of `points` (sorted by time) in force at `t_s`: the last at or before it.
pub fn in_force_at(points: &[SeriesPoint], t_s: f64) -> Option<&SeriesPoint> {
    let pos = points.partition_point(|p| p.t_s <= t_s);
    pos.checked_sub(1).map(|k| &points[k])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(f64, f64)]) -> Vec<PlotPoint> {
        v.iter().map(|&(x, y)| PlotPoint::new(x, y)).collect()
    }

    fn xy(v: &[PlotPoint]) -> Vec<(f64, f64)> {
        v.iter().map(|p| (p.x, p.y)).collect()
    }

    #[test]
    fn a_reset_ends_the_stretch_with_a_marker_and_no_line_down() {
        // Window 1: 1 then 5, closed at t=1; window 2 starts from {} and reaches 3 at t=2.
        let s = shape(pts(&[(0.0, 1.0), (1.0, 5.0), (1.0, 0.0), (2.0, 3.0)]));
        assert_eq!(s.segments.len(), 2);
        assert_eq!(xy(&s.segments[0]), [(0.0, 1.0), (1.0, 1.0), (1.0, 5.0)]);
        assert_eq!(xy(&s.segments[1]), [(1.0, 0.0), (2.0, 0.0), (2.0, 3.0)]);
        assert_eq!(xy(&s.resets), [(1.0, 5.0)]);
    }

    #[test]
    fn values_hold_until_the_next_invocation() {
        let s = shape(pts(&[(0.0, 6.0), (4.0, 6.0), (5.0, 9.0)]));
        assert_eq!(
            xy(&s.segments[0]),
            [(0.0, 6.0), (4.0, 6.0), (5.0, 6.0), (5.0, 9.0)]
        );
        assert!(s.resets.is_empty());
    }

    #[test]
    fn a_smaller_value_later_is_a_step_down_not_a_reset() {
        // 6 then 5 a second later (a handler that subtracts): drawn, no marker.
        let s = shape(pts(&[(0.0, 6.0), (1.0, 5.0)]));
        assert_eq!(s.segments.len(), 1);
        assert!(s.resets.is_empty());
    }

    #[test]
    fn ticks_fall_on_whole_clock_minutes_whatever_the_start() {
        // The run starts 17 s past a minute; 5 minutes across with 1 s per 8 points.
        let t_min = 1_767_268_817_000;
        let marks = clock_marks(
            t_min,
            GridInput {
                bounds: (0.0, 300.0),
                base_step_size: 8.0,
            },
        );
        let labelled: Vec<i64> = marks
            .iter()
            .filter(|m| m.step_size == 120.0)
            .map(|m| t_min + (m.value * 1000.0).round() as i64)
            .collect();
        assert!(!labelled.is_empty());
        assert!(labelled.iter().all(|t| t % 120_000 == 0), "{labelled:?}");
        let minor = marks.iter().find(|m| m.step_size < 120.0).unwrap();
        assert_eq!(minor.step_size, 60.0);
    }

    #[test]
    fn the_value_in_force_is_the_last_at_or_before() {
        let p = |t_s, inv| SeriesPoint {
            t_s,
            value: 0.0,
            inv,
        };
        let s = [p(1.0, 0), p(2.0, 1), p(2.0, 2), p(5.0, 3)];
        assert_eq!(in_force_at(&s, 0.5).map(|p| p.inv), None);
        assert_eq!(in_force_at(&s, 2.0).map(|p| p.inv), Some(2));
        assert_eq!(in_force_at(&s, 4.9).map(|p| p.inv), Some(2));
        assert_eq!(in_force_at(&s, 9.0).map(|p| p.inv), Some(3));
    }
}
