//! The verify commands of a task: the `Run:` steps and fenced blocks of its checkboxes, the folder
//! they run in, and which of them run again after the change.

use super::*;

/// Commands found in one step, waiting for the step's `Expected:` line to say whether they must
/// pass.
#[derive(Default)]
pub(super) struct Group {
    pub(super) commands: Vec<(String, Span)>,
    /// A fenced block found on its own (not under `Run:`): it is a check only when an
    /// `Expected:` line or the step's title says so.
    pub(super) block: bool,
    /// Commands written in a step's own sentence: whether that sentence says they must fail was
    /// judged clause by clause already.
    pub(super) prose: bool,
    /// Commands named in a step's title: the step's own `Run:` line or block, when it has one,
    /// says the same in full and replaces them.
    pub(super) tentative: bool,
    /// Commands of an earlier step run again ("same command", "run both scenes again").
    pub(super) reused: bool,
}

/// The task's verify commands: `Run:` commands, fenced shell blocks and `Run \`cmd\`` in a step's
/// text, whose expected outcome is not a failure (the red step of test-first work runs the same
/// test expecting it to fail), without setup commands (`git commit`, `mkdir`, installs).
pub(super) fn read_verify(
    b: &mut PlanBuilder,
    src: SourceId,
    body: &[Line<'_>],
    task_no: &str,
    refs: &mut StepCommands,
) -> Vec<(String, Span)> {
    let mut out: Vec<(String, Span)> = Vec::new();
    refs.last.clear();
    let mut group = Group::default();
    let mut title = String::new();
    let mut i = 0;
    let close =
        |group: &mut Group, title: &str, out: &mut Vec<(String, Span)>, pass: Option<bool>, refs: &mut StepCommands| {
            let g = std::mem::take(group);
            if g.commands.is_empty() {
                return;
            }
            if !g.tentative {
                if let Some(step) = step_number(title) {
                    refs.by_step.entry((task_no.to_owned(), step)).or_default().extend(g.commands.iter().cloned());
                }
                if !g.reused {
                    refs.all.extend(g.commands.iter().cloned());
                }
                refs.last.clone_from(&g.commands);
            }
            // A fenced block on its own is a check only under a step that says it checks
            // ("Run tests", "Verify build works"); other blocks set things up.
            let checks = !g.block || contains_any(title, CHECK_WORDS);
            let keep = checks
                && match pass {
                    Some(p) => p,
                    None => g.prose || !says_fail(title),
                };
            if keep {
                for (cmd, span) in g.commands {
                    if !cmd.is_empty() && !out.iter().any(|(c, _)| *c == cmd) {
                        out.push((cmd, span));
                    }
                }
            }
        };
    while let Some(line) = body.get(i) {
        i += 1;
        if line.in_fence {
            // A fenced block on its own: shell commands in it.
            let (inner, block_end) = fence_inner(body, i - 1);
            let lang = fence_lang(line.text);
            i = block_end;
            if is_shell_lang(lang, inner) {
                if group.tentative {
                    group = Group::default();
                }
                close(&mut group, &title, &mut out, None, refs);
                group.commands = shell_commands(src, inner);
                group.block = true;
            }
            continue;
        }
        if let Some((_, t)) = md::heading(line.text) {
            close(&mut group, &title, &mut out, None, refs);
            title = t.to_owned();
            continue;
        }
        // `Run:`, or `Run from `desktop/`:` whose commands run in that folder.
        let run = match field(line.text) {
            Some((key, value, off)) if key_in(key, RUN_KEYS) => Some((value, off, None)),
            _ => run_in_folder(line.text),
        };
        if let Some((value, off, folder)) = run {
            {
                if group.tentative {
                    group = Group::default();
                }
                close(&mut group, &title, &mut out, None, refs);
                let (mut commands, mut readable) = run_commands(src, line, value, off);
                if value.is_empty() {
                    // `Run:` alone on its line: the commands are the fenced block under it.
                    let at =
                        body.get(i..).unwrap_or_default().iter().position(|l| l.in_fence || !l.text.trim().is_empty());
                    if let Some(start) = at.map(|a| a + i).filter(|&s| body.get(s).is_some_and(|l| l.in_fence)) {
                        let (inner, end) = fence_inner(body, start);
                        commands = shell_commands(src, inner);
                        readable = true;
                        i = end;
                    }
                }
                if let Some(folder) = folder {
                    let quoted = shlex::try_quote(folder).map(|q| q.into_owned()).unwrap_or_else(|_| folder.to_owned());
                    for (cmd, _) in &mut commands {
                        *cmd = format!("cd {quoted} && {cmd}");
                    }
                }
                if !readable {
                    b.warn(
                        Diagnostic::warning(
                            "unread-verify",
                            format!("`{}` names no command planrun can run", line.text.trim()),
                        )
                        .at(Some(line_span(src, line)))
                        .help("put the command in backticks: Run: `npm test`, or in a fenced block under `Run:`"),
                    );
                }
                group.commands = commands;
                // When the check is meant to fail, the step's title usually says so.
                if says_fail(line.text) {
                    group.commands.clear();
                }
                continue;
            }
        }
        if let Some((key, value, off)) = field(line.text) {
            if key_in(key, EXPECTED_KEYS) {
                // `Expected:` alone on its line: the outcome is the text or list below it.
                let below: String = if value.is_empty() {
                    body.get(i..)
                        .unwrap_or_default()
                        .iter()
                        .skip_while(|l| l.text.trim().is_empty() && !l.in_fence)
                        .take_while(|l| !l.in_fence && !l.text.trim().is_empty())
                        .map(|l| md::bullet(l.text).unwrap_or(l.text.trim()))
                        .collect::<Vec<_>>()
                        .join("; ")
                } else {
                    String::new()
                };
                let pass = !expects_failure(if value.is_empty() { &below } else { value });
                close(&mut group, &title, &mut out, Some(pass), refs);
                // More checks named in the expectation ("then run `git diff --check`").
                if pass {
                    group.commands = prose_in(src, line.start + off, value);
                    close(&mut group, &title, &mut out, Some(true), refs);
                }
                // An output block right after `Expected:` is output, not commands.
                let at = body.get(i..).unwrap_or_default().iter().position(|l| l.in_fence || !l.text.trim().is_empty());
                if let Some(start) = at.map(|a| a + i).filter(|&s| body.get(s).is_some_and(|l| l.in_fence)) {
                    i = fence_end(body, start);
                }
                continue;
            }
        }
        if let Some(t) = step_title(line.text) {
            close(&mut group, &title, &mut out, None, refs);
            title = t.to_owned();
            // A step that is itself the command: `- [ ] Run `pytest -q`.`, or that runs the
            // last one again ("Run the tests again"). Its own `Run:` line or block, if any,
            // replaces what the title names.
            let mut prose = prose_commands(src, line);
            let mut reused = false;
            if prose.is_empty() && runs_again(t) && !contains_any(t, FAIL_WORDS) {
                prose = refs.last.clone();
                reused = true;
            }
            if !prose.is_empty() {
                group.commands = prose;
                group.prose = true;
                group.tentative = true;
                group.reused = reused;
            }
            continue;
        }
        // "Or run directly: `flutter test x`" under `a; flutter test x`: the same check
        // without what comes before it; any other alternative is not a check of its own.
        if let Some(alt) = alternative(line.text) {
            for (cmd, _) in group.commands.iter_mut().chain(out.iter_mut()) {
                if cmd != alt && chain_ends_with(cmd, alt) {
                    *cmd = alt.to_owned();
                }
            }
            continue;
        }
        let mut prose = prose_commands(src, line);
        let mut reused = false;
        if prose.is_empty() {
            // "Run the command of Task 1 Step 2": the commands that step ran.
            if let Some((task, step)) = step_reference(line.text) {
                let task = task.unwrap_or_else(|| task_no.to_owned());
                prose = refs.by_step.get(&(task, step)).cloned().unwrap_or_default();
                reused = true;
            } else if runs_again(line.text) && !contains_any(line.text, FAIL_WORDS) {
                // "Confirm the tests pass with the same command", "Run both scenes again".
                prose = refs.last.clone();
                reused = true;
            } else if let Some(named) = named_run(line.text, &refs.all) {
                // "Run `RelicTest.tscn`": the command shown earlier for that file.
                prose = vec![named];
                reused = true;
            }
        }
        if !prose.is_empty() {
            close(&mut group, &title, &mut out, None, refs);
            group.commands = prose;
            group.prose = true;
            group.reused = reused;
        }
    }
    close(&mut group, &title, &mut out, None, refs);
    out
}

/// `Run from `desktop/`:` (or `Run in`, `在 `x` 下运行：`): the folder, without a trailing
/// slash, and what follows the colon with its offset in the line.
pub(super) fn run_in_folder(line: &str) -> Option<(&str, usize, Option<&str>)> {
    let body = md::bullet(line).unwrap_or(line).trim();
    let lower = body.to_lowercase();
    let english = ["run from `", "run in `", "run (from `", "run inside `", "run it from `", "run them from `"];
    let chinese = (body.starts_with("在 `") || body.starts_with("在`")) && body.contains("运行");
    let open = english
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| p.len())
        .or_else(|| chinese.then(|| body.find('`').map(|b| b + 1)).flatten())?;
    let close = open + body.get(open..)?.find('`')?;
    let folder = body.get(open..close)?.trim().trim_end_matches(['/', '\\']);
    let after = body.get(close + 1..)?;
    let colon = after.find([':', '：'])?;
    // Only a few words may stand between the folder and the colon (`)`, `下运行`, `directory`).
    if after.get(..colon)?.chars().count() > 12 || folder.is_empty() || folder.contains(char::is_whitespace) {
        return None;
    }
    let rest = after.get(colon..)?;
    let value = rest.get(rest.chars().next()?.len_utf8()..)?.trim();
    let off = md::offset_in(line, value).unwrap_or(line.len());
    Some((value, off, Some(folder)))
}

/// The number of a step title (`Step 1.2: …` → `1.2`, `步骤 2：…` → `2`).
pub(super) fn step_number(title: &str) -> Option<String> {
    let lower = title.to_lowercase();
    for w in ["step", "步骤", "ステップ"] {
        if let Some(at) = lower.find(w) {
            let rest = lower.get(at + w.len()..)?.trim_start();
            let n: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            let n = n.trim_end_matches('.').to_owned();
            if !n.is_empty() {
                return Some(n);
            }
        }
    }
    None
}

/// A line that runs the command of another step: "Run the command of Task 1 Step 2",
/// "运行任务 1 步骤 2 的命令". The task is `None` when the line names only a step.
pub(super) fn step_reference(text: &str) -> Option<(Option<String>, String)> {
    if !(text.contains("ommand") || text.contains("命令") || text.contains("コマンド")) {
        return None;
    }
    let lower = text.to_lowercase();
    let says_run = ["run", "运行", "执行", "実行"].iter().any(|w| lower.contains(w));
    let says_command = ["command", "命令", "コマンド"].iter().any(|w| lower.contains(w));
    if !says_run || !says_command {
        return None;
    }
    let step = step_number(&lower)?;
    let task = TASK_WORDS.iter().find_map(|w| {
        let at = lower.find(w)?;
        let rest = lower.get(at + w.len()..)?.trim_start();
        let n: String = rest.chars().take_while(char::is_ascii_alphanumeric).collect();
        (!n.is_empty() && n.starts_with(|c: char| c.is_ascii_digit())).then_some(n)
    });
    Some((task, step))
}

/// A line that runs the last commands again without writing them: "Run both scenes again",
/// "Re-run the tests", "동일 명령으로 … 확인한다" (with the same command), "同じコマンドで".
pub(super) fn runs_again(text: &str) -> bool {
    if text.contains('`') {
        return false;
    }
    let lower = text.to_lowercase();
    const SAME: &[&str] = &[
        "same command",
        "same test command",
        "same commands",
        "동일 명령",
        "같은 명령",
        "同じコマンド",
        "相同的命令",
        "相同命令",
        "同一命令",
        "同样的命令",
        "mesmo comando",
        "mismo comando",
        "même commande",
        "gleichen befehl",
        "selben befehl",
    ];
    const AGAIN: &[&str] =
        &["re-run", "rerun", "再次运行", "重新运行", "再运行", "再実行", "もう一度実行", "다시 실행", "재실행"];
    SAME.iter().any(|w| lower.contains(w))
        || AGAIN.iter().any(|w| lower.contains(w))
        || (lower.contains(" again") && ["run", "execute", "check"].iter().any(|w| lower.contains(w)))
}

/// The command of an alternative: "Or run directly: `flutter test x`", "alternatively, `…`".
pub(super) fn alternative(text: &str) -> Option<&str> {
    let lower = text.to_lowercase();
    let at = ["or run", "alternatively", "或者运行", "或直接运行"].iter().filter_map(|w| lower.find(w)).min()?;
    let (cmd, _) = md::code_spans(text.get(at..)?).into_iter().next()?;
    let cmd = cmd.trim();
    (!cmd.is_empty()).then_some(cmd)
}

/// Whether `cmd` is a chain (`a; b`, `a && b`) whose last command is `tail`.
pub(super) fn chain_ends_with(cmd: &str, tail: &str) -> bool {
    cmd.strip_suffix(tail).is_some_and(|head| {
        let head = head.trim_end();
        head.ends_with(';') || head.ends_with("&&")
    })
}

/// How many of the plan's latest commands "Run `RelicTest.tscn`" looks through.
pub(super) const NAMED_RUN_LOOKBACK: usize = 256;

/// "Run `RelicTest.tscn`": a file, not a command, after a word for "run", that an earlier
/// command of the plan runs; that command, the latest one naming the file.
pub(super) fn named_run(text: &str, all: &[(String, Span)]) -> Option<(String, Span)> {
    let lower = text.to_lowercase();
    for (name, off) in md::code_spans(text) {
        let name = name.trim();
        let before = lower.get(..off).unwrap_or("");
        let said_run = PROSE_RUN.iter().any(|w| before.contains(w.trim_end()));
        let file_like = !name.is_empty()
            && !name.contains(char::is_whitespace)
            && name.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty() && !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric())
            });
        if !said_run || !file_like {
            continue;
        }
        // The command is shown a few tasks before at most; a bounded look keeps a plan of
        // thousands of such lines linear.
        if let Some(found) = all.iter().rev().take(NAMED_RUN_LOOKBACK).find(|(cmd, _)| cmd.contains(name)) {
            return Some(found.clone());
        }
    }
    None
}

/// The index just past the fenced block that opens at `start` (or the body's end).
pub(super) fn fence_end(body: &[Line<'_>], start: usize) -> usize {
    let Some((ch, len, _)) = body.get(start).and_then(|l| md::fence_of(l.text)) else {
        return start + 1;
    };
    // Inner blocks opened with an info string (see `md::lines_nested`).
    let mut depth = 0usize;
    let mut j = start + 1;
    while let Some(l) = body.get(j) {
        if !l.in_fence {
            return j;
        }
        if let Some((_, _, bare)) = md::fence_of(l.text).filter(|&(c, n, _)| c == ch && n >= len) {
            if !bare {
                depth += 1;
            } else if depth == 0 {
                return j + 1;
            } else {
                depth -= 1;
            }
        }
        j += 1;
    }
    j
}

/// The lines inside the fenced block that opens at `start`, and the index just past it.
pub(super) fn fence_inner<'b, 'a>(body: &'b [Line<'a>], start: usize) -> (&'b [Line<'a>], usize) {
    let end = fence_end(body, start);
    let closed = end > start + 1
        && body.get(end - 1).is_some_and(|l| md::fence_of(l.text).is_some_and(|(_, _, info_empty)| info_empty));
    let inner_end = if closed { end - 1 } else { end };
    (body.get(start + 1..inner_end.max(start + 1)).unwrap_or_default(), end)
}

/// The info string of a fence line (`bash` in ```` ```bash ````).
pub(super) fn fence_lang(line: &str) -> &str {
    line.trim().trim_start_matches(['`', '~']).split_whitespace().next().unwrap_or("")
}

/// Whether a fenced block holds shell commands: a shell language, or no language and a first
/// line that starts with a program.
pub(super) fn is_shell_lang(lang: &str, inner: &[Line<'_>]) -> bool {
    let lang = lang.to_ascii_lowercase();
    if matches!(
        lang.as_str(),
        "bash"
            | "sh"
            | "shell"
            | "zsh"
            | "console"
            | "shell-session"
            | "sh-session"
            | "terminal"
            | "powershell"
            | "pwsh"
            | "ps1"
            | "cmd"
            | "fish"
    ) {
        return true;
    }
    lang.is_empty()
        && inner.iter().map(|l| l.text.trim()).find(|t| !t.is_empty() && !t.starts_with('#')).is_some_and(|t| {
            commands::first_program(t).is_some_and(|p| commands::is_program(p.trim_start_matches('(')) || p == "cd")
        })
}

/// The commands of a `Run:` line: its backticked commands, or its value when it starts with a
/// program.
/// The second value says whether the line named a command at all (a setup command is one).
pub(super) fn run_commands(
    src: SourceId,
    line: &Line<'_>,
    value: &str,
    value_off: usize,
) -> (Vec<(String, Span)>, bool) {
    let spans = md::code_spans(value);
    let at = |off: usize, len: usize| Span::new(src, line.start + value_off + off, line.start + value_off + off + len);
    if spans.is_empty() {
        let starts_with_program =
            commands::first_program(value).is_some_and(|p| commands::is_program(p.trim_start_matches('(')));
        return if starts_with_program && !is_setup(value) {
            (vec![(value.trim().to_owned(), at(0, value.len()))], true)
        } else {
            (Vec::new(), starts_with_program)
        };
    }
    let mut out = Vec::new();
    for (cmd, off) in spans {
        let cmd = cmd.trim();
        let known = commands::first_program(cmd).is_some_and(|p| commands::is_program(p.trim_start_matches('(')));
        // A second span is often a path ("from `web/`"): only commands with arguments or known
        // programs count.
        if cmd.is_empty() || (!known && !cmd.contains(' ')) || is_setup(cmd) {
            continue;
        }
        out.push((cmd.to_owned(), at(off, cmd.len())));
    }
    (out, true)
}
