//! Frame time of the full main screen at 1600×1000 with 1 million records on 8 shards and about
//! 10,000 invocations, while panning and zooming the timeline: the real app, driven headlessly
//! through an `egui::Context` (CPU only). Also compares loading-to-first-frame with the
//! simulation alone.
//!
//! Run: `cargo bench --bench frame` (set `TUMBLESCOPE_BENCH_RECORDS` for a smaller stream).

use std::time::{Duration, Instant};

use tumblescope::app::TumbleApp;
use tumblescope::app::command::AppCommand;
use tumblescope::app::panels::timeline::view::TimeView;
use tumblescope::app::state::StartupOptions;
use tumblescope::generate::{GenOptions, KeyStrategy};
use tumblescope::run::{RunSpec, SourceSpec};

fn input(t: f64) -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1600.0, 1000.0),
        )),
        time: Some(t),
        ..Default::default()
    }
}

fn frame(ctx: &egui::Context, app: &mut TumbleApp, t: f64) -> Duration {
    let start = Instant::now();
    let out = ctx.run_ui(input(t), |ui| app.frame(ui));
    let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
    std::hint::black_box(prims);
    start.elapsed()
}

fn main() {
    let n: u64 = std::env::var("TUMBLESCOPE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let ctx = egui::Context::default();
    let mut app = TumbleApp::new(&ctx, None, StartupOptions::default());
    app.wait_for_job(Duration::from_secs(120));
    // ~4,000 orders/s over 8 shards: reads every 200 ms return about 100 records per shard, so
    // batches of 100 give about n/100 invocations.
    let opts = GenOptions {
        count: n,
        interval_ms: 0.25,
        shards: 8,
        keys: KeyStrategy::Uniform { n: 64 },
        ..GenOptions::default()
    };
    app.draft = RunSpec {
        source: SourceSpec::Generated {
            options: opts.clone(),
        },
        stream_source: opts.source,
        shards: opts.shards,
        ..RunSpec::demo()
    };
    let load_start = Instant::now();
    app.apply(AppCommand::Rerun);
    app.wait_for_job(Duration::from_secs(600));
    let loaded = load_start.elapsed();
    let run = app.run.as_ref().expect("run finished");
    let sim = run.took;
    let invocations = run.trace.invocations.len();
    let (t_min, t_max) = (run.index.t_min, run.index.t_max);
    let first = frame(&ctx, &mut app, 0.0);
    println!(
        "{n} records on 8 shards, {invocations} invocations; load {:.0} ms (simulation {:.0} ms) + first frame {:.1} ms",
        loaded.as_secs_f64() * 1000.0,
        sim.as_secs_f64() * 1000.0,
        first.as_secs_f64() * 1000.0
    );

    for k in 0..10 {
        frame(&ctx, &mut app, 0.016 * f64::from(k));
    }
    let mut times = Vec::new();
    let full = TimeView::fit(t_min, t_max);
    let mut view = full;
    for k in 0..300u32 {
        // Zoom in towards the middle for a while, pan across, zoom back out.
        let phase = k % 100;
        view = if phase < 35 {
            view.zoom_at(800.0, 1.08, 432.0, 728.0)
        } else if phase < 70 {
            view.pan(-25.0, 728.0)
        } else {
            view.zoom_at(800.0, 1.0 / 1.08, 432.0, 728.0)
        };
        if phase == 99 {
            view = full;
        }
        app.apply(AppCommand::SetView(Some(view)));
        if k % 7 == 0 {
            app.apply(AppCommand::Next);
        }
        times.push(frame(&ctx, &mut app, 1.0 + 0.016 * f64::from(k)));
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "frame (build + tessellate) while panning and zooming, 300 frames: median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[times.len() - 1])
    );
}
