//! Entry point: the app without a command, the headless CLI with one.

#![forbid(unsafe_code)]

fn main() {
    let cli = tumblescope::cli::parse_args();
    let code = match cli.command {
        Some(cmd) => match tumblescope::cli::run_command(cmd) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {}", e.message);
                e.code
            }
        },
        None => open_app(cli),
    };
    std::process::exit(code);
}

#[cfg(feature = "gui")]
fn open_app(cli: tumblescope::cli::Cli) -> i32 {
    let startup = tumblescope::app::state::StartupOptions {
        open: cli.file,
        persist: cli.screenshot.is_none(),
        scenario: cli.scenario,
        select: cli.select,
        tab: cli.tab,
        light: cli.light,
        screenshot: cli.screenshot,
        find: cli.find,
        lesson: cli.lesson,
    };
    match tumblescope::app::run(startup) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Without the GUI (`--no-default-features`), print the demo run instead.
#[cfg(not(feature = "gui"))]
fn open_app(cli: tumblescope::cli::Cli) -> i32 {
    if cli.file.is_some() {
        eprintln!("error: this build has no GUI; use `tumblescope run --input FILE`");
        return 2;
    }
    match tumblescope::cli::print_demo() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", e.message);
            e.code
        }
    }
}
