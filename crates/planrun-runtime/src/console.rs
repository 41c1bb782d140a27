//! Where a command's words go. The runtime never opens stdout or stderr itself: the binary hands
//! each command a [`Console`] holding the two streams (and deciding what a closed pipe means), and
//! a run reports through its [`crate::progress::Progress`]. Tests hand it buffers.
//!
//! Losing a line of output must never stop a command or lose its work: the line-writing
//! methods ignore write errors. What streams without end (`log --follow`, `status --watch`)
//! writes through [`Console::out`] and stops when the reader has gone.

use std::io::Write;

/// How much the commands say: `--quiet` (errors and the final result line only), normal, or
/// `--verbose` (in full what is otherwise grouped or summarised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// A command's standard output and error, and how much it should say.
pub struct Console<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    verbosity: Verbosity,
    terminal: bool,
}

impl<'a> Console<'a> {
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write, verbosity: Verbosity) -> Self {
        Self { out, err, verbosity, terminal: false }
    }

    /// Says that standard output is a terminal (`status --watch` then redraws the screen).
    #[must_use]
    pub fn on_terminal(mut self, yes: bool) -> Self {
        self.terminal = yes;
        self
    }

    /// Whether standard output is a terminal.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// `--quiet`: only errors and the final result line.
    pub fn quiet(&self) -> bool {
        self.verbosity == Verbosity::Quiet
    }

    /// `--verbose`: in full what is otherwise grouped.
    pub fn verbose(&self) -> bool {
        self.verbosity == Verbosity::Verbose
    }

    /// `text` on standard output, as it is.
    pub fn print(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes()).and_then(|()| self.out.flush());
    }

    /// `text` and a newline on standard output.
    pub fn println(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}").and_then(|()| self.out.flush());
    }

    /// `text` and a newline on standard error.
    pub fn eprintln(&mut self, text: &str) {
        let _ = writeln!(self.err, "{text}").and_then(|()| self.err.flush());
    }

    /// Standard output, for what streams and must notice that its reader went away.
    pub fn out(&mut self) -> &mut dyn Write {
        self.out
    }
}

impl std::fmt::Debug for Console<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("verbosity", &self.verbosity).field("terminal", &self.terminal).finish()
    }
}

/// Whether a write error means only that the reader went away (not worth a message or a
/// failing exit code).
pub fn is_closed_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream whose reader went away.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn lines_go_to_their_stream_and_a_closed_one_is_no_error() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut c = Console::new(&mut out, &mut err, Verbosity::Verbose);
        c.print("a");
        c.println("b");
        c.eprintln("c");
        assert!(c.verbose() && !c.quiet());
        assert_eq!((out.as_slice(), err.as_slice()), (&b"ab\n"[..], &b"c\n"[..]));
        let (mut closed, mut err) = (Closed, Vec::new());
        let mut c = Console::new(&mut closed, &mut err, Verbosity::Quiet);
        c.println("lost, quietly");
        c.eprintln("still said");
        assert!(c.out().write_all(b"x").is_err_and(|e| is_closed_pipe(&e)));
        assert_eq!(err, b"still said\n");
    }
}
