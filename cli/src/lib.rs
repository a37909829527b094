//! The `taskgroup` command-line tool as a library: [`run_main`] is the whole program (the
//! binary's `main` calls it). A thin layer: file formats are `taskgroup-io`'s, the solver and
//! sessions `taskgroup-core`'s, the evaluation `taskgroup-eval`'s; the modules here parse
//! arguments and print.

mod affinity;
mod args;
mod cluster;
mod demo;
mod generate;
mod progress;
mod session;
mod svg;

use std::process::ExitCode;

use args::UsageError;

/// Why a command failed, and so its exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad command line (exit 2).
    Usage(String),
    /// Bad input data or file (exit 2).
    Input(String),
    /// Anything else (exit 1).
    Internal(String),
}

impl From<UsageError> for CliError {
    fn from(e: UsageError) -> Self {
        CliError::Usage(e.0)
    }
}

const USAGE: &str = "taskgroup: find which tasks should be trained together

usage: taskgroup <command> [options]

commands:
  cluster   group the tasks of an affinity matrix file (taskgroup cluster --help)
  demo      the paper's claim on planted, multitask, ICL and Taskonomy data, with SVG heatmaps
  eval      the same tables (--json for scripts)
  session   an AdaGroup campaign driven one command at a time (taskgroup session --help)
  affinity  an affinity matrix from a table of subset-training results
  generate  write the built-in seeded instances (planted, multitask, icl) to files
  help      this text
  version   print the version";

/// Restores the default action of SIGPIPE (the Rust runtime ignores it), so that output into a
/// closed pipe (`taskgroup ... | head`) ends the process quietly like any Unix tool, instead of
/// `println!` panicking on EPIPE. State is always saved before anything is printed.
#[cfg(unix)]
pub fn default_sigpipe() {
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: signal(2) with SIG_DFL installs no Rust code as a handler; it runs before any
    // thread is started.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

/// Runs `taskgroup` with the arguments after the program name; returns the exit code
/// (0 success, 2 bad usage or input, 1 internal error).
pub fn run_main(argv: &[String]) -> ExitCode {
    let Some(cmd) = argv.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &argv[1..];
    let r = match cmd.as_str() {
        "cluster" => cluster::run(rest),
        "affinity" => affinity::run(rest),
        "generate" => generate::run(rest),
        "demo" => demo::run(rest, false),
        "session" => session::run(rest),
        "eval" => demo::run(rest, true),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        "version" | "--version" | "-V" => {
            println!("taskgroup {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        other => Err(CliError::Usage(format!(
            "unknown command {other:?}\n\n{USAGE}"
        ))),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(m)) => {
            eprintln!("taskgroup: error: {m}");
            ExitCode::from(2)
        }
        Err(CliError::Input(m)) => {
            eprintln!("taskgroup: error: {m}");
            ExitCode::from(2)
        }
        Err(CliError::Internal(m)) => {
            eprintln!("taskgroup: internal error: {m}");
            ExitCode::from(1)
        }
    }
}
