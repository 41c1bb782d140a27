//! Unit tests of the native markdown reader and writer.

use super::*;

/// Parses `text`, writes the plan back out and parses that: both plans must be equal.
fn round_trip(text: &str) -> Plan {
    let first = parse(text, "plan.md").plan;
    let written = write(&first);
    let second = parse(&written, "plan.md").plan;
    assert_eq!(first, second, "written:\n{written}");
    first
}

#[test]
fn task_headings_outside_fences() {
    let old = |text: &str| {
        md::lines(text).iter().any(|l| {
            !l.in_fence && md::heading(l.text).is_some_and(|(level, t)| level == 2 && task_heading(t).is_some())
        })
    };
    for text in [
        "## Task a: x",
        "```\n## Task a: x\n```",
        "```\n## Task a: x",
        "~~~~\n```\n## Task a: x\n~~~~\n## Task b: y",
        "```sh\n```x\n## Task a\n```\n",
        "# Plan\r\n\r\n## Task a: x\r\n",
        "{\"tasks\": []}",
        "### Task a: x",
    ] {
        assert_eq!(has_task_heading(text), old(text), "{text:?}");
    }
}

/// Found by the `native_markdown` fuzz target: a fenced verify command starting with a blank
/// was kept with the blank, but written (and read back) without it.
#[test]
fn fuzz_fenced_command_with_leading_blank() {
    let plan = round_trip("## Verify\n```\n \u{8}");
    assert_eq!(plan.verify, vec!["\u{8}".to_owned()]);
}

/// Found by the `native_markdown` fuzz target: a title ending in `#` was written as
/// `## Task b: #`, whose `#` the reader takes for a closing sequence.
#[test]
fn fuzz_title_ending_in_hash() {
    let plan = round_trip("## Task b:#");
    assert_eq!(plan.tasks.first().map(|t| t.title.as_str()), Some("#"));
    let plan = round_trip("# C#\n\n## Task a: x");
    assert_eq!(plan.title, "C#");
    round_trip("# a ##b#\n\n## Task a: Use C# ##");
}

/// Found by the `native_markdown` fuzz target: build instructions ending in an open code
/// fence were written before the review instructions, which the fence then swallowed.
#[test]
fn fuzz_open_fence_in_instructions() {
    let plan = round_trip("## Task c\n### Review instructions\n-\n### Build instructions\n```-");
    let task = plan.tasks.first().cloned().unwrap_or_default();
    assert_eq!(task.instructions.build.as_deref(), Some("```-\n```"));
    assert_eq!(task.instructions.review.as_deref(), Some("-"));
    round_trip("# T\n\n~~~~\n## Task a: swallowed");
    round_trip("## Task a: x\n\n```\nopen");
}

/// Found by the `native_markdown` fuzz target: `\\Files:` in the context reads as
/// `\Files:`, which the writer wrote unescaped and the reader then unescaped once more.
#[test]
fn fuzz_escaped_field_line_outside_first_line() {
    // Most field lines only matter at the start of a description; elsewhere backslashes stay.
    let plan = round_trip("\\\\Agent:");
    assert_eq!(plan.context, "\\\\Agent:");
    // `Files:`, `Depends on:`, `Verify:` and `Acceptance:` are read anywhere in a description,
    // so the writer escapes them everywhere and one backslash is always removed.
    let plan = round_trip("\\\\Files:");
    assert_eq!(plan.context, "\\Files:");
    round_trip("## Task a: x\n\ntext\n\\Depends on: `b`\n\n### Build instructions\n\n\\\\Files: y");
}

/// Found by the `native_markdown` fuzz target: a task with an empty id (`## Task::e`) was
/// written as `## Task : e`, which reads as id `e` with no title.
#[test]
fn fuzz_empty_id() {
    let plan = round_trip("## Task::e");
    let task = plan.tasks.first().cloned().unwrap_or_default();
    assert_eq!((task.id.as_str(), task.title.as_str()), ("", "e"));
    round_trip("## Task ::");
    round_trip("## Task: :x");
}
