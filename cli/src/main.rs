//! The `taskgroup` command-line tool: find which tasks should be trained together.
//! Everything is in the library (`cli/src/lib.rs`); this is the entry point.

use std::process::ExitCode;

fn main() -> ExitCode {
    taskgroup_cli::tune_malloc();
    #[cfg(unix)]
    taskgroup_cli::default_sigpipe();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    taskgroup_cli::run_main(&argv)
}
