//! File → Capture from stream…, clicked through by label with egui_kittest against a real local
//! Kinesis API (moto's server on a free loopback port). Its own test binary: the capture reads
//! AWS credentials from the environment, which is set here before anything else runs.
#![cfg(feature = "gui")]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tumblescope::app::TumbleApp;
use tumblescope::app::state::StartupOptions;

mod common;

type State = Option<TumbleApp>;

fn app<'h>(h: &'h Harness<'static, State>) -> &'h TumbleApp {
    h.state().as_ref().expect("app built")
}

fn settle(h: &mut Harness<'static, State>) {
    for _ in 0..3 {
        if let Some(app) = h.state_mut().as_mut() {
            app.wait_for_job(Duration::from_secs(60));
        }
        h.run_steps(3);
    }
}

fn type_into(h: &mut Harness<'static, State>, field: &str, text: &str) {
    h.get_by_label(field).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label(field).type_text(text);
    h.run_steps(1);
}

/// A mistake is named in the window; a capture runs on its own thread with a progress bar and
/// Stop, and the captured files open as the stream when it ends.
#[test]
fn a_capture_from_a_stream_opens_as_the_stream() {
    // SAFETY: the only test of this binary, before any thread that reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/tumblescope-config");
        std::env::set_var(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/tumblescope-credentials",
        );
        std::env::remove_var("AWS_PROFILE");
    }
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(
            |ui, state: &mut State| {
                let app = state.get_or_insert_with(|| {
                    TumbleApp::new(ui.ctx(), None, StartupOptions::default())
                });
                app.frame(ui);
            },
            None,
        );
    h.step();
    settle(&mut h);
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Capture from stream…").click();
    h.run_steps(2);
    assert!(
        app(&h).capture.open,
        "File → Capture from stream… opens the window"
    );
    h.run_steps(2);
    h.get_by_label("Start capture").click();
    h.run_steps(2);
    h.get_by_label("Name the stream to capture.");

    let Some(moto) = common::moto::moto(&[]) else {
        return;
    };
    common::moto::boto3(
        &moto.url,
        "k.create_stream(StreamName='till', ShardCount=2)\n\
         for i in range(30):\n    \
           k.put_record(StreamName='till', PartitionKey='store-%d' % i, \
                        Data=json.dumps({'Item': {'sales': 2}}).encode())\n",
    );
    let out = std::env::temp_dir().join(format!("tumblescope-ui-capture-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    type_into(&mut h, "Stream name", "till");
    type_into(&mut h, "Stop after records", "30");
    type_into(&mut h, "Region", "us-east-1");
    type_into(&mut h, "Endpoint URL", &moto.url);
    type_into(&mut h, "Save to folder", &out.display().to_string());
    h.get_by_label("Start capture").click();
    h.run_steps(2);
    assert!(
        app(&h).capture.job.is_some(),
        "{:?}",
        app(&h).capture.outcome
    );
    h.get_by_label("Stop");
    let started = Instant::now();
    while app(&h).capture.job.is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the capture ends"
        );
        std::thread::sleep(Duration::from_millis(50));
        h.run_steps(1);
    }
    settle(&mut h);
    let a = app(&h);
    let summary = a
        .capture
        .outcome
        .clone()
        .expect("an outcome")
        .expect("captured");
    assert!(
        summary.starts_with("Captured 30 record(s) from 2 shard(s)"),
        "{summary}"
    );
    let run = a.run.as_ref().expect("the capture opened");
    assert_eq!(run.stream.len(), 30);
    assert!(
        run.spec.input_paths().iter().all(|p| p.starts_with(&out)),
        "{:?}",
        run.spec.input_paths()
    );
    h.get_by_label_contains("Captured 30 record(s)");
    std::fs::remove_dir_all(&out).ok();
}
