//! Writing to stdout and stderr. A closed pipe (`planrun status --json | head -1`, a pager quit
//! early) is not an error: that stream's output stops, the command finishes its work and exits
//! with the code it would have had. Losing a line must never stop a run or lose its work.

use planrun_runtime::console::{Console, Verbosity};
use std::io::{IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);
static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// The process's stdout (or stderr): once its reader has gone, every write fails at once with
/// `BrokenPipe` without touching the stream.
pub(crate) struct Stream(bool);

impl Stream {
    pub(crate) const OUT: Stream = Stream(true);
    pub(crate) const ERR: Stream = Stream(false);

    fn closed(&self) -> &'static AtomicBool {
        if self.0 { &STDOUT_CLOSED } else { &STDERR_CLOSED }
    }

    fn check<T>(&self, done: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &done
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed().store(true, Ordering::Relaxed);
        }
        done
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed().load(Ordering::Relaxed) {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let done = if self.0 { std::io::stdout().lock().write(buf) } else { std::io::stderr().lock().write(buf) };
        self.check(done)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let done = if self.0 { std::io::stdout().flush() } else { std::io::stderr().flush() };
        self.check(done)
    }
}

/// Writes `args` (and a newline when `newline`) to stdout (`out`) or stderr, ignoring errors.
pub(crate) fn write(out: bool, args: std::fmt::Arguments<'_>, newline: bool) {
    let mut s = Stream(out);
    let _ = s.write_fmt(args).and_then(|()| if newline { s.write_all(b"\n") } else { Ok(()) }).and_then(|()| s.flush());
}

/// Runs `command` with a console on this process's stdout and stderr.
pub(crate) fn with_console<T>(command: impl FnOnce(&mut Console<'_>) -> T) -> T {
    let (mut out, mut err) = (Stream::OUT, Stream::ERR);
    let mut console = Console::new(&mut out, &mut err, verbosity()).on_terminal(std::io::stdout().is_terminal());
    command(&mut console)
}

/// `println!` that never panics: see the module.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::out::write(true, format_args!($($arg)*), true) };
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(true, format_args!($($arg)*), false) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::out::write(false, format_args!($($arg)*), true) };
}

/// `eprint!` that never panics.
macro_rules! err {
    ($($arg:tt)*) => { $crate::out::write(false, format_args!($($arg)*), false) };
}

pub(crate) fn set_verbosity(v: Verbosity) {
    VERBOSITY.store(v as u8, Ordering::Relaxed);
}

pub(crate) fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        n if n == Verbosity::Quiet as u8 => Verbosity::Quiet,
        n if n == Verbosity::Verbose as u8 => Verbosity::Verbose,
        _ => Verbosity::Normal,
    }
}

/// `--quiet`: print only errors and the final result line.
pub(crate) fn quiet() -> bool {
    verbosity() == Verbosity::Quiet
}

/// `--verbose`: show in full what is otherwise grouped.
pub(crate) fn verbose() -> bool {
    verbosity() == Verbosity::Verbose
}
