//! The app, clicked through by label with egui_kittest (no GPU needed).
#![cfg(feature = "gui")]

mod common;

use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use tumblescope::app::TumbleApp;
use tumblescope::app::command::AppCommand;
use tumblescope::app::state::StartupOptions;
use tumblescope::sim::trace::Kind;

type State = Option<TumbleApp>;

/// A folder of this test process's own under the temporary directory, made if missing.
fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ts-ui-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn harness() -> Harness<'static, State> {
    harness_sized(1600.0, 1000.0)
}

/// Waits for the background job, then lets the UI settle.
fn settle(h: &mut Harness<'static, State>) {
    for _ in 0..3 {
        if let Some(app) = h.state_mut().as_mut() {
            app.wait_for_job(Duration::from_secs(60));
        }
        h.run_steps(3);
    }
}

/// Types a handler spec into the setup panel's Spec field, replacing what is there.
fn set_spec(h: &mut Harness<'static, State>, spec: &str) {
    h.get_by_label("Spec").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("Spec").type_text(spec);
    await_rerun(h);
}

/// Waits out the setup panel's short delay before a changed draft re-runs, then the run.
fn await_rerun(h: &mut Harness<'static, State>) {
    h.run_steps(2);
    std::thread::sleep(Duration::from_millis(400));
    h.run_steps(2);
    settle(h);
}

/// Opens a file the way a user without a file dialog does: File, type into Path, Open.
fn open_by_typed_path(h: &mut Harness<'static, State>, path: &std::path::Path) {
    h.get_by_label("File").click();
    h.run_steps(2);
    // Clicked as a user would: the File menu stays open for clicks inside it.
    h.get_by_label("Path:").click();
    h.run_steps(1);
    // Replace what an earlier open left there.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("Path:")
        .type_text(&path.display().to_string());
    h.run_steps(1);
    h.get_by_label("Open").click();
    h.run_steps(2);
    settle(h);
}

/// Opens a scenario the way a user does: Scenarios menu, then its title.
fn open_scenario(h: &mut Harness<'static, State>, id: &str) {
    let title = tumblescope::scenarios::by_id(id).unwrap().title;
    h.get_by_label("Scenarios").click();
    h.run_steps(2);
    h.get_by_label(title).click();
    h.run_steps(2);
    settle(h);
    let run = app(h).run.as_ref().expect("scenario ran");
    assert_eq!(
        run.spec.source,
        tumblescope::run::SourceSpec::Scenario { id: id.into() }
    );
}

fn app<'h>(h: &'h Harness<'static, State>) -> &'h TumbleApp {
    h.state().as_ref().expect("app built")
}

#[test]
fn starts_on_the_demo_with_the_first_invocation_selected() {
    let h = harness();
    let a = app(&h);
    let run = a.run.as_ref().expect("demo ran");
    assert_eq!(run.stream.shards.len(), 2);
    assert_eq!(run.spec.settings.tumbling_window_s, 30);
    assert_eq!(a.selected, Some(0));
    let total = run.trace.invocations.len();
    h.get_by_label(&format!("invocation 1 of {total}"));
    h.get_by_label(&format!("Invocation 1 of {total}"));
    h.get_by_label_contains("First batch of window");
}

#[test]
fn next_button_and_arrow_key_advance_the_selection() {
    let mut h = harness();
    let total = app(&h).run.as_ref().unwrap().trace.invocations.len();
    h.get_by_label("Next >").click();
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(1));
    h.get_by_label(&format!("Invocation 2 of {total}"));
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(2));
    h.get_by_label(&format!("invocation 3 of {total}"));
    h.key_press(egui::Key::ArrowLeft);
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(1));
}

#[test]
fn next_final_shows_a_final_invocation_with_the_previous_state_as_input() {
    let mut h = harness();
    h.get_by_label("Next final").click();
    h.run_steps(2);
    let a = app(&h);
    let run = a.run.as_ref().unwrap();
    let k = a.selected.unwrap() as usize;
    let inv = &run.trace.invocations[k];
    assert_eq!(inv.kind, Kind::Final);
    assert_eq!(inv.record_count(), 0);
    let previous = run.trace.invocations[..k]
        .iter()
        .rev()
        .find(|i| i.shard == inv.shard)
        .unwrap();
    assert_eq!(previous.state_out.as_ref(), Some(&inv.state_in));
    let sales = inv.state_in.to_json()["sales"].to_string();
    let state_len = inv.state_in.json_len();
    h.get_by_label("Records (0)");
    h.get_by_label_contains("Final invocation of window");
    h.get_by_label("isFinalInvokeForWindow: true   isWindowTerminatedEarly: false");
    // The state tab shows the input state the previous invocation returned.
    h.get_by_label("State").click();
    h.run_steps(2);
    h.get_by_label_contains(&format!("Input state ({state_len} bytes)"));
    assert!(h.get_all_by_label(&sales).count() >= 1);
}

/// F steps through every invocation sent with `isFinalInvokeForWindow: true`, early
/// terminations included (they are final too under Q3's default); a jump with nothing to jump
/// to is disabled.
#[test]
fn f_stops_on_early_terminations_and_empty_jumps_are_disabled() {
    let mut h = harness();
    assert!(
        h.get_by_label("Next failure")
            .accesskit_node()
            .is_disabled(),
        "the demo never fails"
    );
    assert!(!h.get_by_label("Next final").accesskit_node().is_disabled());
    open_scenario(&mut h, "big-state");
    let trace = app(&h).run.as_ref().unwrap().trace.clone();
    let sent_final: Vec<u32> = (0..trace.invocations.len() as u32)
        .filter(|&k| trace.invocations[k as usize].is_final)
        .collect();
    let first_early = trace
        .invocations
        .iter()
        .position(|i| i.kind == Kind::Early)
        .expect("the scenario terminates early") as u32;
    assert!(sent_final.contains(&first_early), "Q3: early is final too");
    h.key_press(egui::Key::Home);
    h.run_steps(2);
    let mut visited = Vec::new();
    for _ in 0..sent_final.len().min(40) {
        h.key_press(egui::Key::F);
        h.run_steps(2);
        visited.push(app(&h).selected.unwrap());
    }
    let expected: Vec<u32> = sent_final
        .iter()
        .copied()
        .filter(|&k| k > 0)
        .take(visited.len())
        .collect();
    assert_eq!(visited, expected);
    assert!(visited.contains(&first_early));
}

/// Help opens below the menu bar and the stepper, whatever the window size, and scrolls when
/// it is taller than the room there.
#[test]
fn help_stays_below_the_menu_bar() {
    for size in [egui::vec2(1600.0, 1000.0), egui::vec2(1280.0, 800.0)] {
        let mut h = harness();
        h.set_size(size);
        h.run_steps(2);
        h.key_press(egui::Key::F1);
        h.run_steps(3);
        let menu_bottom = h.get_by_label("|< First").rect().bottom();
        let help = h.get_by_label("tumblescope help").rect();
        assert!(
            help.top() >= menu_bottom,
            "{help:?} vs {menu_bottom} at {size:?}"
        );
        assert!(help.bottom() <= size.y, "{help:?} at {size:?}");
    }
}

/// The function timeout is set in the setup panel like every other setting, range-checked.
#[test]
fn the_function_timeout_is_set_in_the_setup_panel() {
    let mut h = harness();
    h.get_by_label("Execution environments (user handlers)")
        .click();
    h.run_steps(2);
    h.get_by_label("Function timeout (ms)")
        .set_value_accesskit(60_000.0);
    await_rerun(&mut h);
    assert_eq!(
        app(&h).run.as_ref().unwrap().spec.settings.timeout_ms,
        60_000
    );
    h.get_by_label("Function timeout (ms)")
        .set_value_accesskit(0.0);
    await_rerun(&mut h);
    // Under the field and in the status bar.
    assert!(
        h.get_all_by_label_contains("timeout = 0 is out of range: valid range is 1–900000 ms")
            .count()
            >= 1
    );
    assert_eq!(
        app(&h).run.as_ref().unwrap().spec.settings.timeout_ms,
        60_000
    );
}

/// Side by side or one at a time: a setting beside the other environment ones, re-running.
#[test]
fn shards_can_be_run_one_at_a_time_from_the_setup_panel() {
    let mut h = harness();
    h.get_by_label("Execution environments (user handlers)")
        .click();
    h.run_steps(2);
    assert!(!app(&h).run.as_ref().unwrap().spec.settings.shards_in_order);
    h.get_by_label("Run shards one at a time").click();
    await_rerun(&mut h);
    assert!(app(&h).run.as_ref().unwrap().spec.settings.shards_in_order);
}

#[test]
fn an_invalid_window_shows_the_range_error_and_keeps_the_last_good_run() {
    let mut h = harness();
    let before = app(&h).run.as_ref().unwrap().generation;
    h.get_by_label("TumblingWindowInSeconds")
        .set_value_accesskit(1000.0);
    h.run_steps(3);
    std::thread::sleep(Duration::from_millis(400));
    h.run_steps(3);
    h.get_by_label("TumblingWindowInSeconds = 1000 is out of range: valid range is 0–900 seconds (0 = no tumbling window)");
    let a = app(&h);
    assert_eq!(
        a.run.as_ref().unwrap().generation,
        before,
        "the last good run stays"
    );
    assert!(!a.busy());
    h.get_by_label_contains("showing the last valid run");
}

#[test]
fn records_read_back_from_the_file_and_a_file_changed_in_place_is_said() {
    // Payloads stay in the input file: the inspector shows them read back; once the file is
    // found changed in place the status bar says so, and no other bytes are shown.
    let mut h = harness();
    let dir = scratch_dir("inplace");
    let path = dir.join("orders.jsonl");
    let line = |k: u32, v: &str| {
        format!(
            "{{\"timestamp\":{},\"partitionKey\":\"k{k}\",\"data\":{{\"Item\":{{\"note\":\"{v}\"}}}}}}\n",
            1_767_268_800 + k
        )
    };
    let text: String = (0..20).map(|k| line(k, "as-written")).collect();
    std::fs::write(&path, &text).unwrap();
    open_by_typed_path(&mut h, &path);
    let run = app(&h).run.as_ref().unwrap();
    assert!(run.stream.payload_in_file(0));
    h.get_by_label_contains("as-written");
    let changed: String = (0..20).map(|k| line(k, "edited meanwhile")).collect();
    std::fs::write(&path, changed).unwrap();
    // A pass over the records (what Find or a new value column does) reads the file afresh
    // and finds it changed; what the inspector already read stays what was loaded.
    let stream = app(&h).run.as_ref().unwrap().stream.clone();
    assert!(stream.payload_reader().get(0).is_empty());
    h.get_by_label("Next >").click();
    h.run_steps(3);
    h.get_by_label_contains("changed after it was loaded");
    assert!(h.query_by_label_contains("edited meanwhile").is_none());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_big_batchs_event_json_is_shown_once_its_worker_built_it() {
    // 600 records in one second and BatchSize 1000: the first invocation carries all of them,
    // more than the inspector builds in a frame (that choice is unit-tested beside it); the
    // Event JSON tab shows the event once the worker has built it.
    let mut h = harness();
    let dir = scratch_dir("bigevent");
    let path = dir.join("orders.jsonl");
    let text: String = (0..600)
        .map(|k| {
            format!(
                "{{\"timestamp\":1767268800,\"partitionKey\":\"k\",\"data\":{{\"Item\":{{\"sales\":{k}}}}}}}\n"
            )
        })
        .collect();
    std::fs::write(&path, &text).unwrap();
    open_by_typed_path(&mut h, &path);
    h.get_by_label("BatchSize").set_value_accesskit(1000.0);
    await_rerun(&mut h);
    let run = app(&h).run.as_ref().unwrap();
    assert_eq!(run.spec.settings.batch_size, 1000);
    assert_eq!(run.trace.invocations[0].record_count(), 600);
    h.get_by_label_contains("Event JSON").click();
    let mut shown = false;
    for _ in 0..200 {
        h.run_steps(1);
        if h.query_all_by_label_contains("\"sequenceNumber\"")
            .next()
            .is_some()
        {
            shown = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(shown, "the event of 600 records is shown once built");
    assert!(h.query_by_label_contains("Building the event").is_none());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_opened_from_the_file_menu_loads_and_simulates() {
    let mut h = harness();
    let dir = scratch_dir("file");
    let path = dir.join("orders.jsonl");
    let mut text = String::new();
    for k in 0..50 {
        text.push_str(&format!(
            "{{\"timestamp\":{},\"partitionKey\":\"k{}\",\"data\":{{\"Item\":{{\"sales\":{}}}}}}}\n",
            1_767_268_800 + k,
            k % 3,
            k
        ));
    }
    std::fs::write(&path, text).unwrap();
    open_by_typed_path(&mut h, &path);
    let a = app(&h);
    let run = a.run.as_ref().unwrap();
    assert_eq!(run.stream.len(), 50);
    assert_eq!(a.selected, Some(0));
    assert_eq!(a.prefs.recent.first(), Some(&path));
    let total: i64 = run
        .trace
        .windows
        .iter()
        .map(|w| {
            w.final_state.as_ref().unwrap().to_json()["sales"]
                .as_i64()
                .unwrap()
        })
        .sum();
    assert_eq!(total, (0..50).sum::<i64>());
    assert!(h.get_all_by_label_contains("file: ").count() >= 1);

    // A broken file: an error with file, line and column; the last good run stays.
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"timestamp\":1,\"partitionKey\":\"a\",\"data\":{}}\n{oops}\n",
    )
    .unwrap();
    open_by_typed_path(&mut h, &bad);
    let a = app(&h);
    assert_eq!(a.run.as_ref().unwrap().stream.len(), 50);
    assert!(a.status.is_error);
    assert!(a.status.text.contains("bad.jsonl:2:2"), "{}", a.status.text);
    // The status bar shows it.
    h.get_by_label_contains("bad.jsonl:2:2");

    // A path that names nothing: an error, and no place in Open recent.
    let missing = dir.join("not-there.jsonl");
    open_by_typed_path(&mut h, &missing);
    let a = app(&h);
    assert!(a.status.is_error, "{}", a.status.text);
    assert_eq!(a.run.as_ref().unwrap().stream.len(), 50);
    assert!(!a.prefs.recent.contains(&missing), "{:?}", a.prefs.recent);
    assert!(a.prefs.recent.contains(&path));
    // A recent file deleted since is listed but cannot be opened.
    std::fs::remove_file(&bad).unwrap();
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Open recent").hover();
    h.run_steps(2);
    let bad_label = bad.display().to_string();
    assert!(h.get_by_label(&bad_label).accesskit_node().is_disabled());
    assert!(
        !h.get_by_label(&path.display().to_string())
            .accesskit_node()
            .is_disabled()
    );
}

#[test]
fn scenarios_load_from_the_menu() {
    let mut h = harness();
    open_scenario(&mut h, "running-total");
    let run = app(&h).run.as_ref().unwrap();
    let sums: Vec<i64> = run
        .trace
        .windows
        .iter()
        .map(|w| {
            w.final_state.as_ref().unwrap().to_json()["sales"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(sums, [6, 12, 10, 4]);
    // Teaching mode from the setup panel.
    h.get_by_label("Carry state across windows — NOT AWS, teaching mode")
        .click();
    await_rerun(&mut h);
    let run = app(&h).run.as_ref().unwrap();
    let sums: Vec<i64> = run
        .trace
        .windows
        .iter()
        .map(|w| {
            w.final_state.as_ref().unwrap().to_json()["sales"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(sums, [6, 18, 28, 32]);
}

/// A session saved under any name opens as a session (it used to be parsed as orders and
/// leave the app loading forever).
#[test]
fn a_session_not_named_session_json_opens_as_a_session() {
    let mut h = harness();
    let dir = scratch_dir("renamed");
    let mut spec = tumblescope::run::RunSpec::demo();
    spec.settings.batch_size = 37;
    let session = tumblescope::app::session::SessionFile {
        tumblescope_session: tumblescope::app::session::SESSION_VERSION,
        run: spec,
        time_view: None,
        selected: Some(2),
        bookmarks: Vec::new(),
    };
    let path = dir.join("friday-run.json");
    tumblescope::app::session::save_session(&path, &session).unwrap();
    open_by_typed_path(&mut h, &path);
    settle(&mut h);
    let a = app(&h);
    assert!(!a.busy());
    assert_eq!(a.run.as_ref().unwrap().spec.settings.batch_size, 37);
    assert_eq!(
        a.selected,
        Some(1),
        "the session's selection (invocation 2)"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_session_naming_a_handler_file_asks_before_running_it() {
    let mut h = harness();
    let dir = scratch_dir("session");
    let handler = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("sample-data/handlers/kinesis-sales-v2.js");
    let mut spec = tumblescope::run::RunSpec::demo();
    spec.handler = handler.display().to_string();
    let session = tumblescope::app::session::SessionFile {
        tumblescope_session: tumblescope::app::session::SESSION_VERSION,
        run: spec,
        time_view: None,
        selected: Some(3),
        bookmarks: Vec::new(),
    };
    let path = dir.join("s.session.json");
    tumblescope::app::session::save_session(&path, &session).unwrap();
    let before = app(&h).run.as_ref().unwrap().generation;
    // A session typed into File → Path opens as a session.
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Path:").focus();
    h.run_steps(1);
    h.get_by_label("Path:")
        .type_text(&path.display().to_string());
    h.get_by_label("Open").click();
    h.run_steps(6);
    // Nothing runs until the user answers; the dialog shows the handler's path.
    assert!(!app(&h).busy());
    assert_eq!(app(&h).run.as_ref().unwrap().generation, before);
    h.get_by_label(&handler.display().to_string());
    h.get_by_label("Use built-in sum instead").click();
    h.run_steps(2);
    settle(&mut h);
    let a = app(&h);
    assert!(a.awaiting_approval.is_none());
    assert!(a.run.as_ref().unwrap().spec.handler.starts_with("builtin:"));
    assert_eq!(
        a.selected,
        Some(2),
        "the session's selection (invocation 3)"
    );
}

#[test]
fn a_user_handler_runs_in_the_app_and_a_broken_one_keeps_the_last_run() {
    if !common::available("node") {
        return;
    }
    let mut h = harness();
    let handlers =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data/handlers");
    let good = handlers.join("kinesis-sales-v2.js").display().to_string();
    set_spec(&mut h, &good);
    let a = app(&h);
    assert_eq!(a.run.as_ref().unwrap().spec.handler, good);
    // Each shard's first invocation starts an execution environment: the key names the mark.
    h.get_by_label("cold start");
    // The Logs tab shows what the function printed for the selected invocation.
    h.get_by_label("Logs (1)").click();
    h.run_steps(2);
    assert!(h.get_all_by_label_contains("running total").count() >= 1);
    let generation = app(&h).run.as_ref().unwrap().generation;

    let bad = handlers
        .join("faulty-syntax-error.js")
        .display()
        .to_string();
    set_spec(&mut h, &bad);
    let a = app(&h);
    assert_eq!(
        a.run.as_ref().unwrap().generation,
        generation,
        "the last good run stays"
    );
    assert!(a.status.is_error);
    assert!(
        a.status.text.contains("Runtime.UserCodeSyntaxError"),
        "{}",
        a.status.text
    );
    assert_eq!(a.draft.handler, good, "the setup returns to what is shown");
}

#[test]
fn keyboard_shortcuts_step_through_the_run() {
    let mut h = harness();
    let trace = app(&h).run.as_ref().unwrap().trace.clone();
    let total = trace.invocations.len();
    let finals: Vec<usize> = (0..total)
        .filter(|&k| trace.invocations[k].is_final)
        .collect();
    let press = |h: &mut Harness<'static, State>, m: egui::Modifiers, key: egui::Key| {
        h.key_press_modifiers(m, key);
        h.run_steps(2);
    };
    let none = egui::Modifiers::NONE;
    press(&mut h, none, egui::Key::End);
    assert_eq!(app(&h).selected, Some(total as u32 - 1));
    h.get_by_label(&format!("Invocation {total} of {total}"));
    press(&mut h, none, egui::Key::Home);
    assert_eq!(app(&h).selected, Some(0));
    h.get_by_label(&format!("Invocation 1 of {total}"));
    // F and Shift+F: the next and previous final invocation.
    press(&mut h, none, egui::Key::F);
    assert_eq!(app(&h).selected, Some(finals[0] as u32));
    h.get_by_label(&format!("Invocation {} of {total}", finals[0] + 1));
    h.get_by_label("isFinalInvokeForWindow: true   isWindowTerminatedEarly: false");
    press(&mut h, none, egui::Key::F);
    assert_eq!(app(&h).selected, Some(finals[1] as u32));
    press(&mut h, egui::Modifiers::SHIFT, egui::Key::F);
    assert_eq!(app(&h).selected, Some(finals[0] as u32));
    // Space plays and pauses: the button says which.
    press(&mut h, none, egui::Key::Space);
    h.get_by_label("Pause");
    press(&mut h, none, egui::Key::Space);
    h.get_by_label("Play");
}

#[test]
fn e_jumps_to_failures_and_the_inspector_shows_the_error() {
    let mut h = harness();
    open_scenario(&mut h, "failing-handler");
    let trace = app(&h).run.as_ref().unwrap().trace.clone();
    let failed: Vec<usize> = (0..trace.invocations.len())
        .filter(|&k| trace.invocations[k].status == tumblescope::sim::trace::Status::Failed)
        .collect();
    assert!(failed.len() >= 2);
    h.key_press(egui::Key::Home);
    h.run_steps(2);
    h.key_press(egui::Key::E);
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(failed[0] as u32));
    h.get_by_label("failed");
    let e = trace.invocations[failed[0]].error().unwrap();
    h.get_by_label(&format!("{}: {}", e.error_type, e.error_message));
    h.key_press(egui::Key::E);
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(failed[1] as u32));
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::E);
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(failed[0] as u32));
}

#[test]
fn clicking_a_lane_selects_the_invocation_running_there() {
    use tumblescope::app::panels::timeline::{AXIS_H, LABEL_W};
    let mut h = harness();
    let rect = h.get_by_label("Timeline").rect();
    let run = app(&h).run.as_ref().unwrap();
    let trace = run.trace.clone();
    let view = tumblescope::app::panels::timeline::fit_view(run);
    let shards = run.stream.shards.len();
    let (left, width) = (rect.left() + LABEL_W, rect.width() - LABEL_W);
    let lane_h = ((rect.height() - AXIS_H) / shards as f32).clamp(14.0, 150.0);
    // In each lane's invocations row, click in a gap between two boxes (a click on a box
    // selects that box): the invocation running there is the last one started before.
    for shard in 0..shards {
        let px = |t: i64| view.x_from_time(t as f64, left, width);
        let on_shard: Vec<_> = trace
            .invocations
            .iter()
            .filter(|i| i.shard as usize == shard)
            .collect();
        let gap = on_shard
            .windows(2)
            .find(|w| {
                px(w[1].start_ms) - px(w[0].end_ms) > 12.0
                    && px(w[0].end_ms) > left + 20.0
                    && px(w[0].end_ms) < left + width - 20.0
            })
            .expect("a gap between invocations");
        // Fit may leave the grace tail's last final right of the view: click on screen.
        let x = ((px(gap[0].end_ms) + px(gap[1].start_ms)) / 2.0).min(left + width - 10.0);
        let y = rect.top() + AXIS_H + shard as f32 * lane_h + lane_h * 0.75;
        h.hover_at(egui::pos2(x, y));
        h.drag_at(egui::pos2(x, y));
        h.drop_at(egui::pos2(x, y));
        h.run_steps(3);
        let t = view.time_from_x(x, left, width) as i64;
        let expected = trace
            .invocations
            .iter()
            .filter(|i| i.shard as usize == shard && i.start_ms <= t)
            .max_by_key(|i| i.start_ms)
            .unwrap();
        assert_eq!(app(&h).selected, Some(expected.n - 1), "lane {shard}");
        h.get_by_label(&format!(
            "Invocation {} of {}",
            expected.n,
            trace.invocations.len()
        ));
    }
}

/// A click on a record's mark selects the invocation that delivered it, not the one running
/// at its arrival time (usually an earlier batch: the record waits for the next poll).
#[test]
fn clicking_a_record_selects_the_invocation_that_delivered_it() {
    use tumblescope::app::panels::timeline::{AXIS_H, LABEL_W};
    let mut h = harness();
    let rect = h.get_by_label("Timeline").rect();
    let run = app(&h).run.as_ref().unwrap();
    let view = tumblescope::app::panels::timeline::fit_view(run);
    let shards = run.stream.shards.len();
    let (left, width) = (rect.left() + LABEL_W, rect.width() - LABEL_W);
    let lane_h = ((rect.height() - AXIS_H) / shards as f32).clamp(14.0, 150.0);
    let px = |i: usize| view.x_from_time(run.stream.ts_ms[i] as f64, left, width);
    let (shard, i) = (0..shards)
        .flat_map(|s| run.stream.shards[s].range.clone().map(move |i| (s, i)))
        .find(|&(s, i)| {
            let range = &run.stream.shards[s].range;
            let k = run.index.delivered_by[i];
            let alone = (i == range.start || px(i) - px(i - 1) > 3.0)
                && (i + 1 == range.end || px(i + 1) - px(i) > 3.0);
            let running = run.index.invocation_at(&run.trace, s, run.stream.ts_ms[i]);
            alone && k != u32::MAX && running != Some(k) && px(i) < left + width - 10.0
        })
        .expect("a record delivered by a later invocation than the one running at its arrival");
    let expected = run.index.delivered_by[i];
    let at = egui::pos2(
        px(i),
        rect.top() + AXIS_H + shard as f32 * lane_h + 3.0 + lane_h * 0.3,
    );
    click_at(&mut h, at);
    assert_eq!(app(&h).selected, Some(expected));
}

/// Selects invocation `k` (0-based): the stepper's "|< First" (which also takes the focus
/// from any text field, as a user's click does), then → k times.
fn select_by_keys(h: &mut Harness<'static, State>, k: usize) {
    h.get_by_label("|< First").click();
    h.run_steps(1);
    for _ in 0..k {
        h.key_press(egui::Key::ArrowRight);
        h.run_steps(1);
    }
    assert_eq!(app(h).selected, Some(k as u32));
}

/// The first invocation that `pick` chooses in the current run.
fn first_where(
    h: &Harness<'static, State>,
    pick: impl Fn(&tumblescope::sim::trace::Invocation) -> bool,
) -> usize {
    let trace = &app(h).run.as_ref().unwrap().trace;
    trace
        .invocations
        .iter()
        .position(pick)
        .expect("an invocation to inspect")
}

#[test]
fn inspector_warnings_on_state_values_and_size_show_where_they_apply() {
    let mut h = harness();
    // The demo's states hold numbers: said once per run, as a note on the first such
    // invocation, not as a warning on every one.
    let k = first_where(&h, |i| i.kind == Kind::Aggregate && i.state_out.is_some());
    select_by_keys(&mut h, k);
    h.get_by_label_contains(
        "Note for this run (shown once): State values are not strings (sales: whole number)",
    );
    assert!(h.query_by_label_contains("Warning: State values").is_none());
    select_by_keys(&mut h, k + 1);
    assert!(
        h.query_by_label_contains("State values are not strings")
            .is_none(),
        "once per run"
    );

    // Half the 1 MB limit and more.
    open_scenario(&mut h, "big-state");
    let k = first_where(&h, |i| {
        i.window().is_some() && i.state_out.as_ref().unwrap_or(&i.state_in).json_len() >= 524_288
    });
    select_by_keys(&mut h, k);
    h.get_by_label_contains("of the 1 MB limit; past it Lambda terminates the window early.");
}

#[test]
fn the_teaching_mode_warning_shows_on_carried_state_only() {
    let mut h = harness();
    open_scenario(&mut h, "running-total");
    h.get_by_label("Carry state across windows — NOT AWS, teaching mode")
        .click();
    await_rerun(&mut h);
    let carried = first_where(&h, |i| {
        i.flags & tumblescope::sim::trace::flags::CARRIED_STATE != 0
    });
    select_by_keys(&mut h, carried);
    h.run_steps(2);
    let teaching =
        |h: &Harness<'static, State>| h.query_all_by_label_contains("Teaching mode").count();
    assert_eq!(teaching(&h), 1);
    // The first window started from {}: nothing was carried into it.
    select_by_keys(&mut h, 0);
    h.run_steps(2);
    assert_eq!(teaching(&h), 0);
}

#[test]
fn the_late_records_warning_shows_on_the_batch_that_carries_them() {
    // A Kinesis event whose second record (by sequence number) is 30 s older than the first:
    // it joins the window the first one opened.
    let sample =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data/kinesis-event.json");
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(sample).unwrap()).unwrap();
    let template = event["Records"][0].clone();
    let records: Vec<serde_json::Value> = [("1", 1_767_268_840.0), ("2", 1_767_268_810.0)]
        .iter()
        .map(|(last, ts)| {
            let mut r = template.clone();
            let seq = format!("4959033827149025660855969253836157109592157598913658000{last}");
            r["kinesis"]["sequenceNumber"] = seq.clone().into();
            r["kinesis"]["approximateArrivalTimestamp"] = (*ts).into();
            r["eventID"] = format!("shardId-000000000006:{seq}").into();
            r
        })
        .collect();
    let dir = scratch_dir("late");
    let path = dir.join("late-event.json");
    std::fs::write(&path, serde_json::json!({ "Records": records }).to_string()).unwrap();
    let mut h = harness();
    open_by_typed_path(&mut h, &path);
    let late = |h: &Harness<'static, State>| {
        h.query_all_by_label_contains("Some records have timestamps earlier")
            .count()
    };
    select_by_keys(&mut h, 0);
    h.run_steps(2);
    assert_eq!(
        app(&h).run.as_ref().unwrap().trace.invocations[0].record_count(),
        2
    );
    assert_eq!(late(&h), 1);
    // The final carries no records: no warning there.
    select_by_keys(&mut h, 1);
    h.run_steps(2);
    assert_eq!(late(&h), 0);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn handler_state_warnings_show_on_the_invocations_they_concern() {
    if !common::available("node") {
        return;
    }
    let dir = scratch_dir("state");
    // Returns state from aggregates but nothing from finals (accepted by default, Q5).
    let no_final = dir.join("no-final-state.js");
    std::fs::write(
        &no_final,
        "exports.handler = async (event) => event.isFinalInvokeForWindow ? {} : { state: { n: '1' } };\n",
    )
    .unwrap();
    let mut h = harness();
    set_spec(&mut h, &no_final.display().to_string());
    assert_eq!(
        app(&h).run.as_ref().unwrap().spec.handler,
        no_final.display().to_string()
    );
    let warning =
        |h: &Harness<'static, State>, text: &str| h.query_all_by_label_contains(text).count();
    let final_k = first_where(&h, |i| i.kind == Kind::Final);
    select_by_keys(&mut h, final_k);
    h.run_steps(2);
    assert_eq!(warning(&h, "This final invocation returned no"), 1);
    select_by_keys(&mut h, 0);
    h.run_steps(2);
    assert_eq!(warning(&h, "This final invocation returned no"), 0);

    // A handler that forgets state: the failed aggregate explains what to return.
    let forgets = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("sample-data/handlers/faulty-forgets-state.js");
    set_spec(&mut h, &forgets.display().to_string());
    let failed = first_where(&h, |i| {
        i.error()
            .is_some_and(|e| e.error_type == "Tumblescope.MissingState")
    });
    select_by_keys(&mut h, failed);
    h.run_steps(2);
    assert_eq!(warning(&h, "A non-final response without"), 1);
    std::fs::remove_dir_all(dir).ok();
}

/// A pointer click (press and release) at a screen position, as a mouse gives.
fn click_at(h: &mut Harness<'static, State>, at: egui::Pos2) {
    h.hover_at(at);
    h.drag_at(at);
    h.drop_at(at);
    h.run_steps(3);
}

/// A point of `series` (in-window or across windows) in the middle of the run whose neighbours
/// in time are far enough apart on screen that a click on it can mean nothing else.
fn isolated_point(
    series: &[tumblescope::index::ShardSeries],
    across: bool,
    t: &egui_plot::PlotTransform,
) -> tumblescope::index::SeriesPoint {
    let mut all: Vec<_> = series
        .iter()
        .flat_map(|s| {
            if across {
                &s.across_windows
            } else {
                &s.in_window
            }
        })
        .copied()
        .collect();
    all.sort_by(|a, b| { a.t_s }.total_cmp(&{ b.t_s }));
    let x = |p: &tumblescope::index::SeriesPoint| {
        t.position_from_point(&egui_plot::PlotPoint::new(p.t_s, p.value))
            .x
    };
    let mid = all.len() / 2;
    (mid..all.len() - 1)
        .chain(1..mid)
        .find(|&i| x(&all[i]) - x(&all[i - 1]) > 3.0 && x(&all[i + 1]) - x(&all[i]) > 3.0)
        .map(|i| all[i])
        .expect("a point with room around it")
}

#[test]
fn clicking_the_plots_selects_the_invocation_of_the_point() {
    let mut h = harness();
    // Few enough points that each has room on screen.
    open_scenario(&mut h, "running-total");
    let total = app(&h).run.as_ref().unwrap().trace.invocations.len();
    for across in [false, true] {
        if across {
            h.get_by_label("Total across windows").click();
            h.run_steps(3);
        }
        let series = app(&h).run.as_ref().unwrap().index.series.clone();
        let t = app(&h)
            .plots
            .last_transform
            .expect("the totals plot is drawn");
        let p = isolated_point(&series, across, &t);
        let at = t.position_from_point(&egui_plot::PlotPoint::new(p.t_s, p.value));
        click_at(&mut h, at);
        assert_eq!(app(&h).selected, Some(p.inv), "across windows: {across}");
        h.get_by_label(&format!("Invocation {} of {total}", p.inv + 1));
    }
}

#[test]
fn clicking_a_results_table_row_selects_that_windows_final_invocation() {
    let mut h = harness();
    h.get_by_label("Results table").click();
    h.run_steps(3);
    let run = app(&h).run.as_ref().unwrap();
    let total = run.trace.invocations.len();
    let windows = run.trace.windows.clone();
    let shard_ids: Vec<String> = run.stream.shards.iter().map(|s| s.id.clone()).collect();
    for row in [1usize, 4] {
        let w = &windows[row];
        let text = format!(
            "{} – {}",
            tumblescope::model::clock_seconds(w.window.start_ms),
            tumblescope::model::clock_seconds(w.window.end_ms)
        );
        // The inspector can show the same text, and rows of other shards the same window:
        // take this row's occurrence in the table's window column.
        let header = h.get_by_label("window (UTC)").rect();
        let nth = windows[..row]
            .iter()
            .filter(|o| o.window == w.window)
            .count();
        let at = h
            .query_all_by_label(&text)
            .map(|n| n.rect())
            .filter(|r| (r.left() - header.left()).abs() < 2.0 && r.top() >= header.bottom())
            .nth(nth)
            .expect("the row's window cell")
            .center();
        click_at(&mut h, at);
        let n = w.final_invocation.expect("a closed window");
        assert_eq!(
            app(&h).selected,
            Some(n - 1),
            "row {row} of {}",
            shard_ids[w.shard as usize]
        );
        h.get_by_label(&format!("Invocation {n} of {total}"));
    }
}

/// The new stream dynamics show on screen: the status line counts what the filters let
/// through and what a LATEST start skipped, the setup panel lists the filter, and the attempt
/// whose failure discarded its batch shows the destination record.
#[test]
fn filters_starting_positions_and_discards_show_where_they_apply() {
    let mut h = harness();
    open_scenario(&mut h, "large-orders");
    h.get_by_label_contains("of 1200 records passed the filters");
    h.get_by_label("FilterCriteria (1)").click();
    h.run_steps(2);
    h.get_by_label("Filter 1");

    open_scenario(&mut h, "latest");
    // The status line (and its hover copy) says how many records the mapping never read.
    assert!(h.query_all_by_label_contains("not read)").count() >= 1);

    open_scenario(&mut h, "expiring");
    let trace = app(&h).run.as_ref().unwrap().trace.clone();
    let n = trace
        .discards
        .iter()
        .find(|d| d.attempts > 0)
        .unwrap()
        .invocation;
    let k = first_where(&h, |i| i.n == n);
    select_by_keys(&mut h, k);
    h.get_by_label("Batch discarded (RecordAgeExceeded): sent to the on-failure destination");
    h.get_by_label("On-failure destination record").click();
    h.run_steps(2);
    h.get_by_label_contains("\"condition\": \"RecordAgeExceeded\"");
}

/// Resharding from the setup panel: the scenario's split is listed, a typed merge of its two
/// children is added, the first step removed; each edit re-runs with the new shard table.
#[test]
fn resharding_steps_are_added_and_removed_in_the_setup_panel() {
    let mut h = harness();
    open_scenario(&mut h, "shard-split");
    assert_eq!(app(&h).run.as_ref().unwrap().stream.shards.len(), 4);
    h.get_by_label_contains("Resharding (");
    h.get_by_label_contains("split shard 0 in two halves");
    h.get_by_label("Step").focus();
    h.run_steps(1);
    h.get_by_label("Step")
        .type_text("2026-01-01T12:02:30Z:merge:2,3");
    h.run_steps(1);
    h.get_by_label("Add step").click();
    await_rerun(&mut h);
    let run = app(&h).run.as_ref().unwrap();
    assert_eq!(run.stream.shards.len(), 5);
    assert_eq!(run.stream.shards[4].parents, [2, 3]);
    h.get_by_label_contains("merge shards 2 and 3");
    // Removing the split leaves a merge of shards that no longer exist: said, and not run.
    h.get_all_by_label("Remove step").next().unwrap().click();
    h.run_steps(2);
    await_rerun(&mut h);
    assert!(
        h.get_all_by_label_contains("shard 2 does not exist")
            .count()
            >= 1
    );
    assert_eq!(
        app(&h).run.as_ref().unwrap().stream.shards.len(),
        5,
        "an invalid plan does not re-run"
    );
}

/// File → Path → "Open as template": the SAM sample's Stream mapping becomes the setup (its
/// batch size, timeout and handler file, run once approved), and the setup panel lists where
/// each setting came from.
#[test]
fn a_template_opens_into_the_setup_with_its_origins_listed() {
    let mut h = harness();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-data/templates/sam-tumbling.yaml");
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Path:").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("Path:")
        .type_text(&format!("{}#Stream", path.display()));
    h.run_steps(1);
    h.get_by_label("Open as template").click();
    h.run_steps(2);
    assert!(app(&h).awaiting_approval.is_some(), "{:?}", app(&h).status);
    h.run_steps(4);
    // The template names a handler file: approve running it, as for a session.
    h.get_by_label("Run handler").click();
    h.run_steps(2);
    settle(&mut h);
    let a = app(&h);
    assert_eq!(a.draft.settings.batch_size, 500);
    assert_eq!(a.draft.settings.timeout_ms, 15_000);
    assert!(
        a.draft.handler.ends_with("kinesis-sales-v2.js:handler"),
        "{}",
        a.draft.handler
    );
    assert_eq!(a.draft.meta.stream_name, "orders-prod");
    h.get_by_label_contains("From the template (");
    assert!(
        h.get_all_by_label_contains("Globals.Function.Timeout")
            .count()
            >= 1
    );
}

/// File → Export Perfetto trace: the menu offers it, and the export (what the save dialog's
/// answer runs, on a worker thread) writes the run's trace, one slice per invocation.
#[test]
fn the_run_exports_as_a_perfetto_trace() {
    use tumblescope::app::command::ExportKind;
    let mut h = harness();
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Export Perfetto trace (JSON)…");
    let path =
        std::env::temp_dir().join(format!("tumblescope-ui-trace-{}.json", std::process::id()));
    std::fs::remove_file(&path).ok();
    h.state_mut().as_mut().unwrap().apply(AppCommand::ExportTo(
        ExportKind::PerfettoTrace,
        path.clone(),
    ));
    let started = std::time::Instant::now();
    while !app(&h).status.text.starts_with("Wrote") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            app(&h).status
        );
        std::thread::sleep(Duration::from_millis(20));
        h.run_steps(1);
    }
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let slices = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .count();
    assert_eq!(
        slices,
        app(&h).run.as_ref().unwrap().trace.invocations.len()
    );
    std::fs::remove_file(&path).ok();
}

/// The Records tab shows a DynamoDB record's arrival in whole seconds, as its event's
/// `ApproximateCreationDateTime` carries it (Kinesis keeps milliseconds).
#[test]
fn dynamodb_arrivals_are_shown_in_whole_seconds() {
    let mut h = harness();
    h.state_mut()
        .as_mut()
        .unwrap()
        .apply(tumblescope::app::command::AppCommand::LoadScenario(
            "dynamodb".into(),
        ));
    await_rerun(&mut h);
    let (ts, ms) = {
        let a = app(&h);
        let run = a.run.as_ref().unwrap();
        assert_eq!(run.stream.source, tumblescope::model::Source::Dynamodb);
        let inv = &run.trace.invocations[a.selected.unwrap() as usize];
        let first = inv.record_range().start;
        (
            tumblescope::model::arrival_clock(run.stream.source, run.stream.ts_ms[first]),
            tumblescope::model::clock_millis(run.stream.ts_ms[first]),
        )
    };
    h.get_by_label_contains("Records (").click();
    h.run_steps(2);
    assert!(h.query_all_by_label(&ts).count() >= 1, "{ts}");
    assert_eq!(h.query_all_by_label(&ms).count(), 0, "{ms}");
    assert!(!ts.contains('.'));
}

#[test]
fn copy_sends_the_event_json_to_the_system_clipboard() {
    let mut h = harness();
    h.get_by_label_contains("Event JSON").click();
    h.run_steps(2);
    h.get_by_label("Copy").click();
    h.run_steps(1);
    // eframe's `clipboard` feature hands this command to the desktop's clipboard.
    let copied: Vec<String> = h
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(copied.len(), 1, "one copy command");
    let event: serde_json::Value = serde_json::from_str(&copied[0]).expect("the event JSON");
    assert_eq!(
        event["Records"].as_array().map(Vec::len),
        Some(app(&h).run.as_ref().unwrap().trace.invocations[0].record_count())
    );
}

/// The app in a window of `w` × `h_` points, settled on the demo.
fn harness_sized(w: f32, h_: f32) -> Harness<'static, State> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(w, h_))
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
    h
}

#[test]
fn at_1280_by_800_the_plot_controls_stay_clear_of_the_inspector() {
    let mut h = harness_sized(1280.0, 800.0);
    // A wide inspector line (a user's long log line would do the same) must not push it over.
    h.run_steps(3);
    let inspector_left = h.get_by_label_contains("Invocation 1 of").rect().left();
    for label in ["Total across windows", "Export PNG…", "Running totals"] {
        let r = h.get_by_label(label).rect();
        assert!(
            r.right() <= inspector_left && r.left() >= 0.0,
            "{label} at {r:?} overlaps the inspector from x={inspector_left}"
        );
    }
    let plot = app(&h).plots.last_rect.expect("the plot is drawn");
    assert!(plot.right() <= inspector_left, "plot {plot:?}");
}

#[test]
fn the_plot_and_the_timeline_share_one_time_view() {
    let mut h = harness();
    assert_eq!(app(&h).view, None, "starts fitted");
    let plot = app(&h).plots.last_rect.expect("the plot is drawn");
    h.hover_at(plot.center());
    h.run_steps(1);
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 120.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
    // egui spreads a wheel step over a few frames; let it come to rest.
    h.run_steps(40);
    let zoomed = app(&h)
        .view
        .expect("the wheel over the plot zoomed the shared view");
    let t = app(&h).plots.last_transform.unwrap();
    let t_min = app(&h).run.as_ref().unwrap().index.t_min as f64;
    let plot_x0 = t.bounds().min()[0] * 1000.0 + t_min;
    let plot_span = (t.bounds().max()[0] - t.bounds().min()[0]) * 1000.0;
    assert!(
        (plot_x0 - zoomed.min_ms).abs() < 1.0,
        "{plot_x0} vs {}",
        zoomed.min_ms
    );
    assert!((plot_span - zoomed.span_ms).abs() < 1.0);
    // Fit (Z) puts both back on the whole run.
    h.key_press(egui::Key::Z);
    h.run_steps(3);
    assert_eq!(app(&h).view, None, "fit");
}

#[test]
fn the_value_picker_offers_every_shards_keys() {
    let mut h = harness();
    open_scenario(&mut h, "skewed");
    let run = app(&h).run.as_ref().unwrap();
    let paths = &run.index.paths;
    for s in 0..run.stream.shards.len() {
        let plotted = run
            .trace
            .windows
            .iter()
            .filter(|w| w.shard as usize == s)
            .any(|w| {
                w.final_state.as_ref().is_some_and(|st| {
                    paths.iter().any(|p| {
                        tumblescope::index::state_value(
                            st,
                            &tumblescope::index::ValuePath::Path(p.clone()),
                        )
                        .is_some_and(|v| v != 0.0)
                    })
                })
            });
        assert!(plotted, "shard {s} has a key in the picker: {paths:?}");
    }
}

#[test]
fn discarded_batches_are_marked_on_the_timeline_and_counted() {
    use tumblescope::app::panels::timeline::{AXIS_H, LABEL_W};
    let mut h = harness();
    open_scenario(&mut h, "expiring");
    let run = app(&h).run.as_ref().unwrap();
    let trace = run.trace.clone();
    let records: usize = trace.discards.iter().map(|d| d.records.len()).sum();
    h.get_by_label_contains(&format!(
        "{} batch(es) discarded ({records} records)",
        trace.discards.len()
    ));
    let rect = h.get_by_label("Timeline").rect();
    let view = tumblescope::app::panels::timeline::fit_view(run);
    let shards = run.stream.shards.len();
    let (left, width) = (rect.left() + LABEL_W, rect.width() - LABEL_W);
    let lane_h = ((rect.height() - AXIS_H) / shards as f32).clamp(14.0, 150.0);
    let d = trace
        .discards
        .iter()
        .find(|d| d.attempts > 0)
        .expect("a batch discarded after an attempt")
        .clone();
    // The cross sits at the top of the invocations row, at the discard's time.
    let x = view.x_from_time(d.at_ms as f64, left, width);
    let lane_top = rect.top() + AXIS_H + d.shard as f32 * lane_h;
    let y = lane_top + 3.0 + lane_h * 0.42 + 2.0 + 5.0;
    click_at(&mut h, egui::pos2(x, y));
    assert_eq!(
        app(&h).selected,
        Some(d.invocation - 1),
        "the last attempt is selected"
    );
    h.get_by_label_contains("Batch discarded (RecordAgeExceeded)");
    // The inspector says which records, when and after how many attempts.
    h.get_by_label_contains(&format!("{} records of ", d.records.len()));
    h.get_by_label_contains(&format!(
        "after {} attempt(s) (RecordAgeExceeded)",
        d.attempts
    ));
}

/// Waits until the status line starts with `prefix` (an export writes on a worker thread).
fn await_status(h: &mut Harness<'static, State>, prefix: &str) {
    let started = std::time::Instant::now();
    while !app(h).status.text.starts_with(prefix) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            app(h).status
        );
        std::thread::sleep(Duration::from_millis(20));
        h.run_steps(1);
    }
}

/// Where no system dialog opens, every dialog has the in-app browser: an export is saved to
/// a typed path, and a stream is opened by picking its file in the list.
#[test]
fn the_built_in_file_browser_saves_exports_and_opens_streams() {
    let dir = scratch_dir("browser");
    let mut h = harness();
    h.get_by_label("View").click();
    h.run_steps(2);
    h.get_by_label("Built-in file browser").click();
    h.run_steps(2);
    assert!(app(&h).prefs.builtin_file_browser);

    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Export results (CSV)…").click();
    h.run_steps(3);
    h.get_by_label_contains("Export results (CSV)");
    let target = dir.join("mine.csv");
    fn name_field<'h>(h: &'h Harness<'static, State>) -> egui_kittest::Node<'h> {
        h.get_all_by_value("results.csv")
            .find(|n| n.accesskit_node().role() == egui::accesskit::Role::TextInput)
            .expect("the file name field")
    }
    name_field(&h).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    name_field(&h).type_text(&target.display().to_string());
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    await_status(&mut h, "Wrote");
    let csv = std::fs::read_to_string(&target).unwrap();
    assert!(csv.lines().count() > 1, "{csv}");
    assert!(
        h.query_by_label_contains("Export results (CSV)").is_none(),
        "the browser closed"
    );

    // Open: the browser lists the folder's stream files; pick one and press Open.
    let orders = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/orders.jsonl");
    std::fs::copy(&orders, dir.join("picked.jsonl")).unwrap();
    std::fs::write(dir.join("notes.md"), "not a stream").unwrap();
    h.state_mut().as_mut().unwrap().prefs.last_dir = Some(dir.clone());
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label_contains("Open stream…").click();
    h.run_steps(3);
    h.get_by_label_contains("Open stream file(s)");
    assert!(
        // Entries read "🗋 name" (the browser's file icon).
        h.query_by_label("\u{1f5cb} notes.md").is_none()
            && h.query_by_label("\u{1f5cb} mine.csv").is_some(),
        "only stream files are listed"
    );
    h.get_by_label("\u{1f5cb} picked.jsonl").click();
    h.run_steps(2);
    h.get_by_label("Open").click();
    h.run_steps(3);
    settle(&mut h);
    let run = app(&h).run.as_ref().unwrap();
    assert!(
        run.spec.describe().contains("picked.jsonl"),
        "{}",
        run.spec.describe()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A message longer than the status bar is cut to one line with "More", which shows all of
/// it and the messages before; an error stays until dismissed, then the run's summary is back.
#[test]
fn long_status_messages_unfold_and_errors_are_dismissed() {
    let mut h = harness_sized(1280.0, 800.0);
    let summary = app(&h).status.text.clone();
    let missing =
        std::env::temp_dir().join(format!("{}/orders.jsonl", "no-such-folder-".repeat(12)));
    open_by_typed_path(&mut h, &missing);
    let error = app(&h).status.text.clone();
    assert!(app(&h).status.is_error && error.len() > 200, "{error}");
    h.get_by_label("More").click();
    h.run_steps(2);
    // The cut line and the unfolded message, and the summary among the earlier ones.
    assert_eq!(h.get_all_by_label(&error).count(), 2);
    h.get_by_label_contains(&summary);
    h.get_by_label("Less").click();
    h.run_steps(2);
    h.get_by_label("Dismiss").click();
    h.run_steps(2);
    assert!(!app(&h).status.is_error);
    h.get_by_label(&summary);
}

/// The colour key above the timeline names what this run has, and only that.
#[test]
fn the_colour_key_lists_the_kinds_the_run_has() {
    let mut h = harness();
    for key in [
        "record waiting",
        "record delivered",
        "tumbling window",
        "final",
    ] {
        h.get_by_label(key);
    }
    assert!(h.query_by_label("failed attempt").is_none());
    assert!(h.query_by_label("discarded batch").is_none());
    open_scenario(&mut h, "failing-handler");
    h.get_by_label("failed attempt");
    h.get_by_label("retry");
}

/// Waits for the find worker's answers, then lets the UI settle.
fn await_find(h: &mut Harness<'static, State>) {
    h.run_steps(1);
    if let Some(app) = h.state_mut().as_mut() {
        app.wait_for_job(Duration::from_secs(30));
    }
    h.run_steps(2);
}

/// Ctrl+F searches the records (text or a field predicate) on the find worker; the counts
/// are the run's, and F3 / Enter step through the matches, selecting the invocation that
/// delivered each.
#[test]
fn find_searches_records_and_steps_through_the_matches() {
    let mut h = harness();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    h.get_by_label("Search records:")
        .type_text("Item.sales > 90");
    await_find(&mut h);
    let run = app(&h).run.clone().unwrap();
    let expected: Vec<usize> = (0..run.stream.len())
        .filter(|&i| {
            let v: serde_json::Value = serde_json::from_slice(&run.stream.payload(i)).unwrap();
            v["Item"]["sales"].as_f64().unwrap() > 90.0
        })
        .collect();
    assert!(expected.len() > 1);
    h.get_by_label(&format!("{} match(es)", expected.len()));
    h.key_press(egui::Key::F3);
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(run.index.delivered_by[expected[0]]));
    h.get_by_label(&format!("1 of {} match(es)", expected.len()));
    h.key_press(egui::Key::F3);
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(run.index.delivered_by[expected[1]]));
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::F3);
    h.run_steps(2);
    assert_eq!(app(&h).find.current, Some(0));
    // The list: a click on a row shows that match.
    h.get_by_label("List").click();
    h.run_steps(2);
    let key = run.stream.partition_key(expected[1]).to_owned();
    h.get_all_by_label_contains(&key).next().unwrap();
    // A bad predicate says what is wrong.
    h.get_by_label("Search records:").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Search records:")
        .type_text("Item.sales > lots");
    await_find(&mut h);
    h.get_by_label_contains("compares numbers");
}

/// Ctrl+G goes to an invocation number, a window or a time.
#[test]
fn go_to_lands_on_an_invocation_a_window_or_a_time() {
    let mut h = harness();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    h.run_steps(2);
    h.get_by_label("Go to:").type_text("#10");
    h.key_press(egui::Key::Enter);
    await_find(&mut h);
    assert_eq!(app(&h).selected, Some(9));
    let run = app(&h).run.clone().unwrap();
    let fin = run.index.finals[2] as usize;
    let w = run.trace.invocations[fin].window().unwrap();
    let shard = run.trace.invocations[fin].shard;
    // Go-to prefers the selection's shard: select one on the final's shard first.
    let on_shard = run.index.by_shard[shard as usize][0];
    h.state_mut().as_mut().unwrap().selected = Some(on_shard);
    h.get_by_label("Go to:").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    let mid = tumblescope::model::clock_seconds(w.start_ms + 1000);
    h.get_by_label("Go to:").type_text(&format!("w {mid}"));
    h.key_press(egui::Key::Enter);
    await_find(&mut h);
    assert_eq!(app(&h).selected, Some(fin as u32));
    h.get_by_label("Go to:").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Go to:").type_text("half past never");
    h.key_press(egui::Key::Enter);
    await_find(&mut h);
    h.get_by_label_contains("type a time");
}

/// The invocation table lists every invocation, filters by kind, sorts by a clicked header
/// and selects the invocation of a clicked row.
#[test]
fn the_invocation_table_filters_sorts_and_selects() {
    let mut h = harness();
    h.get_by_label("Invocations").click();
    h.run_steps(2);
    await_find(&mut h);
    let run = app(&h).run.clone().unwrap();
    let total = run.trace.invocations.len();
    h.get_by_label(&format!("{total} of {total} invocations"));
    h.get_all_by_value("kind: any")
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::ComboBox)
        .unwrap()
        .click();
    h.run_steps(2);
    // The popup's choice, not the colour key's word.
    h.get_all_by_label("final")
        .find(|n| n.accesskit_node().role() != egui::accesskit::Role::Label)
        .unwrap()
        .click();
    h.run_steps(2);
    await_find(&mut h);
    let finals = run
        .trace
        .invocations
        .iter()
        .filter(|i| i.kind == Kind::Final)
        .count();
    h.get_by_label(&format!("{finals} of {total} invocations"));
    // Sort by records, largest first (two clicks), and take the top row.
    let header = |h: &Harness<'static, State>, label: &str| {
        h.get_all_by_label(label)
            .find(|n| n.accesskit_node().role() == egui::accesskit::Role::Button)
            .map(|n| n.rect())
            .expect("a header button")
    };
    let at = header(&h, "records").center();
    click_at(&mut h, at);
    await_find(&mut h);
    let at = header(&h, "records (up)").center();
    click_at(&mut h, at);
    h.run_steps(2);
    await_find(&mut h);
    let rows = app(&h).plots.table.rows.clone().unwrap();
    let most = rows
        .iter()
        .map(|&k| run.trace.invocations[k as usize].records.len())
        .max()
        .unwrap();
    assert_eq!(run.trace.invocations[rows[0] as usize].records.len(), most);
    assert!(
        rows.iter()
            .all(|&k| run.trace.invocations[k as usize].kind == Kind::Final)
    );
    let top = &run.trace.invocations[rows[0] as usize];
    let number = top.n.to_string();
    let cell = h
        .get_all_by_label(&number)
        .find(|n| n.rect().top() > header(&h, "records (down)").bottom())
        .expect("the top row's number cell");
    let at = cell.rect().center();
    click_at(&mut h, at);
    assert_eq!(app(&h).selected, Some(rows[0]));
}

/// B bookmarks the selected invocation; the Bookmarks tab lists it with its note, which a
/// saved session keeps; Go to selects it again.
#[test]
fn bookmarks_take_notes_survive_a_session_and_jump_back() {
    let mut h = harness();
    select_by_keys(&mut h, 4);
    h.key_press(egui::Key::B);
    h.run_steps(2);
    assert_eq!(app(&h).bookmarks.len(), 1);
    h.get_by_label("Remove bookmark");
    h.get_by_label("Bookmarks").click();
    h.run_steps(2);
    h.get_by_label("Note for invocation 5").click();
    h.run_steps(1);
    h.get_by_label("Note for invocation 5")
        .type_text("state jumps here");
    h.run_steps(2);
    assert_eq!(app(&h).bookmarks[0].note, "state jumps here");
    let path =
        std::env::temp_dir().join(format!("ts-ui-marks-{}.session.json", std::process::id()));
    h.state_mut()
        .as_mut()
        .unwrap()
        .apply(tumblescope::app::command::AppCommand::SaveSessionTo(
            path.clone(),
        ));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(saved["bookmarks"][0]["note"], "state jumps here");
    assert_eq!(saved["bookmarks"][0]["invocation"], 5);
    // Elsewhere, then back through the tab.
    select_by_keys(&mut h, 0);
    h.get_by_label("Bookmarks").click();
    h.run_steps(2);
    h.get_by_label("Go to 5").click();
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(4));
    // A fresh app loads the session with its bookmark.
    let mut fresh = harness();
    fresh.state_mut().as_mut().unwrap().apply(
        tumblescope::app::command::AppCommand::LoadSessionFrom(path.clone()),
    );
    settle(&mut fresh);
    assert_eq!(app(&fresh).bookmarks[0].note, "state jumps here");
    std::fs::remove_file(&path).ok();
}

/// Saving the user's handler re-runs in the background with the selection kept; saving code
/// that does not load keeps the last good run on screen, with the error.
#[test]
fn saving_the_handler_file_re_runs_and_a_broken_save_keeps_the_last_run() {
    if !common::available("node") {
        return;
    }
    let dir = scratch_dir("watch");
    let file = dir.join("handler.js");
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sample-data/handlers/kinesis-sales-v2.js"),
    )
    .unwrap();
    std::fs::write(&file, &source).unwrap();
    let mut h = harness();
    h.state_mut()
        .as_mut()
        .unwrap()
        .apply(tumblescope::app::command::AppCommand::SetHandler(
            file.display().to_string(),
        ));
    settle(&mut h);
    h.get_by_label("Re-run when its folder changes");
    select_by_keys(&mut h, 3);
    let first = app(&h).run.as_ref().unwrap().generation;
    let total_of = |h: &Harness<'static, State>| {
        let run = app(h).run.as_ref().unwrap();
        run.trace.invocations[3]
            .state_out
            .as_ref()
            .map(|s| s.to_json_string())
    };
    let before = total_of(&h);
    // The new code doubles every sale.
    std::fs::write(
        &file,
        source.replace(
            "sales += payload.Item.sales;",
            "sales += 2 * payload.Item.sales;",
        ),
    )
    .unwrap();
    let waited = std::time::Instant::now();
    while app(&h).run.as_ref().unwrap().generation == first {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "no re-run after the save"
        );
        std::thread::sleep(Duration::from_millis(50));
        h.run_steps(1);
        settle(&mut h);
    }
    assert_ne!(total_of(&h), before, "the new code ran");
    assert_eq!(app(&h).selected, Some(3), "the selection is kept");
    let good = app(&h).run.as_ref().unwrap().generation;
    std::fs::write(&file, "exports.handler = async (event) => { return {").unwrap();
    let waited = std::time::Instant::now();
    while !app(&h).status.is_error {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "no error after the broken save"
        );
        std::thread::sleep(Duration::from_millis(50));
        h.run_steps(1);
        settle(&mut h);
    }
    assert_eq!(
        app(&h).run.as_ref().unwrap().generation,
        good,
        "the last good run stays"
    );
    assert!(
        app(&h).status.text.contains("SyntaxError"),
        "{}",
        app(&h).status.text
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The overview strip frames the visible range of the whole run; a click on it moves the view
/// there with the same zoom.
#[test]
fn the_overview_strip_moves_the_view_where_it_is_clicked() {
    use tumblescope::app::panels::timeline::LABEL_W;
    use tumblescope::app::panels::timeline::view::TimeView;
    let mut h = harness();
    let run = app(&h).run.clone().unwrap();
    // Zoom in to a tenth of the run, at its start.
    let span = (run.index.t_max - run.index.t_min) as f64 / 10.0;
    h.state_mut().as_mut().unwrap().view = Some(TimeView {
        min_ms: run.index.t_min as f64,
        span_ms: span,
    });
    h.run_steps(2);
    let strip = h.get_by_label("Overview").rect();
    let (left, width) = (strip.left() + LABEL_W, strip.width() - LABEL_W);
    let at = egui::pos2(left + width * 0.75, strip.center().y);
    click_at(&mut h, at);
    let whole = TimeView::fit(run.index.t_min, run.index.t_max);
    let t = whole.time_from_x(at.x, left, width);
    let view = app(&h).view.unwrap();
    assert!((view.span_ms - span).abs() < 1.0, "the zoom is kept");
    let centre = view.min_ms + view.span_ms / 2.0;
    assert!(
        (centre - t).abs() < whole.ms_per_point(width) * 2.0,
        "{centre} vs {t}"
    );
}

/// The window view shows a window on every shard: counts, why it closed, its invocations
/// (a click selects one) and the final state; it opens from the inspector and from a click on
/// the window's label above the lanes.
#[test]
fn the_window_view_explains_a_window_and_selects_its_invocations() {
    use tumblescope::app::panels::timeline::{AXIS_H, LABEL_W, fit_view};
    let mut h = harness();
    h.key_press(egui::Key::F);
    h.run_steps(2);
    let run = app(&h).run.clone().unwrap();
    let fin = &run.trace.invocations[app(&h).selected.unwrap() as usize];
    let w = fin.window().unwrap();
    h.get_by_label("Window details").click();
    h.run_steps(4);
    assert_eq!(app(&h).window_view, Some(w.start_ms));
    let clock = tumblescope::model::clock_seconds;
    h.get_by_label(&format!("Window {}–{}", clock(w.start_ms), clock(w.end_ms)));
    assert!(h.get_all_by_label_contains("Why it closed:").count() >= 1);
    let first = run
        .trace
        .invocations
        .iter()
        .find(|i| i.window() == Some(w) && i.shard == fin.shard)
        .unwrap();
    h.get_by_label(&format!("#{} {}", first.n, first.kind.name()))
        .click();
    h.run_steps(2);
    assert_eq!(app(&h).selected, Some(first.n - 1));
    // From the timeline: the label row of a later window.
    let rect = h.get_by_label("Timeline").rect();
    let view = fit_view(&run);
    // Right of the window view (which opens at the top left of the timeline).
    let len = w.end_ms - w.start_ms;
    let t = view.min_ms + view.span_ms * 0.7;
    let later = tumblescope::model::Window::containing(t as i64, len).start_ms;
    let x = view.x_from_time(
        later as f64 + len as f64 / 2.0,
        rect.left() + LABEL_W,
        rect.width() - LABEL_W,
    );
    click_at(&mut h, egui::pos2(x, rect.top() + AXIS_H - 6.0));
    assert_eq!(app(&h).window_view, Some(later));
}

/// Pin a run as A, change a setting, and the Compare tab shows B beside A: AWS's reset gives
/// every window the same total whatever the batching, while the teaching mode's carried state
/// changes them; the first invocation where the runs part can be selected.
#[test]
fn a_pinned_run_is_compared_window_by_window_with_the_next() {
    let mut h = harness();
    // The menu bar's Simulation (the setup panel has a section of that name too).
    h.get_all_by_label("Simulation")
        .find(|n| n.rect().top() < 30.0)
        .unwrap()
        .click();
    h.run_steps(2);
    h.get_by_label("Pin this run as A").click();
    h.run_steps(2);
    assert!(app(&h).pinned.is_some());
    h.get_by_label("Carry state across windows — NOT AWS, teaching mode")
        .click();
    await_rerun(&mut h);
    await_find(&mut h);
    let c = app(&h).plots.comparison.clone().expect("a comparison");
    let windows = c.windows.len();
    let differ = c.differing();
    assert!(differ > 0 && differ < windows, "{differ} of {windows}");
    h.get_by_label(&format!("{differ} of {windows} windows differ"));
    let (k, b) = c.parted_at.expect("the runs part");
    h.get_by_label("Select where they part").click();
    h.run_steps(2);
    assert_eq!(app(&h).selected, b);
    // The teaching mode changes the second window's first invocation's input state.
    let run = app(&h).run.clone().unwrap();
    let inv = &run.trace.invocations[k];
    assert!(inv.window().is_some());
    // Unpin: the tab says how to compare again.
    h.get_by_label("Unpin A").click();
    h.run_steps(2);
    assert!(app(&h).pinned.is_none());
    h.get_by_label_contains("Pin this run as A (in the Simulation menu)");
}

/// The lesson walks through the run: each step selects what it talks about and opens the tab
/// that shows it; Back returns, End closes.
#[test]
fn the_lesson_walks_through_windows_state_and_the_final_invocation() {
    use tumblescope::app::panels::inspector::Tab;
    let mut h = harness();
    h.get_by_label("Lesson").click();
    h.run_steps(3);
    let n = app(&h).lesson.as_ref().unwrap().steps.len();
    assert!(n >= 6, "{n} steps");
    h.get_by_label(&format!("Lesson 1 of {n}"));
    h.get_by_label("Records land in windows, shard by shard");
    h.get_by_label("Next step").click();
    h.run_steps(3);
    // The first invocation, its state tab: {} in.
    let run = app(&h).run.clone().unwrap();
    let k = app(&h).selected.unwrap() as usize;
    assert!(run.trace.invocations[k].state_in.is_empty());
    assert_eq!(app(&h).inspector.tab, Tab::State);
    h.get_by_label_contains("The first invocation gets {}");
    // On to the final invocation.
    let mut guard = 0;
    while h
        .query_all_by_label_contains("The final invocation closes the window")
        .next()
        .is_none()
    {
        h.get_by_label("Next step").click();
        h.run_steps(3);
        guard += 1;
        assert!(guard < n, "no final-invocation step");
    }
    let k = app(&h).selected.unwrap() as usize;
    assert_eq!(run.trace.invocations[k].kind, Kind::Final);
    assert_eq!(app(&h).inspector.tab, Tab::Event);
    h.get_by_label("Back").click();
    h.run_steps(3);
    assert!(
        h.query_all_by_label_contains("The final invocation closes the window")
            .next()
            .is_none()
    );
    h.get_by_label("End lesson").click();
    h.run_steps(2);
    assert!(app(&h).lesson.is_none());
}

/// The stream's dynamics on the timeline: records a filter dropped are drawn apart with the
/// patterns on hover, and a backlog's mapping start is a line that says what it is.
#[test]
fn filtered_records_and_the_mapping_start_are_drawn_and_explained() {
    use tumblescope::app::panels::timeline::{AXIS_H, LABEL_W, fit_view};
    let mut h = harness();
    open_scenario(&mut h, "large-orders");
    let run = app(&h).run.clone().unwrap();
    assert!(!run.dropped.is_empty());
    let rect = h.get_by_label("Timeline").rect();
    let view = fit_view(&run);
    let (left, width) = (rect.left() + LABEL_W, rect.width() - LABEL_W);
    let shards = run.stream.shards.len();
    let lane_h = ((rect.height() - AXIS_H) / shards as f32).clamp(14.0, 150.0);
    // A dropped record of shard 0 well inside the view.
    let src = &run.source;
    let px = |i: u32| view.x_from_time(src.ts_ms[i as usize] as f64, left, width);
    let pick = run
        .dropped
        .iter()
        .copied()
        .filter(|&i| (i as usize) < src.shards[0].range.end)
        .find(|&i| px(i) > left + 20.0 && px(i) < left + width - 20.0)
        .expect("a dropped record on shard 0");
    let records_bottom = rect.top() + AXIS_H + 3.0 + lane_h * 0.42;
    h.hover_at(egui::pos2(px(pick), records_bottom - 2.5));
    // Tooltips wait for the pointer to rest.
    h.run_steps(60);
    h.get_by_label_contains("filtered out: no FilterCriteria pattern matched");
    h.get_by_label("filtered out");

    open_scenario(&mut h, "backlog");
    let run = app(&h).run.clone().unwrap();
    let start = run
        .spec
        .settings
        .mapping_start_ms
        .expect("the scenario's deploy time");
    let rect = h.get_by_label("Timeline").rect();
    let view = fit_view(&run);
    let x = view.x_from_time(start as f64, left, width);
    h.hover_at(egui::pos2(x, rect.center().y));
    h.run_steps(60);
    h.get_by_label_contains("The event source mapping starts at");
    open_scenario(&mut h, "latest");
    h.get_by_label("not read");
}

/// A split's children begin at the split: their lanes are veiled before it, joined to the
/// parent, and say so on hover.
#[test]
fn a_split_draws_its_children_from_the_split_on() {
    use tumblescope::app::panels::timeline::{AXIS_H, LABEL_W, fit_view};
    let mut h = harness();
    open_scenario(&mut h, "shard-split");
    let run = app(&h).run.clone().unwrap();
    let (c, child) = run
        .stream
        .shards
        .iter()
        .enumerate()
        .find(|(_, s)| !s.parents.is_empty())
        .expect("a child shard");
    let split = run.stream.shards[child.parents[0] as usize]
        .closed_ms
        .unwrap();
    let rect = h.get_by_label("Timeline").rect();
    let view = fit_view(&run);
    let (left, width) = (rect.left() + LABEL_W, rect.width() - LABEL_W);
    let lane_h = ((rect.height() - AXIS_H) / run.stream.shards.len() as f32).clamp(14.0, 150.0);
    let x = (view.x_from_time(split as f64, left, width) + left) / 2.0;
    let y = rect.top() + AXIS_H + c as f32 * lane_h + lane_h / 2.0;
    h.hover_at(egui::pos2(x, y));
    h.run_steps(60);
    h.get_by_label_contains(&format!("{} begins at", child.id));
}

/// Plotting another number of the state builds its series on a worker thread (a big run's
/// take seconds): the lines for the new choice follow without the UI thread building them.
#[test]
fn another_plotted_value_is_built_off_the_ui_thread() {
    let mut h = harness();
    settle(&mut h);
    let run = app(&h).run.clone().unwrap();
    let default = run.index.path.clone().unwrap();
    let other = match &default {
        tumblescope::index::ValuePath::SumOfNumbers => {
            tumblescope::index::ValuePath::Path(run.index.paths[0].clone())
        }
        tumblescope::index::ValuePath::Path(_) => tumblescope::index::ValuePath::SumOfNumbers,
    };
    assert_eq!(
        app(&h).plots.plotted(),
        Some((run.generation, &default)),
        "the default lines come with the run"
    );
    h.get_all_by_value(&format!("value: {}", default.label()))
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::ComboBox)
        .expect("the value picker")
        .click();
    h.run_steps(2);
    h.get_by_label(&other.label()).click();
    h.run_steps(1);
    for _ in 0..500 {
        if app(&h).plots.plotted().is_some() {
            break;
        }
        assert!(
            app(&h).plots.building(),
            "no lines means they are being built"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.run_steps(1);
    }
    assert_eq!(app(&h).plots.plotted(), Some((run.generation, &other)));
    assert!(!app(&h).plots.building());
    // The lines may have arrived after the last frame: the picker shows them from the next.
    h.run_steps(2);
    h.get_all_by_value(&format!("value: {}", other.label()))
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::ComboBox)
        .expect("the picker shows the new choice");
}

fn events_of(run: &tumblescope::app::session::Run) -> String {
    tumblescope::trace_events::trace_events_json(&run.stream, &run.trace)
}

/// A big run leaves the screen while its re-run writes into its memory; cancelling the re-run
/// brings it back exactly as it was. (`reuse_trace_bytes` 1 makes the demo "big"; the commands
/// are applied directly because a click could come after the small re-run already ended.)
#[test]
fn a_cancelled_re_run_of_a_big_run_brings_the_run_back_as_it_was() {
    let mut h = harness();
    let (spec, before, total) = {
        let run = app(&h).run.as_ref().unwrap();
        (
            run.spec.clone(),
            events_of(run),
            run.trace.invocations.len(),
        )
    };
    {
        let a = h.state_mut().as_mut().unwrap();
        a.reuse_trace_bytes = 1;
        a.draft.settings.batch_size = 7;
        a.apply(AppCommand::Rerun);
        assert!(
            a.run.is_none(),
            "the big run left the screen for its re-run"
        );
        a.apply(AppCommand::Cancel);
        assert!(a.busy(), "the run is being brought back");
    }
    h.run_steps(1);
    h.get_by_label_contains("Bringing back the last complete run");
    settle(&mut h);
    let run = app(&h).run.as_ref().expect("brought back");
    assert_eq!(run.spec, spec);
    assert_eq!(events_of(run), before);
    h.get_by_label_contains("Cancelled; showing the last complete run");
    h.get_by_label(&format!("invocation 1 of {total}"));
}

/// The re-run written into the big run's memory is the run a fresh simulation makes.
#[test]
fn a_big_runs_re_run_in_its_own_memory_is_the_fresh_run() {
    let mut h = harness();
    {
        let a = h.state_mut().as_mut().unwrap();
        a.reuse_trace_bytes = 1;
        a.draft.settings.batch_size = 7;
        a.apply(AppCommand::Rerun);
        assert!(a.run.is_none());
        a.apply(AppCommand::ToggleBookmark);
        assert!(
            a.bookmarks.is_empty(),
            "nothing to bookmark without a run on screen"
        );
    }
    h.run_steps(1);
    // Said on screen while the re-run works (unless this small one is done already).
    if app(&h).run.is_none() {
        h.get_by_label_contains("Re-running in the last run's memory");
    }
    settle(&mut h);
    let run = app(&h).run.as_ref().expect("re-ran");
    assert_eq!(run.spec.settings.batch_size, 7);
    let fresh = tumblescope::run::simulate(
        &run.spec,
        &run.source,
        &mut tumblescope::sim::Control::default(),
    )
    .unwrap();
    assert_eq!(*run.trace, fresh.trace);
    let total = fresh.trace.invocations.len();
    h.get_by_label(&format!("invocation 1 of {total}"));
}

/// Below the size, the last run stays on screen while the re-run works.
#[test]
fn a_small_run_stays_on_screen_through_its_re_run() {
    let mut h = harness();
    let a = h.state_mut().as_mut().unwrap();
    let generation = a.run.as_ref().unwrap().generation;
    a.draft.settings.batch_size = 7;
    a.apply(AppCommand::Rerun);
    assert_eq!(a.run.as_ref().map(|r| r.generation), Some(generation));
    settle(&mut h);
    assert_eq!(app(&h).run.as_ref().unwrap().spec.settings.batch_size, 7);
}

/// A failed re-run of a big run brings the run back too, with the setup returned to it.
#[test]
fn a_failed_re_run_of_a_big_run_brings_the_run_back_and_says_why() {
    let mut h = harness();
    let (spec, before) = {
        let run = app(&h).run.as_ref().unwrap();
        (run.spec.clone(), events_of(run))
    };
    {
        let a = h.state_mut().as_mut().unwrap();
        a.reuse_trace_bytes = 1;
        a.draft.handler = "builtin:no-such-handler".into();
        a.apply(AppCommand::Rerun);
        assert!(a.run.is_none());
    }
    settle(&mut h);
    let a = app(&h);
    let run = a.run.as_ref().expect("brought back");
    assert_eq!(run.spec, spec);
    assert_eq!(a.draft, spec, "the setup matches the run shown");
    assert_eq!(events_of(run), before);
    assert!(
        a.status.text.contains("showing the last good run"),
        "{}",
        a.status.text
    );
}
