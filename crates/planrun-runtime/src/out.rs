//! Writing to stdout and stderr. A closed pipe (`planrun status --json | head -1`, a pager quit
//! early) is not an error: that stream's output stops, the command finishes its work and exits
//! with the code it would have had. Any other write error is ignored the same way: losing a
//! progress line must never stop a run or lose its work.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `args` (and a newline when `newline`) to stdout, unless stdout has been closed.
pub fn stdout(args: fmt::Arguments<'_>, newline: bool) {
    write(&STDOUT_CLOSED, &mut std::io::stdout().lock(), args, newline);
}

/// Writes `args` (and a newline when `newline`) to stderr, unless stderr has been closed.
pub fn stderr(args: fmt::Arguments<'_>, newline: bool) {
    write(&STDERR_CLOSED, &mut std::io::stderr().lock(), args, newline);
}

fn write(closed: &AtomicBool, w: &mut dyn std::io::Write, args: fmt::Arguments<'_>, newline: bool) {
    if closed.load(Ordering::Relaxed) {
        return;
    }
    let mut done = w.write_fmt(args);
    if newline {
        done = done.and_then(|()| w.write_all(b"\n"));
    }
    if let Err(e) = done.and_then(|()| w.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        closed.store(true, Ordering::Relaxed);
    }
}

/// Whether a write error means only that the reader went away (not worth a message or a
/// failing exit code).
pub fn is_closed_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// `println!` that never panics: see the module.
#[macro_export]
macro_rules! outln {
    () => { $crate::out::stdout(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::out::stdout(format_args!($($arg)*), true) };
}

/// `print!` that never panics.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::stdout(format_args!($($arg)*), false) };
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! errln {
    () => { $crate::out::stderr(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::out::stderr(format_args!($($arg)*), true) };
}

/// `eprint!` that never panics.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::out::stderr(format_args!($($arg)*), false) };
}

/// How much the commands say: `--quiet` (errors and the final result line only), normal, or
/// `--verbose` (in full what is otherwise grouped or summarised). Set once, from the command
/// line, before the command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

pub fn set_verbosity(v: Verbosity) {
    let n = match v {
        Verbosity::Quiet => 0,
        Verbosity::Normal => 1,
        Verbosity::Verbose => 2,
    };
    VERBOSITY.store(n, Ordering::Relaxed);
}

pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        2 => Verbosity::Verbose,
        _ => Verbosity::Normal,
    }
}

/// `--quiet`: print only errors and the final result line.
pub fn quiet() -> bool {
    verbosity() == Verbosity::Quiet
}

/// `--verbose`: show in full what is otherwise grouped.
pub fn verbose() -> bool {
    verbosity() == Verbosity::Verbose
}
