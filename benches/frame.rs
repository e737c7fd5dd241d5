//! Frame time of the full main screen at 1600×1000 with 1 million records on 8 shards and about
//! 10,000 invocations, while panning and zooming the timeline: the real app, driven headlessly
//! through an `egui::Context` (CPU only). Also compares loading-to-first-frame with the
//! simulation alone.
//!
//! Run: `cargo bench --bench frame` (set `TUMBLESCOPE_BENCH_RECORDS` for a smaller stream).
//!
//! With `TUMBLESCOPE_BENCH_FILE=orders.jsonl` it opens that file instead, on 8 shards with 30 s
//! windows (the speed issue's 10 M-order sparse file: `tumblescope generate --count 10000000
//! --interval-ms 160 --jitter 0.6 --keys uniform:10000 -o sparse10m.jsonl`, 1.3 GB, about 8 M
//! invocations), and also reports peak memory against the file's size and a re-run after a
//! setting change (batch size) against the first run.

#[path = "common/dense.rs"]
mod dense;

use std::time::{Duration, Instant};

use tumblescope::app::TumbleApp;
use tumblescope::app::command::AppCommand;
use tumblescope::app::panels::timeline::view::TimeView;
use tumblescope::app::state::StartupOptions;
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

/// The generated dense stream: ~4,000 orders/s over 8 shards, so reads every 200 ms return
/// about 100 records per shard, and batches of 100 give about n/100 invocations.
fn generated_spec(n: u64) -> RunSpec {
    let opts = dense::options(n);
    RunSpec {
        source: SourceSpec::Generated {
            options: opts.clone(),
        },
        stream_source: opts.source,
        shards: opts.shards,
        ..RunSpec::demo()
    }
}

/// An orders file on 8 shards with 30 s windows, summing `Item.sales`.
fn file_spec(path: &std::path::Path) -> RunSpec {
    let mut spec = RunSpec {
        source: SourceSpec::Files {
            paths: vec![path.to_path_buf()],
        },
        shards: 8,
        handler: "builtin:sum:Item.sales".into(),
        ..RunSpec::demo()
    };
    spec.settings.tumbling_window_s = 30;
    spec
}

/// Peak memory so far (VmHWM, Linux), bytes.
fn peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak memory against the file's size, then a re-run after a setting change (the loaded
/// stream is reused) against the first run.
fn rerun_and_memory(
    ctx: &egui::Context,
    app: &mut TumbleApp,
    path: &std::path::Path,
    first: Duration,
) {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let peak = peak_bytes().unwrap_or(0);
    println!(
        "peak memory {:.0} MB for a {:.0} MB file: {:.2}x its size",
        peak as f64 / 1e6,
        size as f64 / 1e6,
        peak as f64 / size.max(1) as f64
    );
    app.draft.settings.batch_size = 50;
    let t = Instant::now();
    app.apply(AppCommand::Rerun);
    app.wait_for_job(Duration::from_secs(1800));
    let again = t.elapsed();
    frame(ctx, app, 0.5);
    let sim = app.run.as_ref().map_or(Duration::ZERO, |r| r.took);
    println!(
        "re-run after a setting change (batch size 50): {:.0} ms (simulation {:.0} ms), first run {:.0} ms: {:.1}x faster",
        again.as_secs_f64() * 1000.0,
        sim.as_secs_f64() * 1000.0,
        first.as_secs_f64() * 1000.0,
        first.as_secs_f64() / again.as_secs_f64()
    );
    let peak = peak_bytes().unwrap_or(0);
    println!(
        "peak memory through the re-run {:.0} MB: {:.2}x the file's size",
        peak as f64 / 1e6,
        peak as f64 / size.max(1) as f64
    );
    // For comparison, the way small runs re-run: the last run stays on screen meanwhile, so the
    // new trace goes to fresh memory beside it.
    app.reuse_trace_bytes = usize::MAX;
    app.draft.settings.batch_size = 100;
    let t = Instant::now();
    app.apply(AppCommand::Rerun);
    app.wait_for_job(Duration::from_secs(1800));
    let kept = t.elapsed();
    app.reuse_trace_bytes = tumblescope::app::rerun::REUSE_TRACE_BYTES;
    println!(
        "the same re-run with the last run kept on screen meanwhile (batch size 100): {:.0} ms, {:.1}x faster than the first run; peak memory then {:.2}x the file",
        kept.as_secs_f64() * 1000.0,
        first.as_secs_f64() / kept.as_secs_f64(),
        peak_bytes().unwrap_or(0) as f64 / size.max(1) as f64
    );
}

fn main() {
    let n = dense::records();
    let ctx = egui::Context::default();
    let mut app = TumbleApp::new(&ctx, None, StartupOptions::default());
    app.wait_for_job(Duration::from_secs(120));
    let file = std::env::var_os("TUMBLESCOPE_BENCH_FILE").map(std::path::PathBuf::from);
    app.draft = match &file {
        Some(path) => file_spec(path),
        None => generated_spec(n),
    };
    let load_start = Instant::now();
    app.apply(AppCommand::Rerun);
    app.wait_for_job(Duration::from_secs(1800));
    let loaded = load_start.elapsed();
    let run = app.run.as_ref().expect("run finished");
    let sim = run.took;
    let invocations = run.trace.invocations.len();
    let records = run.source.len();
    let (t_min, t_max) = (run.index.t_min, run.index.t_max);
    let first = frame(&ctx, &mut app, 0.0);
    println!(
        "{records} records on 8 shards, {invocations} invocations; load {:.0} ms (simulation {:.0} ms) + first frame {:.1} ms",
        loaded.as_secs_f64() * 1000.0,
        sim.as_secs_f64() * 1000.0,
        first.as_secs_f64() * 1000.0
    );
    if let Some(path) = &file {
        rerun_and_memory(&ctx, &mut app, path, loaded);
    }

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
