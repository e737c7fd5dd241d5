//! Bookmark flags: a small flag at the start of each bookmarked invocation's box, its note on
//! hover.

use egui::{Shape, Stroke, pos2};

use super::{Lane, Picks, Scene};

pub(super) fn bookmarks_ui(scene: &Scene, lane: &Lane, picks: &mut Picks) {
    let (run, view) = (scene.run, &scene.view);
    let (t0, t1) = view.range_ms();
    for b in scene.bookmarks {
        let Some(inv) = run
            .trace
            .invocations
            .get(b.invocation.saturating_sub(1) as usize)
        else {
            continue;
        };
        if inv.shard as usize != lane.shard || inv.end_ms < t0 || inv.start_ms > t1 {
            continue;
        }
        let x = view.x_from_time(inv.start_ms as f64, scene.left, scene.width);
        let (top, bottom) = (lane.invocations.top() - 9.0, lane.invocations.top() + 4.0);
        let color = scene.pal.warn;
        scene
            .painter
            .line_segment([pos2(x, top), pos2(x, bottom)], Stroke::new(1.5, color));
        scene.painter.add(Shape::convex_polygon(
            vec![pos2(x, top), pos2(x + 8.0, top + 3.0), pos2(x, top + 6.0)],
            color,
            Stroke::NONE,
        ));
        if let Some(p) = scene.pointer
            && (p.x - x).abs() <= 5.0
            && (top - 2.0..=bottom).contains(&p.y)
        {
            let note = if b.note.is_empty() {
                "(no note)"
            } else {
                &b.note
            };
            picks.hover = Some(format!("bookmark on invocation {}\n{note}", b.invocation));
        }
    }
}
