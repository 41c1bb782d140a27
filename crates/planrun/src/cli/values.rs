//! The value enums of the command line (colour, import target, and a clap-facing mirror of each
//! runtime choice) and the format parser.

use clap::ValueEnum;
use planrun_plan::Format;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// planrun markdown (docs/plan-format.md).
    Markdown,
    /// planrun JSON (`planrun schema`).
    Json,
}

pub(super) fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// The runtime's choices as command-line values: each value's name and its line in `--help`.
/// The runtime's enums stay free of clap: each gets a mirror here (`WorkspaceMode` →
/// `WorkspaceModeArg`) that converts into it; the names are theirs in planrun.toml too.
macro_rules! value_enum {
    ($ty:ident => $arg:ident { $($variant:ident => $name:literal: $help:literal,)* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $arg {
            $($variant,)*
        }

        impl ValueEnum for $arg {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($arg::$variant),*]
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(match self {
                    $($arg::$variant => clap::builder::PossibleValue::new($name).help($help),)*
                })
            }
        }

        impl From<$arg> for crate::run::$ty {
            fn from(a: $arg) -> Self {
                match a {
                    $($arg::$variant => crate::run::$ty::$variant,)*
                }
            }
        }
    };
}

value_enum!(WorkspaceMode => WorkspaceModeArg {
    Shared => "shared": "One working tree for every task; tasks whose files overlap never run together",
    Worktree => "worktree": "Each task in its own git worktree and branch, merged onto the integration branch one at a time",
});

value_enum!(ScopePolicy => ScopePolicyArg {
    Strict => "strict": "Send the task back to rework with the list",
    Warn => "warn": "Report them and go on",
    Off => "off": "Do not check",
});

value_enum!(CommitMode => CommitModeArg {
    Auto => "auto": "planrun commits each task that passes (and merges it in worktree mode)",
    Manual => "manual": "planrun pauses after each task with its report; you inspect and commit, then `planrun continue`",
});

value_enum!(OnFail => OnFailArg {
    Ask => "ask": "Pause (exit 5) with the findings and the choices: retry with a note, review after your fix, skip, or stop",
    Rework => "rework": "Send the task back to its agent with the reason, up to --max-rework times",
});

value_enum!(ReviewOrder => ReviewOrderArg {
    Parallel => "parallel": "The task review and the code review at the same time",
    Sequential => "sequential": "The task review first; the code review only when it passed",
});

value_enum!(ReviewKind => ReviewKindArg {
    Task => "task": "Does the work do what the task asks, completely, meeting its acceptance criteria?",
    Code => "code": "Is the code correct, clear, tested and safe?",
    None => "none": "No reviews",
});

value_enum!(WatchPolicy => WatchPolicyArg {
    Retry => "retry": "Run the task again in a fresh session",
    Block => "block": "Block the task",
    Stop => "stop": "Stop the run (exit 4)",
});
