//! Image snapshots of the main screen in dark and light (needs a wgpu adapter, e.g. Mesa's
//! lavapipe from `mesa-vulkan-drivers`): `cargo test --features snapshots --test ui_snapshots`.
//! Update with `UPDATE_SNAPSHOTS=1`.
#![cfg(feature = "snapshots")]

use std::time::Duration;

use egui_kittest::{Harness, SnapshotResults};
use tumblescope::app::TumbleApp;
use tumblescope::app::state::StartupOptions;

fn main_screen(theme: egui::Theme) -> Harness<'static, Option<TumbleApp>> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .with_theme(theme)
        .wgpu()
        .build_ui_state(
            move |ui, state: &mut Option<TumbleApp>| {
                let app = state.get_or_insert_with(|| {
                    TumbleApp::new(
                        ui.ctx(),
                        None,
                        StartupOptions {
                            light: theme == egui::Theme::Light,
                            ..StartupOptions::default()
                        },
                    )
                });
                app.frame(ui);
            },
            None,
        );
    h.step();
    for _ in 0..3 {
        if let Some(app) = h.state_mut().as_mut() {
            app.wait_for_job(Duration::from_secs(60));
        }
        h.run_steps(4);
    }
    // The status bar shows the wall-clock simulation time, which varies run to run.
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, 968.0),
        egui::pos2(1600.0, 1000.0),
    ));
    h
}

#[test]
fn main_screen_dark_and_light() {
    let mut results = SnapshotResults::new();
    let mut dark = main_screen(egui::Theme::Dark);
    results.add(dark.try_snapshot("main_dark"));
    let mut light = main_screen(egui::Theme::Light);
    results.add(light.try_snapshot("main_light"));
}
