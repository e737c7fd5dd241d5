//! Entry point: the app without a command, the headless CLI with one.

use clap::Parser as _;

fn main() {
    let cli = tumblescope::cli::Cli::parse();
    let code = match cli.command {
        Some(cmd) => match tumblescope::cli::run_command(cmd) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {}", e.message);
                e.code
            }
        },
        None => open_app(cli.file),
    };
    std::process::exit(code);
}

#[cfg(feature = "gui")]
fn open_app(file: Option<std::path::PathBuf>) -> i32 {
    match tumblescope::app::run(file) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Without the GUI (`--no-default-features`), print the demo run instead.
#[cfg(not(feature = "gui"))]
fn open_app(file: Option<std::path::PathBuf>) -> i32 {
    if file.is_some() {
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
