//! The timeline: one lane per shard, records as marks at their arrival time, invocations as boxes
//! at their processing time, window boundaries, a clock axis and the playhead.
//!
//! ```text
//!  ┌ axis ──────┬──12:00:00──────────12:00:30──────────12:01:00──┐
//!  │ shardId-0  │ ▏▏ ▏▏▏  ▏  ▏▏▏ ▏      records (arrival time)     │
//!  │            │ ▭▭  ▭▭▭ ▭▭      █    invocations (processing)    │
//!  │ shardId-1  │ ...                                              │
//!  └────────────┴──────────────────────────────────────────────────┘
//! ```
//!
//! Everything outside the visible time range is culled by binary search; above about one item
//! per pixel, marks are binned per pixel column instead of drawn one by one.

mod axis;
mod dynamics;
mod flags;
mod invocations;
pub mod legend;
pub mod overview;
mod records;
mod search;
mod selection;
pub mod view;

use std::borrow::Cow;

use egui::{Align2, FontId, Painter, Pos2, Rect, Sense, Stroke, Ui, pos2, vec2};

use self::view::TimeView;
use crate::app::command::AppCommand;
use crate::app::session::Run;
use crate::app::theme::Palette;

/// Width of the shard-label column.
pub const LABEL_W: f32 = 132.0;
/// Height of the time axis.
pub const AXIS_H: f32 = 34.0;
/// Below this many points per item, marks are binned per pixel column. Drawing each mark costs
/// a shape; a pixel cannot show more than one anyway.
const BIN_BELOW_PX_PER_ITEM: f64 = 1.5;
/// Records of the selected invocation get link lines up to this many; above it, one bracket.
const MAX_LINKS: usize = 400;

/// What every part of the timeline draws with, fixed for one frame.
struct Scene<'a> {
    run: &'a Run,
    painter: Painter,
    view: TimeView,
    /// Left edge and width of the time canvas (right of the shard labels).
    left: f32,
    width: f32,
    pal: &'a Palette,
    /// The pointer, when it is over the canvas.
    pointer: Option<Pos2>,
    /// Whether the canvas was clicked this frame.
    clicked: bool,
    /// Records the search found (ascending), marked above their lane.
    found: &'a [u32],
    /// Bookmarked invocations, flagged.
    bookmarks: &'a [crate::app::session::Bookmark],
}

/// What the timeline marks besides the run: search matches and bookmarks.
#[derive(Clone, Copy, Default)]
pub struct Marks<'a> {
    /// Records the search found (ascending).
    pub found: &'a [u32],
    /// Bookmarked invocations.
    pub bookmarks: &'a [crate::app::session::Bookmark],
}

/// What the pointer picked while the lanes were drawn; later lanes and rows win.
#[derive(Default)]
struct Picks {
    hover: Option<String>,
    clicked: Option<u32>,
}

/// One shard's lane and its two rows: records above, invocations below.
struct Lane {
    shard: usize,
    area: Rect,
    records: Rect,
    invocations: Rect,
}

impl Lane {
    fn new(canvas: Rect, shard: usize, lane_h: f32) -> Lane {
        let (left, width) = (canvas.left(), canvas.width().max(1.0));
        let top = canvas.top() + shard as f32 * lane_h;
        let area = Rect::from_min_size(pos2(left, top), vec2(width, lane_h));
        let records = Rect::from_min_size(pos2(left, top + 3.0), vec2(width, lane_h * 0.42));
        let invocations = Rect::from_min_max(
            pos2(left, records.bottom() + 2.0),
            pos2(area.right(), area.bottom() - 4.0),
        );
        Lane {
            shard,
            area,
            records,
            invocations,
        }
    }
}

/// Draws the timeline and pushes commands for clicks, zoom and pan.
pub fn timeline_ui(
    ui: &mut Ui,
    run: &Run,
    selected: Option<u32>,
    view: Option<TimeView>,
    marks: Marks<'_>,
    cmds: &mut Vec<AppCommand>,
) {
    let pal = Palette::of(ui.visuals());
    let full = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(full, Sense::click_and_drag());
    // A name for screen readers and for tests that click into it.
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Timeline"));
    let canvas = Rect::from_min_max(pos2(full.left() + LABEL_W, full.top() + AXIS_H), full.max);
    let view = view.unwrap_or_else(|| fit_view(run));
    interact(ui, &response, canvas, view, cmds);

    let scene = Scene {
        run,
        painter: ui.painter_at(full),
        view,
        left: canvas.left(),
        width: canvas.width().max(1.0),
        pal: &pal,
        pointer: response.hover_pos().filter(|p| canvas.contains(*p)),
        clicked: response.clicked(),
        found: marks.found,
        bookmarks: marks.bookmarks,
    };
    scene.painter.rect_filled(canvas, 0.0, pal.lane);
    axis::windows_ui(&scene.painter, run, &view, canvas, &pal);
    axis::axis_ui(
        &scene.painter,
        &view,
        full,
        canvas,
        &pal,
        ui.visuals().text_color(),
    );

    let lane_h = (canvas.height() / run.stream.shards.len().max(1) as f32).clamp(14.0, 150.0);
    let mut picks = Picks::default();
    lanes_ui(ui, &scene, canvas, lane_h, selected, &mut picks);
    dynamics::lineage_ui(&scene, canvas, lane_h, &mut picks);
    if let Some(inv) = selected.and_then(|k| run.trace.invocations.get(k as usize)) {
        selection::selection_ui(&scene, canvas, lane_h, inv);
    }
    dynamics::mapping_start_ui(&scene, canvas, &mut picks);
    later_hint_ui(&scene, canvas);
    // Labels last, on their own background: whatever a lane draws left of the view (a box that
    // started earlier, a link) ends at the label column instead of running over the names.
    let labels = Rect::from_min_max(
        pos2(full.left(), canvas.top()),
        pos2(canvas.left(), full.bottom()),
    );
    scene
        .painter
        .rect_filled(labels, 0.0, ui.visuals().panel_fill);
    for s in 0..run.stream.shards.len() {
        let lane = Lane::new(canvas, s, lane_h);
        if lane.area.top() > canvas.bottom() {
            break;
        }
        lane_label_ui(&scene, &lane, full.left(), ui.visuals().text_color());
    }

    if let Some(k) = picks.clicked {
        cmds.push(AppCommand::Select(k));
    }
    window_label_click(&scene, canvas, response.interact_pointer_pos(), cmds);
    if let Some(text) = picks.hover {
        response.on_hover_ui_at_pointer(|ui| {
            ui.label(egui::RichText::new(text).monospace());
        });
    }
}

/// Each visible lane's records, invocations and marks; a click on a lane away from any box
/// picks the invocation running there.
fn lanes_ui(
    ui: &Ui,
    scene: &Scene,
    canvas: Rect,
    lane_h: f32,
    selected: Option<u32>,
    picks: &mut Picks,
) {
    let (run, view) = (scene.run, scene.view);
    for s in 0..run.stream.shards.len() {
        let lane = Lane::new(canvas, s, lane_h);
        if lane.area.top() > canvas.bottom() {
            break;
        }
        if !ui.is_rect_visible(lane.area) {
            continue;
        }
        shard_end_ui(scene, &lane, picks);
        records::records_ui(scene, &lane, selected, picks);
        dynamics::unread_ui(scene, &lane, picks);
        dynamics::filtered_ui(scene, &lane, picks);
        records::found_ui(scene, &lane);
        flags::bookmarks_ui(scene, &lane, picks);
        invocations::invocations_ui(scene, &lane, picks);
        dynamics::cold_starts_ui(scene, &lane, picks);
        // After the boxes: drawn over them, and a click on the cross means the discard.
        discards_ui(scene, &lane, picks);
        // Clicking a lane away from any box selects the invocation running at that time.
        if picks.clicked.is_none()
            && scene.clicked
            && let Some(p) = scene.pointer
            && lane.area.contains(p)
        {
            let t = view.time_from_x(p.x, scene.left, scene.width) as i64;
            picks.clicked = run.index.invocation_at(&run.trace, s, t);
        }
    }
}

/// A click in the row of window labels (just above the lanes) opens that window's view.
fn window_label_click(
    scene: &Scene,
    canvas: Rect,
    pointer: Option<Pos2>,
    cmds: &mut Vec<AppCommand>,
) {
    let Some(len) = scene.run.spec.settings.window_ms() else {
        return;
    };
    let row = Rect::from_min_max(
        pos2(canvas.left(), canvas.top() - 14.0),
        pos2(canvas.right(), canvas.top()),
    );
    if let Some(p) = pointer.filter(|p| scene.clicked && row.contains(*p)) {
        let t = scene.view.time_from_x(p.x, scene.left, scene.width) as i64;
        cmds.push(AppCommand::ShowWindow(
            crate::model::Window::containing(t, len).start_ms,
        ));
    }
}

/// The lane's bottom rule and, when there is room, its shard label in the label column.
fn lane_label_ui(scene: &Scene, lane: &Lane, label_left: f32, text: egui::Color32) {
    let area = lane.area;
    scene.painter.line_segment(
        [
            pos2(label_left, area.bottom()),
            pos2(area.right(), area.bottom()),
        ],
        Stroke::new(1.0, scene.pal.boundary.gamma_multiply(0.5)),
    );
    if area.height() < 18.0 {
        return;
    }
    let id = &scene.run.stream.shards[lane.shard].id;
    // Kinesis ids fit whole. Long ids (DynamoDB's creation time and hex suffix) share a prefix,
    // so show the lane number and the part that tells them apart.
    let label = if id.len() > 20 {
        let tail = &id[id.floor_char_boundary(id.len() - 12)..];
        Cow::Owned(format!("#{} …{tail}", lane.shard))
    } else {
        Cow::Borrowed(id.as_str())
    };
    scene.painter.text(
        pos2(label_left + 4.0, area.top() + area.height() * 0.5),
        Align2::LEFT_CENTER,
        label,
        FontId::monospace(10.0),
        text,
    );
    let parents = &scene.run.stream.shards[lane.shard].parents;
    if !parents.is_empty() && area.height() >= 34.0 {
        let from: Vec<String> = parents.iter().map(|p| format!("#{p}")).collect();
        scene.painter.text(
            pos2(label_left + 4.0, area.top() + area.height() * 0.5 + 12.0),
            Align2::LEFT_CENTER,
            format!("child of {}", from.join(", ")),
            FontId::proportional(9.0),
            scene.pal.dim,
        );
    }
}

/// Where a closed shard's end was read: a bar across its lane. Its children start after it.
fn shard_end_ui(scene: &Scene, lane: &Lane, picks: &mut Picks) {
    let ends = &scene.run.trace.shard_ends;
    let Some(&(_, at)) = ends.iter().find(|(s, _)| *s as usize == lane.shard) else {
        return;
    };
    let x = scene.view.x_from_time(at as f64, scene.left, scene.width);
    if x < scene.left || x > scene.left + scene.width {
        return;
    }
    let area = lane.area;
    scene.painter.line_segment(
        [pos2(x, area.top() + 1.0), pos2(x, area.bottom() - 1.0)],
        Stroke::new(3.0, scene.pal.boundary),
    );
    if area.height() >= 30.0 {
        scene.painter.text(
            pos2(x + 3.0, area.top() + 2.0),
            Align2::LEFT_TOP,
            "SHARD_END",
            FontId::monospace(9.0),
            scene.pal.dim,
        );
    }
    if let Some(p) = scene.pointer
        && (p.x - x).abs() <= 3.0
        && area.contains(p)
    {
        picks.hover = Some(format!(
            "{} read to its end at {}: its window closed at once; its children start after this",
            scene.run.stream.shards[lane.shard].id,
            crate::model::clock_millis(at)
        ));
    }
}

/// Where a batch was discarded (retries or record age exhausted): a red cross over the
/// invocations row, labelled when there is room; hover says which records and where they went,
/// a click selects the last attempt (its inspector shows the on-failure destination record).
fn discards_ui(scene: &Scene, lane: &Lane, picks: &mut Picks) {
    let row = lane.invocations;
    let mut last_x = f32::NEG_INFINITY;
    for d in scene
        .run
        .trace
        .discards
        .iter()
        .filter(|d| d.shard as usize == lane.shard)
    {
        let x = scene
            .view
            .x_from_time(d.at_ms as f64, scene.left, scene.width);
        // Culled off screen, and one mark per few points when discards crowd together.
        if x < scene.left || x > scene.left + scene.width || x - last_x < 3.0 {
            continue;
        }
        last_x = x;
        let r = 4.0;
        let c = pos2(x, row.top() + r + 1.0);
        let stroke = Stroke::new(2.0, scene.pal.error);
        scene
            .painter
            .line_segment([c + vec2(-r, -r), c + vec2(r, r)], stroke);
        scene
            .painter
            .line_segment([c + vec2(-r, r), c + vec2(r, -r)], stroke);
        if row.height() >= 30.0 {
            scene.painter.text(
                c + vec2(r + 2.0, -r),
                Align2::LEFT_TOP,
                "DISCARDED",
                FontId::monospace(9.0),
                scene.pal.error,
            );
        }
        if let Some(p) = scene.pointer
            && (p.x - x).abs() <= r + 1.0
            && (p.y - c.y).abs() <= r + 1.0
        {
            picks.hover = Some(discard_text(scene.run, d));
            if scene.clicked && d.invocation > 0 {
                picks.clicked = Some(d.invocation - 1);
            }
        }
    }
}

/// A discard in words: which records, when, why and where they went.
pub fn discard_text(run: &Run, d: &crate::sim::trace::Discard) -> String {
    let tried = match d.attempts {
        0 => "before any attempt (too old when read)".to_owned(),
        n => format!("after {n} attempt(s)"),
    };
    format!(
        "{} records of {} discarded at {} {tried} ({}): sent to the on-failure destination, \
         or lost if none is configured",
        d.records.len(),
        run.stream.shards[d.shard as usize].id,
        crate::model::clock_millis(d.at_ms),
        d.condition
    )
}

fn interact(
    ui: &Ui,
    response: &egui::Response,
    canvas: Rect,
    view: TimeView,
    cmds: &mut Vec<AppCommand>,
) {
    if let Some(change) = navigate(ui, response, canvas.left(), canvas.width(), view) {
        cmds.push(AppCommand::SetView(change));
    }
}

/// How a drag, double click or wheel over `response` changes the shared time view, for a
/// canvas whose time axis runs from `left` across `width` points: `Some(None)` is "fit".
/// The timeline and the plots both navigate with it, so they stay one time axis.
pub fn navigate(
    ui: &Ui,
    response: &egui::Response,
    left: f32,
    width: f32,
    view: TimeView,
) -> Option<Option<TimeView>> {
    let width = width.max(1.0);
    if response.double_clicked() {
        return Some(None);
    }
    if response.dragged() {
        let dx = response.drag_delta().x;
        return (dx != 0.0).then(|| Some(view.pan(dx, width)));
    }
    if !response.hovered() {
        return None;
    }
    let (scroll, zoom, pointer) =
        ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta(), i.pointer.hover_pos()));
    let x = pointer.map_or(left + width / 2.0, |p| p.x.clamp(left, left + width));
    let mut v = view;
    if zoom != 1.0 {
        v = v.zoom_at(x, f64::from(zoom), left, width);
    }
    if scroll.y != 0.0 {
        // The wheel zooms about the pointer; a horizontal scroll pans.
        v = v.zoom_at(x, (f64::from(scroll.y) * 0.004).exp(), left, width);
    }
    if scroll.x != 0.0 {
        v = v.pan(scroll.x, width);
    }
    (v != view).then_some(Some(v))
}

/// The view "fit" shows for a run (no view chosen yet, or after a double click).
pub fn fit_view(run: &Run) -> TimeView {
    let window = run.spec.settings.window_ms().unwrap_or(10_000);
    let (t0, t1) = run.index.fit_range(window);
    TimeView::fit(t0, t1)
}

/// When invocations lie right of the view (the grace tail that fit leaves out), says so at the
/// right end of the axis: when they are and how to see them.
fn later_hint_ui(scene: &Scene, canvas: Rect) {
    let (_, end) = scene.view.range_ms();
    if scene.run.index.t_max <= end {
        return;
    }
    // Per shard, a binary search in start order (walking back from the trace's end counted
    // millions each frame when zoomed into the middle of a big run).
    let invs = &scene.run.trace.invocations;
    let later: usize = scene
        .run
        .index
        .by_shard
        .iter()
        .map(|list| list.len() - list.partition_point(|&k| invs[k as usize].start_ms <= end))
        .sum();
    if later == 0 {
        return;
    }
    let text = format!(
        "{later} more until {} (zoom out)",
        crate::model::clock_seconds(scene.run.index.t_max)
    );
    let galley = scene
        .painter
        .layout_no_wrap(text, FontId::proportional(11.0), scene.pal.dim);
    let at = pos2(canvas.right() - 4.0 - galley.size().x, canvas.top() + 2.0);
    // On a backing of its own, so window lines and record marks do not cut through it.
    let back = Rect::from_min_size(at, galley.size()).expand(2.0);
    scene.painter.rect_filled(back, 2.0, scene.pal.lane);
    scene.painter.galley(at, galley, scene.pal.dim);
}
