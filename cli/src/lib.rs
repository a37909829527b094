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
    /// An I/O or resource failure: a write that failed (full disk, read-only file system), not
    /// enough memory (exit 74, `EX_IOERR` of sysexits.h).
    Io(String),
    /// Stopped by SIGINT/SIGTERM; what was found so far has been printed (exit 130).
    Interrupted(String),
}

/// Exit code of bad usage or bad input.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code of I/O and resource failures (`EX_IOERR`).
pub const EXIT_IO: u8 = 74;
/// Exit code after SIGINT/SIGTERM (128 + SIGINT, as shells report).
pub const EXIT_INTERRUPTED: u8 = 130;

/// The error of a failed write or other I/O: exit [`EXIT_IO`].
pub fn io_failure(what: &str, path: &std::path::Path, e: &std::io::Error) -> CliError {
    CliError::Io(format!("{what} {}: {e}", path.display()))
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
  version   print the version

exit codes:
  0    success
  1    internal error
  2    bad command line or bad input (the message names the problem)
  74   I/O or resource failure: a write failed (full disk, read-only folder), not enough memory
  130  interrupted (SIGINT/SIGTERM): cluster prints the best partition found so far, marked
       `interrupted`, with its certificate";

/// Restores the default action of SIGPIPE (the Rust runtime ignores it), so that output into a
/// closed pipe (`taskgroup ... | head`) ends the process quietly like any Unix tool, instead of
/// `println!` panicking on EPIPE. State is always saved before anything is printed.
#[cfg(unix)]
pub fn default_sigpipe() {
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: signal(2) with SIG_DFL installs no Rust code as a handler; it runs before any
    // thread is started.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

/// glibc's malloc for a short process that allocates and frees n×n matrices all along: never
/// return freed memory to the OS mid-run (`M_TRIM_THRESHOLD`) and grow the heap 4 MiB at a
/// time (`M_TOP_PAD`), instead of shrinking and re-growing it (and page-faulting the same
/// memory again) around every early-stop check. Peak memory is unchanged (matrices above the
/// mmap threshold are still mapped and unmapped on their own); the heap keeps its peak size
/// until the process exits. Planted n = 100 through the CLI: about 2–4 % less time.
/// Other platforms and C libraries: nothing.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_TOP_PAD: i32 = -2;
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt(3) only changes allocator parameters; called before any thread
        // exists and before the allocations it tunes.
        unsafe {
            mallopt(M_TRIM_THRESHOLD, 256 << 20);
            mallopt(M_TOP_PAD, 4 << 20);
        }
    }
}

/// Most threads the default thread count takes (beyond this the n² passes gain little at the
/// sizes the dense solver handles).
pub const MAX_DEFAULT_THREADS: usize = 8;

/// The solver's thread count: `flag` (`--threads`), else the environment variable
/// `TASKGROUP_THREADS`, else the available cores up to [`MAX_DEFAULT_THREADS`]. 0 or a value
/// that is not a positive integer is a usage error.
pub fn solver_threads(flag: Option<usize>) -> Result<usize, CliError> {
    let bad = |what: &str| {
        CliError::Usage(format!(
            "{what} expects a positive integer (threads for the solver)"
        ))
    };
    let n = match flag {
        Some(n) => n,
        None => match std::env::var("TASKGROUP_THREADS") {
            Ok(v) => v
                .trim()
                .parse::<usize>()
                .map_err(|_| bad("TASKGROUP_THREADS"))?,
            Err(_) => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_DEFAULT_THREADS),
        },
    };
    if n == 0 {
        return Err(bad(if flag.is_some() {
            "--threads"
        } else {
            "TASKGROUP_THREADS"
        }));
    }
    Ok(n)
}

/// Applies `TASKGROUP_SIMD`: `off` (or `0`) runs the solver's hot loops in their baseline
/// x86-64 copies instead of the AVX2 ones (`taskgroup_core::simd`; the results are
/// bit-identical, only the time changes); `on`, `1`, empty or unset: AVX2 where the CPU has it.
/// Anything else is a usage error.
pub fn simd_from_env() -> Result<(), CliError> {
    match std::env::var("TASKGROUP_SIMD") {
        Err(_) => Ok(()),
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "off" | "0" => {
                taskgroup_core::simd::set_enabled(false);
                Ok(())
            }
            "on" | "1" | "" => {
                taskgroup_core::simd::set_enabled(true);
                Ok(())
            }
            _ => Err(CliError::Usage(format!(
                "TASKGROUP_SIMD expects on or off (got {v:?})"
            ))),
        },
    }
}

/// Set by the SIGINT/SIGTERM handler of [`catch_interrupts`].
pub static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether SIGINT or SIGTERM arrived since [`catch_interrupts`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(unix)]
extern "C" fn on_interrupt(signum: i32) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
    // A second Ctrl-C kills at once: back to the default action. signal(2) is
    // async-signal-safe, and so is an atomic store.
    // SAFETY: installs no Rust code; see `catch_interrupts`.
    unsafe {
        signal(signum, 0);
    }
}

#[cfg(unix)]
extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

/// Makes the first SIGINT or SIGTERM set [`INTERRUPTED`] instead of killing the process (the
/// next one kills it), so that a long solve can stop and print what it has. Only commands that
/// check the flag (`cluster`) call this; the others keep the default action (their writes are
/// atomic, so a kill never tears a file).
#[cfg(unix)]
pub fn catch_interrupts() {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    let h = on_interrupt as extern "C" fn(i32) as usize;
    // SAFETY: the handler only stores to an atomic and calls signal(2), both
    // async-signal-safe.
    unsafe {
        signal(SIGINT, h);
        signal(SIGTERM, h);
    }
}

/// No signals to catch off Unix.
#[cfg(not(unix))]
pub fn catch_interrupts() {}

/// Runs `taskgroup` with the arguments after the program name; returns the exit code
/// (0 success, 2 bad usage or input, 1 internal error, 74 I/O or resource failure,
/// 130 interrupted).
pub fn run_main(argv: &[String]) -> ExitCode {
    let Some(cmd) = argv.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    type Body = fn(args::Args) -> Result<(), CliError>;
    let sub = |usage: &str, options: &[&str], body: Body| match args::Args::parse_or_help(
        &argv[1..],
        options,
        usage,
    )? {
        Some(a) => body(a),
        None => Ok(()),
    };
    let r = match simd_from_env() {
        Err(e) => Err(e),
        Ok(()) => match cmd.as_str() {
            "cluster" => sub(cluster::USAGE, cluster::OPTIONS, cluster::run),
            "affinity" => sub(affinity::USAGE, affinity::OPTIONS, affinity::run),
            "generate" => sub(generate::USAGE, generate::OPTIONS, generate::run),
            "demo" => sub(demo::USAGE, demo::OPTIONS, |a| demo::run(a, false)),
            "session" => sub(session::USAGE, session::OPTIONS, session::run),
            "eval" => sub(demo::USAGE, demo::OPTIONS, |a| demo::run(a, true)),
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
        },
    };
    let Err(e) = r else {
        return ExitCode::SUCCESS;
    };
    let (label, m, code) = match e {
        CliError::Usage(m) | CliError::Input(m) => ("error", m, EXIT_BAD_INPUT),
        CliError::Internal(m) => ("internal error", m, 1),
        CliError::Io(m) => ("error", m, EXIT_IO),
        CliError::Interrupted(m) => ("interrupted", m, EXIT_INTERRUPTED),
    };
    eprintln!("taskgroup: {label}: {m}");
    ExitCode::from(code)
}
