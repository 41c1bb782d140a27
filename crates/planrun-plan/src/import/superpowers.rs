//! The superpowers importer: a markdown plan under `docs/superpowers/plans/` made of
//! `### Task N: <Component>` sections with `**Files:**` lists and ticked `- [ ] **Step N: …**`
//! checkboxes, plus the progress ledger `.superpowers/sdd/<plan>/progress.md` when one exists.
//! Tasks run in plan order; the ledger and fully ticked steps carry over what is done.

use super::commands;
use super::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::source::{SourceId, Span, TaskSpans};
use std::path::{Path, PathBuf};

/// Folders (relative to a repository root) plans are saved in; `docs/plans` is where older
/// releases of the tool wrote them.
const PLAN_DIRS: [&str; 2] = ["docs/superpowers/plans", "docs/plans"];

/// How far up from a plan the ledger is looked for, at most (the repository root is usually
/// three levels up).
const MAX_LEDGER_DEPTH: usize = 8;

pub(crate) fn detect(path: &Path) -> Detection {
    if !path.is_dir() {
        return if looks_superpowers(path) { Detection::Yes(path.to_owned()) } else { Detection::No };
    }
    let mut dirs: Vec<PathBuf> = PLAN_DIRS.iter().map(|d| path.join(d)).collect();
    // The user may also point at `docs/superpowers`, `docs/superpowers/plans` or `docs/plans`.
    dirs.push(path.join("plans"));
    if path.file_name().is_some_and(|n| n == "plans") {
        dirs.push(path.to_owned());
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        for entry in super::sorted_entries(dir) {
            let is_md = entry.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"));
            if is_md && entry.is_file() && looks_superpowers(&entry) && !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    match found.len() {
        0 => Detection::No,
        1 => found.pop().map_or(Detection::No, Detection::Yes),
        _ => Detection::Ambiguous(found),
    }
}

/// A markdown text with numbered `Task N:` headings (in English or another language) and
/// something only superpowers writes: a `**Files:**` field under `###` task headings, step
/// checkboxes (`- [ ] **Step 1: …**`), `Run:` / `Expected:` lines, or a mention of superpowers.
/// planrun's own markdown also has `## Task <id>:` headings and a `Files:` field, so `##` task
/// headings need one of the signs other than `Files:`.
fn looks_superpowers(path: &Path) -> bool {
    if super::is_json(path) {
        return false;
    }
    let Some(bytes) = super::peek_bytes(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines = md::lines_nested(&text);
    let outside = || lines.iter().filter(|l| !l.in_fence);
    let task_levels: Vec<usize> = outside()
        .filter_map(|l| md::heading(l.text))
        .filter(|(lvl, t)| (2..=4).contains(lvl) && task_heading(t).is_some_and(|h| !h.number.is_empty()))
        .map(|(lvl, _)| lvl)
        .collect();
    if task_levels.is_empty() {
        return false;
    }
    let has_files = outside().any(|l| field(l.text).is_some_and(|(k, _, _)| key_in(k, FILES_KEYS)));
    let entries =
        || outside().any(|l| md::bullet(l.text).is_some() && field(l.text).is_some_and(|(k, _, _)| is_entry_key(k)));
    let steps = || outside().any(|l| step_title(l.text).is_some_and(is_numbered_step));
    let run_expected =
        || outside().any(|l| field(l.text).is_some_and(|(k, _, _)| key_in(k, RUN_KEYS) || key_in(k, EXPECTED_KEYS)));
    let mention = || text.contains("superpowers:") || text.contains("REQUIRED SUB-SKILL");
    let others = || entries() || steps() || run_expected() || mention();
    if task_levels.iter().any(|&l| l > 2) { has_files || others() } else { others() }
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(Format::Superpowers, path);
    let src = b.read(path)?;
    parse_into(&mut b, src);
    if let Some(ledger) = find_ledger(path) {
        let id = b.read(&ledger)?;
        apply_ledger(&mut b, id);
    }
    Ok(b.finish())
}

/// A parsed task heading.
#[derive(Debug, Clone, Copy)]
struct Heading<'a> {
    done: bool,
    /// The task number as written (`3`, `2.1`, `4b`), empty when missing.
    number: &'a str,
    title: &'a str,
}

/// The word a task heading starts with, in the languages plans are written in.
const TASK_WORDS: &[&str] =
    &["task", "任务", "任務", "タスク", "작업", "tarea", "tarefa", "aufgabe", "tâche", "tache", "задача", "compito"];

/// `text` without a leading `word` (compared case-insensitively), if it starts with it.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let mut rest = text;
    for w in word.chars() {
        let c = rest.chars().next()?;
        if !c.to_lowercase().eq(w.to_lowercase()) {
            return None;
        }
        rest = rest.get(c.len_utf8()..)?;
    }
    Some(rest)
}

/// `Task N: <Component>` (also `Task N - …`, `Task N. …`, `task n …`, `任务 1：…`, `タスク1: …`),
/// with an optional done mark before it (✅) or after it (✅, `(done)`, `(complete)`).
fn task_heading(text: &str) -> Option<Heading<'_>> {
    let (done_before, rest) = md::strip_done_mark(text);
    let (word, after) = TASK_WORDS.iter().find_map(|w| strip_word(rest, w).map(|a| (*w, a)))?;
    let trimmed = after.trim_start();
    let number = if trimmed.starts_with([':', '：']) {
        ""
    } else {
        // Latin words need a space before the number ("Task 3", not "Tasks"); CJK ones do not.
        let spaced = after.starts_with([' ', '\t']) || !word.is_ascii();
        if !spaced || !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let end = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(trimmed.len());
        trimmed.get(..end).unwrap_or("").trim_end_matches('.')
    };
    let tail = trimmed.get(number.len()..).unwrap_or("").trim_start();
    let tail = tail.strip_prefix([':', '：', '—', '–', '-', '.', '、']).unwrap_or(tail).trim();
    let (done_after, title) = strip_trailing_done(tail);
    Some(Heading { done: done_before || done_after, number, title })
}

/// Whether a heading or bold line reads like a task heading planrun could not take: `Task A: …`
/// (no number), or `**Task 3: …**` written in bold instead of as a heading.
fn looks_like_task(text: &str) -> bool {
    let t = text.trim().trim_start_matches("**").trim_start();
    let Some(after) = TASK_WORDS.iter().find_map(|w| strip_word(t, w)) else {
        return false;
    };
    let after = after.trim_start();
    let token_end = after.find([':', '：']).unwrap_or(after.len());
    let token = after.get(..token_end).unwrap_or("");
    token_end < after.len() && !token.is_empty() && !token.contains(char::is_whitespace)
}

/// Removes a done mark written after a heading's text.
fn strip_trailing_done(text: &str) -> (bool, &str) {
    let t = text.trim_end();
    for mark in ["✅", "✔️", "✔", "☑"] {
        if let Some(rest) = t.strip_suffix(mark) {
            return (true, rest.trim_end());
        }
    }
    let lower = t.to_ascii_lowercase();
    for mark in ["(done)", "[done]", "(complete)", "(completed)", "[complete]", "[completed]"] {
        if lower.ends_with(mark) {
            return (true, t.get(..t.len() - mark.len()).unwrap_or(t).trim_end());
        }
    }
    (false, t)
}

/// Files people name without an extension or a folder.
const EXTENSIONLESS: &[&str] = &[
    "Makefile",
    "GNUmakefile",
    "Dockerfile",
    "Containerfile",
    "Jenkinsfile",
    "Procfile",
    "Gemfile",
    "Rakefile",
    "Brewfile",
    "Justfile",
    "Vagrantfile",
    "Pipfile",
    "Podfile",
    "Caddyfile",
    "Taskfile",
    "Earthfile",
    "Tiltfile",
    "LICENSE",
    "README",
    "CHANGELOG",
    "CODEOWNERS",
    "AUTHORS",
    "CONTRIBUTORS",
    "NOTICE",
    "VERSION",
    "BUILD",
    "WORKSPACE",
    "OWNERS",
];

/// `Files` field names.
const FILES_KEYS: &[&str] = &[
    "files",
    "file",
    "files touched",
    "files to change",
    "files changed",
    "文件",
    "涉及文件",
    "文件变更",
    "ファイル",
    "対象ファイル",
    "archivos",
    "arquivos",
    "dateien",
    "fichiers",
];

/// Keys of the entries of a `**Files:**` list.
const FILE_ENTRY_KEYS: &[&str] = &[
    "create",
    "modify",
    "test",
    "tests",
    "update",
    "delete",
    "add",
    "edit",
    "rename",
    "copy",
    "move",
    "remove",
    "new",
    "创建",
    "新建",
    "新增",
    "修改",
    "更新",
    "测试",
    "删除",
    "作成",
    "新規",
    "変更",
    "修正",
    "テスト",
    "削除",
    "crear",
    "modificar",
    "criar",
    "erstellen",
    "ändern",
    "créer",
    "modifier",
];

/// Keys of files-list entries that name files the task reads or generates without committing.
const READ_ONLY_KEYS: &[&str] =
    &["reference", "read", "see", "context", "refer", "参考", "参照", "阅读", "生成", "generated", "output"];

/// `Run:` in the languages plans are written in.
const RUN_KEYS: &[&str] = &["run", "运行", "執行", "执行", "実行", "ejecutar", "executar", "ausführen", "exécuter"];

/// `Expected:` in the languages plans are written in.
const EXPECTED_KEYS: &[&str] = &[
    "expected",
    "expect",
    "expected output",
    "expected result",
    "预期",
    "预期结果",
    "期望",
    "期望结果",
    "期待",
    "期待結果",
    "期待される結果",
    "esperado",
    "resultado esperado",
    "erwartet",
    "attendu",
    "résultat attendu",
];

/// Headings or fields that introduce a task's acceptance criteria.
const ACCEPTANCE_KEYS: &[&str] = &[
    "acceptance",
    "acceptance criteria",
    "success criteria",
    "done when",
    "definition of done",
    "验收",
    "验收标准",
    "完成标准",
    "受け入れ基準",
    "完了条件",
    "criterios de aceptación",
    "akzeptanzkriterien",
    "critères d'acceptation",
];

/// Fields that state a task's dependencies.
const DEPENDS_KEYS: &[&str] = &["depends on", "dependencies", "depends", "依赖", "前置任务", "依存", "depende de"];

/// Words in a step's title that say it runs a check.
const CHECK_WORDS: &[&str] = &[
    "run",
    "verify",
    "check",
    "test",
    "confirm",
    "build",
    "lint",
    "validate",
    "regression",
    "smoke",
    "sanity",
    "preflight",
    "pre-flight",
    "回归",
    "校验",
    "检验",
    "验收",
    "conferir",
    "verificar",
    "validar",
    "testar",
    "pré-voo",
    "prüfen",
    "vérifier",
    "运行",
    "验证",
    "检查",
    "测试",
    "確認",
    "実行",
    "検証",
    "テスト",
];

/// Words before a backticked command in a sentence that say it is run as a check.
const PROSE_RUN: &[&str] = &[
    "run ",
    "run: ",
    "execute ",
    "verify with ",
    "check with ",
    "confirm with ",
    "confirm ",
    "运行",
    "執行",
    "执行",
    "実行",
    "correr ",
    "executar ",
    "rodar ",
    "ejecutar ",
    "ejecuta ",
    "ausführen",
    "exécuter ",
    "lancer ",
];

/// Words in a step's title or expectation that say the check must fail.
const FAIL_WORDS: &[&str] = &["fail", "失败", "失敗", "报错", "エラー"];

fn key_in(key: &str, keys: &[&str]) -> bool {
    let k = key.trim().trim_matches('*').trim();
    if k.is_ascii() {
        return keys.iter().any(|w| k.eq_ignore_ascii_case(w));
    }
    let k = k.to_lowercase();
    keys.iter().any(|w| k == *w)
}

/// A files-list entry key, alone or joined to another (`Create or Modify`, `Create/Update`).
fn is_entry_key(key: &str) -> bool {
    let k = key.trim().trim_matches('*').trim();
    if key_in(k, FILE_ENTRY_KEYS) {
        return true;
    }
    let lower = k.to_lowercase();
    let parts: Vec<&str> = lower
        .split(['/', ',', '&', '+', '、', '或'])
        .flat_map(|p| p.split(" or "))
        .flat_map(|p| p.split(" and "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    parts.len() > 1 && parts.iter().all(|p| key_in(p, FILE_ENTRY_KEYS))
}

/// Whether the prose of a line (not its backticked commands: `--output-on-failure`,
/// `-DfailIfNoTests=false`) says the check must fail.
fn says_fail(text: &str) -> bool {
    if !text.contains('`') {
        return contains_any(text, FAIL_WORDS);
    }
    let mut prose = String::with_capacity(text.len());
    let mut last = 0;
    for (code, off) in md::code_spans(text) {
        prose.push_str(text.get(last..off).unwrap_or(""));
        prose.push(' ');
        last = off + code.len();
    }
    prose.push_str(text.get(last..).unwrap_or(""));
    contains_any(&prose, FAIL_WORDS)
}

fn contains_any(text: &str, words: &[&str]) -> bool {
    if text.is_empty() {
        return false;
    }
    let lower = text.to_lowercase();
    words.iter().any(|w| lower.contains(w))
}

/// A `Key: value` line (see [`md::field`]) where the colon may also be a full-width `：`, and a
/// checkbox before the key (`- [ ] Expected: …`) is skipped.
fn field(line: &str) -> Option<(&str, &str, usize)> {
    if !line.contains([':', '：']) {
        return None;
    }
    let body = md::checkbox(line).map(|(_, t)| t).or_else(|| md::bullet(line)).unwrap_or_else(|| line.trim_start());
    let body_off = md::offset_in(line, body).unwrap_or(0);
    let colon_len = |s: &str| if s.starts_with('：') { '：'.len_utf8() } else { 1 };
    // A key in backticks: `` `Files:` ``.
    if let Some(inner) = body.strip_prefix('`') {
        let close = inner.find('`')?;
        let key = inner.get(..close)?.strip_suffix([':', '：'])?.trim();
        let value = inner.get(close + 1..)?.trim();
        if key.is_empty() || key.contains(char::is_whitespace) && key.chars().count() > 30 {
            return None;
        }
        return Some((key, value, md::offset_in(line, value).unwrap_or(body_off)));
    }
    let (key, rest) = if let Some(inner) = body.strip_prefix("**") {
        let close = inner.find("**")?;
        let key = inner.get(..close)?;
        let after = inner.get(close + 2..)?;
        match key.strip_suffix([':', '：']) {
            Some(k) => (k, after),
            None => {
                let a = after.trim_start();
                if !a.starts_with([':', '：']) {
                    return None;
                }
                (key, a.get(colon_len(a)..)?)
            }
        }
    } else {
        let colon = body.find([':', '：'])?;
        let key = body.get(..colon)?;
        if key.is_empty() || key.chars().count() > 40 || key.contains('`') || key.contains("](") {
            return None;
        }
        let after = body.get(colon..)?;
        (key, after.get(colon_len(after)..)?)
    };
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    let value = rest.trim();
    let value_off = md::offset_in(line, value).unwrap_or(body_off);
    Some((key, value, value_off))
}

/// The title of a step line: a checkbox (`- [ ] **Step 2: Run it**`), a bold line
/// (`**Step 2: Run it**`), or a `Step N:` line. Headings are steps too, handled by the caller.
fn step_title(line: &str) -> Option<&str> {
    if let Some((_, t)) = md::checkbox(line) {
        return Some(t);
    }
    let t = line.trim();
    if t.starts_with("**") && t.len() > 4 && field(t).is_none() {
        return Some(t);
    }
    // Only lines starting like one of the words are worth comparing.
    let first = t.chars().next()?.to_lowercase().next()?;
    if !matches!(first, 's' | '步' | 'ス' | 'p' | 'é') {
        return None;
    }
    let words = ["step ", "步骤", "ステップ", "paso ", "schritt ", "étape "];
    words
        .iter()
        .any(|w| strip_word(t, w).is_some_and(|r| r.trim_start().starts_with(|c: char| c.is_ascii_digit())))
        .then_some(t)
}

/// Whether a line is a numbered step (`- [ ] **Step 2: …**`).
fn is_step(line: &str) -> bool {
    step_title(line).is_some_and(is_numbered_step)
}

/// Whether a step title is numbered like superpowers' steps (`Step 1`, `步骤 1`).
fn is_numbered_step(title: &str) -> bool {
    let t = title.trim().trim_start_matches("**").trim_start();
    ["step", "步骤", "ステップ"]
        .iter()
        .any(|w| strip_word(t, w).is_some_and(|r| r.trim_start().starts_with(|c: char| c.is_ascii_digit())))
}

/// A task being read: its heading and body lines.
struct Draft<'a> {
    heading: Heading<'a>,
    level: usize,
    line: Line<'a>,
    body: Vec<Line<'a>>,
}

/// Commands each step ran, by task number and step number, for steps that say "run the command
/// of Task 1 Step 2".
/// The commands the plan has shown so far, for steps that refer back to them.
#[derive(Default)]
struct StepCommands {
    /// By task and step number: "Run the command of Task 1 Step 2".
    by_step: std::collections::HashMap<(String, String), Vec<(String, Span)>>,
    /// Every command in plan order, checks or not: "Run `RelicTest.tscn`" names one of them.
    all: Vec<(String, Span)>,
    /// The last commands of the task being read, checks or not: "run it again", "same command".
    last: Vec<(String, Span)>,
}

fn parse_into(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let mut refs = StepCommands::default();
    let lines = md::lines_nested(&text);
    let mut title_seen = false;
    let mut context: Vec<&str> = Vec::new();
    let mut draft: Option<Draft<'_>> = None;

    for line in &lines {
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((level, t)) = heading {
            if level == 1 && !title_seen && draft.is_none() && b.plan.tasks.is_empty() {
                title_seen = true;
                b.plan.title = t.to_owned();
                continue;
            }
            if let Some(h) = task_heading(t).filter(|_| (2..=4).contains(&level)) {
                flush(b, src, draft.take(), &mut refs);
                draft = Some(Draft { heading: h, level, line: *line, body: Vec::new() });
                continue;
            }
            if task_heading(t).is_some() || looks_like_task(t) {
                warn_unread_task(
                    b,
                    src,
                    line,
                    "this heading looks like a task but has no task number, or is not a `##`–`####` heading",
                );
            }
            // A heading as high as the task's own ends the task: what follows is plan-wide.
            if draft.as_ref().is_some_and(|d| level <= d.level) {
                flush(b, src, draft.take(), &mut refs);
            }
        } else if !line.in_fence && line.text.trim_start().starts_with("**") && looks_like_task(line.text) {
            warn_unread_task(b, src, line, "this bold line looks like a task heading");
        }
        match draft.as_mut() {
            Some(d) => d.body.push(*line),
            None => context.push(line.text),
        }
    }
    flush(b, src, draft.take(), &mut refs);
    follow_numbers(b);
    b.plan.context = clean_context(&context);
    if b.plan.tasks.is_empty() {
        b.warn(
            Diagnostic::error("no-tasks", "no `### Task N: …` headings were found in this plan")
                .at(Some(Span::new(src, 0, 0)))
                .help("write each task as `### Task 1: <Component>`"),
        );
    }
}

/// Tasks written out of their numbers' order (1, 2, 4, 3, 5, often with a note that Task 3 runs
/// before Task 4) run in the order of their numbers: the dependency each task had on the one
/// written before it goes to the one numbered before it. Plans whose numbers cannot all be
/// compared (missing or repeated) keep the written order.
fn follow_numbers(b: &mut PlanBuilder) {
    fn key(id: &str) -> Option<Vec<(u64, String)>> {
        let number = id.strip_prefix("task-")?;
        number
            .split('.')
            .map(|part| {
                let digits = part.len() - part.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let n = part.get(..digits)?.parse().ok()?;
                Some((n, part.get(digits..)?.to_owned()))
            })
            .collect()
    }
    let Some(keys) = b.plan.tasks.iter().map(|t| key(&t.id)).collect::<Option<Vec<_>>>() else {
        return;
    };
    let mut order: Vec<(Vec<(u64, String)>, usize)> = keys.into_iter().zip(0..).collect();
    order.sort();
    let repeated = order.windows(2).any(|w| matches!(w, [x, y] if x.0 == y.0));
    if repeated || order.iter().enumerate().all(|(i, (_, t))| i == *t) {
        return;
    }
    let mut numbered_prev: Vec<Option<String>> = vec![None; b.plan.tasks.len()];
    for w in order.windows(2) {
        if let [(_, before), (_, after)] = w
            && let Some(slot) = numbered_prev.get_mut(*after)
        {
            *slot = b.plan.tasks.get(*before).map(|t| t.id.clone());
        }
    }
    let mut written_prev: Option<String> = None;
    for ((task, spans), numbered) in b.plan.tasks.iter_mut().zip(b.task_spans.iter_mut()).zip(numbered_prev) {
        let head = spans.head();
        let implied = match &written_prev {
            Some(prev) if task.depends_on.first() == Some(prev) => {
                task.depends_on.remove(0);
                (!spans.depends_on.is_empty()).then(|| spans.depends_on.remove(0))
            }
            // The task written first depends on nothing by plan order.
            None => head,
            Some(_) => None,
        };
        written_prev = Some(task.id.clone());
        if let (Some(prev), Some(span)) = (numbered, implied)
            && !task.depends_on.contains(&prev)
        {
            task.depends_on.insert(0, prev);
            spans.depends_on.insert(0, span);
        }
    }
}

fn warn_unread_task(b: &mut PlanBuilder, src: SourceId, line: &Line<'_>, what: &str) {
    b.warn(
        Diagnostic::warning("unread-task", format!("`{}`: {what}; it is not read as a task", line.text.trim()))
            .at(Some(line_span(src, line)))
            .help("write tasks as `### Task 3: <Component>` headings, numbered"),
    );
}

/// The plan's context without the note addressed to the agent that executes the plan by hand:
/// planrun is that executor, and an implementer told to run the whole plan would overreach.
fn clean_context(lines: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut skipping = false;
    for l in lines {
        let quoted = l.trim_start().starts_with('>');
        if quoted && (l.to_ascii_uppercase().contains("REQUIRED SUB-SKILL") || l.contains("superpowers:")) {
            skipping = true;
            continue;
        }
        if skipping && quoted && !l.trim_start().trim_start_matches('>').trim().is_empty() {
            continue;
        }
        skipping = false;
        out.push(l);
    }
    // A lone horizontal rule left between the header and the first task says nothing.
    while out.last().is_some_and(|l| l.trim().is_empty() || l.trim() == "---") {
        out.pop();
    }
    model::block(&out.join("\n"))
}

fn line_span(src: SourceId, line: &Line<'_>) -> Span {
    Span::new(src, line.start, line.start + line.text.len())
}

fn flush(b: &mut PlanBuilder, src: SourceId, draft: Option<Draft<'_>>, refs: &mut StepCommands) {
    let Some(d) = draft else { return };
    let head_span = line_span(src, &d.line);
    let id = if d.heading.number.is_empty() {
        String::new()
    } else {
        format!("task-{}", d.heading.number.to_ascii_lowercase())
    };
    let mut task = Task::new(id, model::one_line(d.heading.title));
    let mut spans = TaskSpans::at(head_span);
    // An empty title is reported by validation, at the heading.
    spans.title =
        Some(sub_span(src, &d.line, d.heading.title).filter(|_| !d.heading.title.is_empty()).unwrap_or(head_span));
    if d.heading.number.is_empty() {
        b.warn(
            Diagnostic::error("missing-id", "this task heading has no task number")
                .at(Some(head_span))
                .help("number every task: `### Task 3: <Component>`"),
        );
    } else {
        spans.id = sub_span(src, &d.line, d.heading.number);
    }
    // Plan order: each task starts after the one written before it. The dependency is implied
    // by the heading's place, so the heading is where it is "written".
    if let Some(prev) = b.plan.tasks.iter().rev().find(|t| !t.id.is_empty()) {
        task.depends_on.push(prev.id.clone());
        spans.depends_on.push(head_span);
    }
    read_files(b, src, &d.body, &mut task, &mut spans);
    read_dependencies(b, src, &d.body, &mut task, &mut spans);
    let criteria = read_acceptance(src, &d.body, d.level);
    for (c, span) in criteria.items {
        task.acceptance.push(c);
        spans.acceptance.push(span);
    }
    for (cmd, span) in read_verify(b, src, &d.body, d.heading.number, refs) {
        task.verify.push(cmd);
        spans.verify.push(span);
    }
    // Steps are done when every step box is ticked; boxes of the acceptance list do not count
    // unless there are no others.
    let boxes: Vec<(bool, &Line<'_>)> = d
        .body
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.in_fence)
        .filter_map(|(i, l)| md::checkbox(l.text).map(|(c, _)| (i, c, l)))
        .filter(|(i, _, _)| !criteria.lines.contains(i))
        .map(|(_, c, l)| (c, l))
        .collect();
    let boxes = if boxes.is_empty() {
        d.body
            .iter()
            .filter(|l| !l.in_fence)
            .filter_map(|l| md::checkbox(l.text).map(|(c, _)| (c, l)))
            .collect::<Vec<_>>()
    } else {
        boxes
    };
    if d.heading.done {
        task.status = Status::Done;
        spans.status = Some(head_span);
    } else if !boxes.is_empty() && boxes.iter().all(|(c, _)| *c) {
        task.status = Status::Done;
        if let (Some((_, first)), Some((_, last))) = (boxes.first(), boxes.last()) {
            spans.status = Some(Span::new(src, first.start, last.start + last.text.len()));
        }
    }
    task.description = model::block(&d.body.iter().map(|l| l.text).collect::<Vec<_>>().join("\n"));
    let first = d.body.iter().find(|l| !l.text.trim().is_empty());
    let last = d.body.iter().rev().find(|l| !l.text.trim().is_empty());
    if let (Some(f), Some(l), false) = (first, last, task.description.is_empty()) {
        spans.description = Some(Span::new(src, f.start, l.start + l.text.len()));
    }
    b.push(task, spans);
}

/// The span of `part` (a sub-slice of the line's text) in the source.
fn sub_span(src: SourceId, line: &Line<'_>, part: &str) -> Option<Span> {
    let off = md::offset_in(line.text, part)?;
    Some(Span::new(src, line.start + off, line.start + off + part.len()))
}

/// One entry of a `Files` list, possibly wrapped over several lines.
struct Entry {
    /// The entry's value (after `Create:`), continuation lines joined.
    value: String,
    /// Where the value starts and ends in the source.
    start: usize,
    end: usize,
    /// Whether the entry had a file key (`Create:`, `修改：`).
    keyed: bool,
    /// A non-file key with nothing after it: a group label such as `- Backend:`.
    label: bool,
}

/// Whether `text` has an odd number of backticks: a code span left open at the line's end.
fn open_backtick(text: &str) -> bool {
    text.matches('`').count() % 2 == 1
}

/// Reads `**Files:**` and the list under it: `- Create: path`, `- Modify: path:12-40`,
/// `- Test: path`, or bare paths, with entries wrapped onto the next line and blank lines
/// between entries.
fn read_files(b: &mut PlanBuilder, src: SourceId, body: &[Line<'_>], task: &mut Task, spans: &mut TaskSpans) {
    let mut i = 0;
    while let Some(line) = body.get(i) {
        i += 1;
        if line.in_fence {
            continue;
        }
        let Some((_, value, off)) = field(line.text).filter(|(k, _, _)| key_in(k, FILES_KEYS)) else {
            continue;
        };
        let start = line.start + off;
        let inline = Entry { value: value.to_owned(), start, end: start + value.len(), keyed: true, label: false };
        add_entry(b, src, &inline, task, spans);
        // The list under the field.
        while let Some(next) = body.get(i) {
            if next.in_fence {
                break;
            }
            if next.text.trim().is_empty() {
                // A blank line ends the list unless another entry follows it.
                let rest = body.get(i..).unwrap_or_default();
                let blanks = rest.iter().take_while(|l| l.text.trim().is_empty()).count();
                let ahead = rest.get(blanks);
                let quote_then_entry = quote_before_entry(rest.get(blanks..).unwrap_or_default()).is_some();
                if quote_then_entry || ahead.is_some_and(|l| !l.in_fence && is_file_entry(l.text)) {
                    i += 1;
                    continue;
                }
                break;
            }
            // A blockquote note between entries ("> Numbered 012, not 011: …") is prose: the list
            // goes on after it when another entry follows.
            if next.text.trim_start().starts_with('>') {
                match quote_before_entry(body.get(i..).unwrap_or_default()) {
                    Some(quoted) => {
                        i += quoted;
                        continue;
                    }
                    None => break,
                }
            }
            let Some(item) = md::bullet(next.text).filter(|_| md::checkbox(next.text).is_none()) else {
                break;
            };
            i += 1;
            let (mut value, keyed, label, voff) = match field(next.text) {
                Some((k, v, o)) if is_entry_key(k) => (v.to_owned(), true, false, o),
                Some((_, "", o)) => (String::new(), false, true, o),
                // Files the task only reads, and build output that is not committed, are not
                // files of the task: they stay in the description.
                Some((k, _, _)) if key_in(k, READ_ONLY_KEYS) || names_existing(k) => continue,
                _ => (item.to_owned(), false, false, md::offset_in(next.text, item).unwrap_or(0)),
            };
            let start = next.start + voff;
            let mut end = next.start + next.text.len();
            // Continuation lines: indented text that is not a list item, or anything while a
            // backticked path is still open, or the path of an entry whose key stood alone.
            while let Some(cont) = body.get(i) {
                let t = cont.text.trim();
                let wraps = open_backtick(&value)
                    || (keyed && value.is_empty())
                    || (cont.text.starts_with([' ', '\t']) && md::bullet(cont.text).is_none());
                if cont.in_fence || t.is_empty() || !wraps || md::heading(cont.text).is_some() {
                    break;
                }
                if open_backtick(&value) {
                    value.push_str(t);
                } else {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(t);
                }
                end = cont.start + cont.text.len();
                i += 1;
            }
            let entry = Entry { value, start, end, keyed, label: label && end == next.start + next.text.len() };
            if entry.label {
                continue;
            }
            if entry.keyed && entry.value.is_empty() {
                b.warn(
                    Diagnostic::warning("unread-file", format!("`{}` names no file", next.text.trim()))
                        .at(Some(Span::new(src, next.start, end)))
                        .help("write the path after the key: `- Modify: `src/x.rs``"),
                );
                continue;
            }
            add_entry(b, src, &entry, task, spans);
        }
    }
}

/// The number of blockquote lines at the start of `rest` when an entry of the files list follows
/// them right away (a note between entries), else `None`.
fn quote_before_entry(rest: &[Line<'_>]) -> Option<usize> {
    let quoted = rest.iter().take_while(|l| !l.in_fence && l.text.trim_start().starts_with('>')).count();
    let after = rest.get(quoted)?;
    (quoted > 0 && !after.in_fence && is_file_entry(after.text)).then_some(quoted)
}

/// Whether a files-list key says its files already exist and the task leaves them as they are
/// (`- Fixtures (already committed):`, `- Data (read-only):`).
fn names_existing(key: &str) -> bool {
    let lower = key.to_lowercase();
    let first = lower.split([' ', '(']).next().unwrap_or("");
    !key_in(first, FILE_ENTRY_KEYS)
        && ["already committed", "already in the repo", "already exist", "read-only", "read only", "unchanged"]
            .iter()
            .any(|w| lower.contains(w))
}

/// Whether a line is an entry of a files list: a (non-checkbox) list item with a file key or a
/// backticked path.
fn is_file_entry(text: &str) -> bool {
    md::bullet(text).is_some()
        && md::checkbox(text).is_none()
        && (field(text).is_some_and(|(k, _, _)| is_entry_key(k)) || text.contains('`'))
}

/// Adds every path of one `Files` entry: each backticked span, or the comma-separated words.
fn add_entry(b: &mut PlanBuilder, src: SourceId, entry: &Entry, task: &mut Task, spans: &mut TaskSpans) {
    let value = entry.value.trim();
    let lowered = value.to_lowercase();
    let none = ["none", "n/a", "no files", "无", "なし", "ninguno", "keine"];
    if value.is_empty() || none.iter().any(|w| lowered.starts_with(w)) {
        return;
    }
    // "Modify: this plan file" (to tick its boxes): the plan itself, from the repository's root.
    let own = ["this plan", "this file", "the plan file", "本计划", "本文件", "この計画", "este plano", "este plan"];
    if own.iter().any(|w| lowered.starts_with(w)) {
        let path = b.sources.path(src).to_path_buf();
        match plan_in_repo(&path) {
            Some(p) if !task.files.contains(&p) => {
                task.files.push(p);
                spans.files.push(Span::new(src, entry.start, entry.end));
            }
            Some(_) => {}
            None => b.warn(
                Diagnostic::warning(
                    "unread-file",
                    format!("`{value}`: planrun cannot tell where this plan sits in the repository"),
                )
                .at(Some(Span::new(src, entry.start, entry.end)))
                .help("name the plan's path from the repository's root: `- Modify: `docs/plans/x.md``"),
            ),
        }
        return;
    }
    if ["not committed", "do not commit", "don't commit", "不提交", "gitignored"].iter().any(|w| lowered.contains(w))
    {
        return;
    }
    if open_backtick(value) {
        b.warn(
            Diagnostic::warning("unread-file", format!("`{value}` opens a backticked path that never closes"))
                .at(Some(Span::new(src, entry.start, entry.end)))
                .help("close the backticks around the path: `- Create: `src/x.rs``"),
        );
        return;
    }
    // Notes in parentheses (`` `a.ts` (`TurnDeps`), `b.ts` (`x`) ``), and a note after a dash
    // following the first path, may hold more backticks: they are not files. They are blanked,
    // so offsets stay those of the line.
    let blanked = without_notes(value);
    let value = blanked.as_str();
    let one_line = entry.end <= entry.start + entry.value.len();
    // The folders a brace group named (`crates/{a,b}/Cargo.toml` → `crates/a/`, `crates/b/`), for a
    // later "and each crate's `src/lib.rs`".
    let mut each_base: Vec<String> = Vec::new();
    let mut prev_end = 0;
    for (index, (item, off)) in md::split_list(value).into_iter().enumerate() {
        let before = value.get(prev_end..off).unwrap_or("").to_lowercase();
        prev_end = off + item.len();
        // Offsets are exact on one line; a wrapped entry is located as a whole.
        let span = if one_line {
            Span::new(src, entry.start + off, entry.start + off + item.len())
        } else {
            Span::new(src, entry.start, entry.end)
        };
        // A bare name after the first path is a word of the entry's prose (`the `parse` fn`).
        let bare = !item.contains(['/', '.', '*', '\\']) && !EXTENSIONLESS.contains(&item.as_str());
        if bare && index > 0 && value.contains('`') {
            continue;
        }
        let Some(path) = clean_path(&item) else {
            b.warn(
                Diagnostic::warning(
                    "unread-file",
                    format!("`{item}` does not look like a path and is not a file of task `{}`", task.id),
                )
                .at(Some(span))
                .help("list one path per entry: `- Modify: src/app.py:10-40`"),
            );
            continue;
        };
        let paths = if !each_base.is_empty() && before.contains("each ") && before.trim_end().ends_with(['s', '`']) {
            each_base.iter().map(|base| format!("{base}{path}")).collect()
        } else {
            if let Some(base) = brace_base(&path) {
                each_base = expand_braces(&base);
            }
            expand_braces(&path)
        };
        for path in paths {
            if !task.files.contains(&path) {
                task.files.push(path);
                spans.files.push(span);
            }
        }
    }
}

/// A files entry with its notes blanked out (replaced by spaces of the same byte length): text in
/// parentheses that open after a space, a backtick, a comma or the start (not `(auth)` inside a
/// path), and everything after a dash (` — `, ` – `, ` - `) that follows a backticked path.
/// Backticked text is never a note.
fn without_notes(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_code = false;
    let mut depth = 0usize;
    let mut code_in_note = false;
    let mut prev: Option<char> = None;
    let mut seen_path = false;
    let mut rest_blank = false;
    for (at, c) in value.char_indices() {
        let blank = |out: &mut String| out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        if rest_blank {
            blank(&mut out);
            continue;
        }
        if depth > 0 {
            match c {
                '`' => code_in_note = !code_in_note,
                '(' | '（' if !code_in_note => depth += 1,
                ')' | '）' if !code_in_note => depth -= 1,
                _ => {}
            }
            blank(&mut out);
            prev = Some(c);
            continue;
        }
        if c == '`' {
            in_code = !in_code;
            if !in_code {
                seen_path = true;
            }
        } else if !in_code {
            let opens = matches!(c, '(' | '（')
                && prev.is_none_or(|p| p.is_whitespace() || matches!(p, '`' | ',' | '，' | '、'));
            if opens {
                depth = 1;
                code_in_note = false;
                blank(&mut out);
                prev = Some(c);
                continue;
            }
            let tail = value.get(at..).unwrap_or("");
            if seen_path && c == ' ' && [" — ", " – ", " - ", " —", " –"].iter().any(|d| tail.starts_with(d)) {
                rest_blank = true;
                blank(&mut out);
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// The plan's path from the root of its repository: from its `docs/` folder in the layouts
/// superpowers writes (`docs/superpowers/plans/`, `docs/plans/`, always at the root), else from
/// the nearest folder above it holding `.git`.
fn plan_in_repo(path: &Path) -> Option<String> {
    let parts: Vec<_> = path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let docs = parts
        .windows(2)
        .rposition(|w| matches!(w, [d, next] if d == "docs" && (next == "superpowers" || next == "plans")));
    let rel = match docs {
        Some(at) => parts.get(at..)?.join("/"),
        None => {
            let root = path.ancestors().skip(1).find(|dir| dir.join(".git").exists())?;
            path.strip_prefix(root).ok()?.to_str()?.replace('\\', "/")
        }
    };
    (!rel.is_empty()).then_some(rel)
}

/// Expands the first `{a,b,c}` group of a path (`crates/{a,b}/lib.rs` → `crates/a/lib.rs`,
/// `crates/b/lib.rs`), and the groups after it in turn. A path without one is itself.
fn expand_braces(path: &str) -> Vec<String> {
    let group = path.find('{').and_then(|open| Some((open, open + path.get(open..)?.find('}')?)));
    match group {
        Some((open, close)) if path.get(open + 1..close).is_some_and(|g| g.contains(',')) => {
            let (head, tail) = (path.get(..open).unwrap_or(""), path.get(close + 1..).unwrap_or(""));
            path.get(open + 1..close)
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|alt| !alt.is_empty())
                .flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}")))
                .collect()
        }
        _ => vec![path.to_owned()],
    }
}

/// The folder a path's brace group ends in (`crates/{a,b}/Cargo.toml` → `crates/{a,b}/`).
fn brace_base(path: &str) -> Option<String> {
    let close = path.find('}')?;
    path.find('{').filter(|&open| open < close)?;
    let slash = close + 1 + path.get(close + 1..)?.find('/')?;
    Some(path.get(..=slash)?.to_owned())
}

/// A path from a `Files` entry: without `:12-40` line ranges, a leading `./` or `/`, or a
/// trailing note in parentheses. `None` for prose.
fn clean_path(item: &str) -> Option<String> {
    let mut p = item.trim().trim_matches('`').trim();
    // A test id (`tests/test_x.py::test_y`) names its file.
    if let Some(at) = p.find("::") {
        p = p.get(..at).unwrap_or(p);
    }
    for open in [" (", "（", " —", " - "] {
        if let Some(at) = p.find(open) {
            p = p.get(..at).unwrap_or(p).trim_end();
        }
    }
    if let Some(colon) = p.rfind(':') {
        let range = p.get(colon + 1..).unwrap_or("");
        if range.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ',' | 'L' | ' ')) {
            p = p.get(..colon).unwrap_or(p);
        }
    }
    let p = p.trim_start_matches("./").trim_start_matches('/').trim();
    // An unquoted lowercase word ("migration (generated)") is prose; `Makefile` is a file.
    let quoted = item.trim().starts_with('`');
    if !quoted && !p.contains(['/', '.', '*']) && p.starts_with(|c: char| c.is_lowercase()) {
        return None;
    }
    // A name from the code in a note (`ADVISOR_PROMPT`, `TurnDeps`) is not a file; `Makefile` is.
    if !p.contains(['/', '.', '*', '\\']) && p.chars().any(char::is_uppercase) && !EXTENSIONLESS.contains(&p) {
        return None;
    }
    // Files are globs: a folder stands for everything below it.
    let glob = if p.ends_with('/') { format!("{p}**") } else { p.to_owned() };
    (!p.is_empty() && !p.contains(char::is_whitespace) && !p.ends_with(':')).then_some(glob)
}

/// `Depends on: Task 1, Task 3` (or `依赖：任务 1`): dependencies stated besides plan order.
fn read_dependencies(b: &mut PlanBuilder, src: SourceId, body: &[Line<'_>], task: &mut Task, spans: &mut TaskSpans) {
    for line in body.iter().filter(|l| !l.in_fence) {
        let Some((_, value, off)) = field(line.text).filter(|(k, _, _)| key_in(k, DEPENDS_KEYS)) else {
            continue;
        };
        let span = Span::new(src, line.start + off, line.start + off + value.len());
        let lowered = value.to_lowercase();
        if value.is_empty() || ["none", "n/a", "-", "无", "なし"].iter().any(|w| lowered.starts_with(w)) {
            continue;
        }
        let mut found = 0;
        for part in value.split([',', '，', '、', ';']).flat_map(|p| p.split(" and ")) {
            let part = part.trim().trim_matches(['`', '*', '(', ')']).trim();
            let number = match task_heading(part) {
                Some(h) if !h.number.is_empty() => h.number,
                _ => continue,
            };
            found += 1;
            let id = format!("task-{}", number.to_ascii_lowercase());
            if id != task.id && !task.depends_on.contains(&id) {
                task.depends_on.push(id);
                spans.depends_on.push(span);
            }
        }
        if found == 0 {
            b.warn(
                Diagnostic::warning("unread-dependency", format!("`{value}` names no task planrun can find"))
                    .at(Some(span))
                    .help("name tasks by number: `**Depends on:** Task 2, Task 3`"),
            );
        }
    }
}

/// A task's acceptance criteria and the body lines they were read from.
struct Criteria {
    items: Vec<(String, Span)>,
    lines: Vec<usize>,
}

/// The list under an `**Acceptance criteria:**` field or a `#### Acceptance` heading (also
/// `Success criteria`, `Done when`, `验收标准`), one criterion per item; an inline value is one
/// criterion too.
fn read_acceptance(src: SourceId, body: &[Line<'_>], task_level: usize) -> Criteria {
    let mut out = Criteria { items: Vec::new(), lines: Vec::new() };
    let mut i = 0;
    while let Some(line) = body.get(i) {
        i += 1;
        if line.in_fence {
            continue;
        }
        let heading_level = md::heading(line.text)
            .filter(|(lvl, t)| *lvl > task_level && key_in(t.trim_end_matches([':', '：']), ACCEPTANCE_KEYS))
            .map(|(lvl, _)| lvl);
        let is_field = heading_level.is_none()
            && md::bullet(line.text).is_none()
            && field(line.text).is_some_and(|(k, _, _)| key_in(k, ACCEPTANCE_KEYS));
        if heading_level.is_none() && !is_field {
            continue;
        }
        if let Some((_, value, off)) = field(line.text).filter(|_| is_field) {
            if !value.is_empty() {
                out.items
                    .push((model::one_line(value), Span::new(src, line.start + off, line.start + off + value.len())));
                out.lines.push(i - 1);
            }
        }
        let mut seen_item = false;
        while let Some(next) = body.get(i) {
            if next.in_fence || md::heading(next.text).is_some() {
                break;
            }
            if next.text.trim().is_empty() {
                let ahead = body.get(i..).unwrap_or_default().iter().find(|l| !l.text.trim().is_empty());
                let more = heading_level.is_some()
                    && ahead.is_some_and(|l| md::bullet(l.text).is_some() && !l.in_fence && !is_step(l.text));
                if !seen_item || more {
                    i += 1;
                    continue;
                }
                break;
            }
            let Some(item) = md::checkbox(next.text).map(|(_, t)| t).or_else(|| md::bullet(next.text)) else {
                break;
            };
            if is_step(next.text) {
                break;
            }
            if is_field && field(next.text).is_some_and(|(k, _, _)| key_in(k, FILES_KEYS)) {
                break;
            }
            seen_item = true;
            let text = model::one_line(item);
            if !text.is_empty() {
                out.items.push((text, sub_span(src, next, item).unwrap_or_else(|| line_span(src, next))));
                out.lines.push(i);
            }
            i += 1;
        }
    }
    out
}

/// Commands found in one step, waiting for the step's `Expected:` line to say whether they must
/// pass.
#[derive(Default)]
struct Group {
    commands: Vec<(String, Span)>,
    /// A fenced block found on its own (not under `Run:`): it is a check only when an
    /// `Expected:` line or the step's title says so.
    block: bool,
    /// Commands written in a step's own sentence: whether that sentence says they must fail was
    /// judged clause by clause already.
    prose: bool,
    /// Commands named in a step's title: the step's own `Run:` line or block, when it has one,
    /// says the same in full and replaces them.
    tentative: bool,
    /// Commands of an earlier step run again ("same command", "run both scenes again").
    reused: bool,
}

/// The task's verify commands: `Run:` commands, fenced shell blocks and `Run \`cmd\`` in a step's
/// text, whose expected outcome is not a failure (the red step of test-first work runs the same
/// test expecting it to fail), without setup commands (`git commit`, `mkdir`, installs).
fn read_verify(
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
fn run_in_folder(line: &str) -> Option<(&str, usize, Option<&str>)> {
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
fn step_number(title: &str) -> Option<String> {
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
fn step_reference(text: &str) -> Option<(Option<String>, String)> {
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
fn runs_again(text: &str) -> bool {
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
fn alternative(text: &str) -> Option<&str> {
    let lower = text.to_lowercase();
    let at = ["or run", "alternatively", "或者运行", "或直接运行"].iter().filter_map(|w| lower.find(w)).min()?;
    let (cmd, _) = md::code_spans(text.get(at..)?).into_iter().next()?;
    let cmd = cmd.trim();
    (!cmd.is_empty()).then_some(cmd)
}

/// Whether `cmd` is a chain (`a; b`, `a && b`) whose last command is `tail`.
fn chain_ends_with(cmd: &str, tail: &str) -> bool {
    cmd.strip_suffix(tail).is_some_and(|head| {
        let head = head.trim_end();
        head.ends_with(';') || head.ends_with("&&")
    })
}

/// How many of the plan's latest commands "Run `RelicTest.tscn`" looks through.
const NAMED_RUN_LOOKBACK: usize = 256;

/// "Run `RelicTest.tscn`": a file, not a command, after a word for "run", that an earlier
/// command of the plan runs; that command, the latest one naming the file.
fn named_run(text: &str, all: &[(String, Span)]) -> Option<(String, Span)> {
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
fn fence_end(body: &[Line<'_>], start: usize) -> usize {
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
fn fence_inner<'b, 'a>(body: &'b [Line<'a>], start: usize) -> (&'b [Line<'a>], usize) {
    let end = fence_end(body, start);
    let closed = end > start + 1
        && body.get(end - 1).is_some_and(|l| md::fence_of(l.text).is_some_and(|(_, _, info_empty)| info_empty));
    let inner_end = if closed { end - 1 } else { end };
    (body.get(start + 1..inner_end.max(start + 1)).unwrap_or_default(), end)
}

/// The info string of a fence line (`bash` in ```` ```bash ````).
fn fence_lang(line: &str) -> &str {
    line.trim().trim_start_matches(['`', '~']).split_whitespace().next().unwrap_or("")
}

/// Whether a fenced block holds shell commands: a shell language, or no language and a first
/// line that starts with a program.
fn is_shell_lang(lang: &str, inner: &[Line<'_>]) -> bool {
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
fn run_commands(src: SourceId, line: &Line<'_>, value: &str, value_off: usize) -> (Vec<(String, Span)>, bool) {
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

/// `Run \`cmd\`` written in a step's prose (`- [ ] Run `pytest -q`.`, `运行 `npm test` 以验证`):
/// backticked commands of known programs after a word for "run", unless the line says the
/// check must fail.
fn prose_commands(src: SourceId, line: &Line<'_>) -> Vec<(String, Span)> {
    let text = line.text;
    if !text.contains('`') {
        return Vec::new();
    }
    // `Run:` and `Expected:` lines are read on their own.
    if field(text).is_some_and(|(k, _, _)| key_in(k, RUN_KEYS) || key_in(k, EXPECTED_KEYS)) {
        return Vec::new();
    }
    prose_in(src, line.start, text)
}

/// The backticked commands of known programs in `text` (which starts at byte `start` of the
/// source), each right after a word for "run": a span after "or" or "then" is an alternative or
/// a follow-up (`rm -rf x`), not a check.
fn prose_in(src: SourceId, start: usize, text: &str) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let mut prev_end = 0;
    let mut prev_taken = false;
    for (cmd, off) in md::code_spans(text) {
        let between = text.get(prev_end..off).unwrap_or("").to_lowercase();
        prev_end = off + cmd.len();
        // "Run `a` + `b`", "run `a` and `b`": the second is run too.
        let joined = prev_taken
            && matches!(
                between.trim_matches(['`', ' ']),
                "+" | "and"
                    | ","
                    | "&"
                    | "&&"
                    | "和"
                    | "、"
                    | "e"
                    | "y"
                    | "und"
                    | ", and"
                    | ", y"
                    | ", e"
                    | ", und"
                    | "，和"
            );
        let said_run = joined || PROSE_RUN.iter().any(|w| between.contains(w));
        prev_taken = false;
        // The clause around the command says whether it must fail ("run `x` to see it fail").
        let delims = [',', ';', '(', ')', '，', '；', '（', '）', '。'];
        let clause_start = text.get(..off).and_then(|t| t.rfind(delims)).map_or(0, |d| d + 1);
        let after = off + cmd.len();
        // A note after a dash ("`cargo check` — a wrong path fails to compile") is not the clause.
        let clause_end = text
            .get(after..)
            .and_then(|t| {
                t.find(delims).into_iter().chain([" — ", " – ", " - "].iter().filter_map(|m| t.find(m))).min()
            })
            .map_or(text.len(), |d| after + d);
        let clause =
            format!("{} {}", text.get(clause_start..off).unwrap_or(""), text.get(after..clause_end).unwrap_or(""));
        if !said_run || contains_any(&clause, FAIL_WORDS) {
            continue;
        }
        let after_cd = cmd.trim().strip_prefix("cd ").and_then(|r| r.split_once("&&")).map_or(cmd, |(_, c)| c);
        let known = commands::first_program(after_cd).is_some_and(|p| commands::is_program(p) || p == "git");
        if known && !is_setup(cmd) && !is_setup(after_cd) {
            out.push((cmd.trim().to_owned(), Span::new(src, start + off, start + off + cmd.len())));
            prev_taken = true;
        }
    }
    out
}

/// The commands of a fenced shell block, one per logical line (`\` continuations and heredocs
/// joined), with a `cd dir` line carried into the commands after it and setup commands left out.
fn shell_commands(src: SourceId, inner: &[Line<'_>]) -> Vec<(String, Span)> {
    let prompts = inner.iter().any(|l| l.text.trim_start().starts_with("$ "));
    let mut out = Vec::new();
    let mut cd: Option<String> = None;
    let mut j = 0;
    while let Some(line) = inner.get(j) {
        j += 1;
        let mut t = line.text.trim();
        if prompts {
            match t.strip_prefix("$ ") {
                Some(rest) => t = rest.trim(),
                None => continue,
            }
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut cmd = t.to_owned();
        let mut end = line.start + line.text.len();
        // `\` continues a line; so do PowerShell's backtick and cmd's caret after a space.
        while cmd.ends_with('\\') || cmd.ends_with(" `") || cmd.ends_with(" ^") {
            cmd.pop();
            let Some(next) = inner.get(j) else { break };
            j += 1;
            cmd = format!("{} {}", cmd.trim_end(), next.text.trim());
            end = next.start + next.text.len();
        }
        if let Some(delim) = heredoc_delimiter(&cmd) {
            while let Some(next) = inner.get(j) {
                j += 1;
                cmd.push('\n');
                cmd.push_str(next.text);
                end = next.start + next.text.len();
                if next.text.trim() == delim {
                    break;
                }
            }
        }
        let span = Span::new(src, line.start + md::offset_in(line.text, t).unwrap_or(0), end);
        if let Some(dir) = cd_only(&cmd) {
            cd = Some(match cd.take() {
                Some(prev) if !dir.starts_with('/') => format!("{prev} && cd {dir}"),
                _ => format!("cd {dir}"),
            });
            continue;
        }
        if is_setup(&cmd) {
            continue;
        }
        let full = match &cd {
            Some(prefix) => format!("{prefix} && {cmd}"),
            None => cmd,
        };
        out.push((full, span));
    }
    out
}

/// The delimiter of a heredoc the command opens (`cat <<'EOF'`), if any.
fn heredoc_delimiter(cmd: &str) -> Option<String> {
    let at = cmd.find("<<")?;
    let rest = cmd.get(at + 2..)?.trim_start_matches(['-', '~']).trim_start();
    let word: String =
        rest.trim_start_matches(['\'', '"']).chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!word.is_empty()).then_some(word)
}

/// The folder of a command that only changes directory (`cd web`).
fn cd_only(cmd: &str) -> Option<&str> {
    let rest = cmd.trim().strip_prefix("cd ")?.trim();
    (!rest.is_empty() && !rest.contains(['&', ';', '|', ' '])).then_some(rest)
}

/// Whether a command prepares rather than checks: version control, creating or moving files,
/// changing directory, writing a file with `echo … >`, and installing dependencies.
fn is_setup(cmd: &str) -> bool {
    // A chain of setup steps (`cd backend; python -m venv .venv; pip install …`) sets up.
    let parts: Vec<&str> = cmd.split(" && ").flat_map(|p| p.split("; ")).map(str::trim).collect();
    if parts.len() > 1 {
        return parts.iter().all(|p| p.is_empty() || is_setup(p));
    }
    let cmd = without_wrapper(cmd.trim().trim_start_matches('(').trim_start());
    let words: Vec<&str> = cmd.split_whitespace().filter(|w| !w.contains('=') || w.starts_with('-')).collect();
    // A line of assignments only (`$env:APP_ENV='Development'`, `FOO=1`) sets the environment.
    if words.is_empty() {
        return true;
    }
    // A program named by its path (`.venv/bin/pip`, `.\.venv\Scripts\python`) by its name.
    let first = words.first().copied().unwrap_or("");
    let first = first.rsplit(['/', '\\']).next().unwrap_or(first);
    let first = first.strip_suffix(".exe").unwrap_or(first);
    let second = words.get(1).copied().unwrap_or("");
    let third = words.get(2).copied().unwrap_or("");
    if cd_only(cmd).is_some() {
        return true;
    }
    let setup = match first {
        "git" => !(second == "diff" && words.iter().any(|w| matches!(*w, "--check" | "--exit-code"))),
        "mkdir" | "touch" | "cp" | "mv" | "rm" | "ln" | "chmod" | "chown" | "export" | "source" | "." | "unset"
        | "set" | "apt" | "apt-get" | "brew" | "dnf" | "yum" | "apk" => true,
        "echo" | "printf" | "cat" | "tee" => cmd.contains('>') || first == "tee",
        "npm" | "pnpm" | "yarn" | "bun" => {
            matches!(second, "install" | "i" | "ci" | "add" | "init" | "create" | "link" | "remove" | "uninstall")
                || (first == "yarn" && second.is_empty())
        }
        "pip" | "pip3" | "pipx" => matches!(second, "install" | "uninstall"),
        "python" | "python3" | "py" => second == "-m" && matches!(third, "pip" | "venv"),
        "uv" => matches!(second, "add" | "sync" | "venv" | "init" | "lock") || (second == "pip" && third == "install"),
        "poetry" | "pipenv" | "bundle" | "composer" | "hatch" => {
            matches!(second, "add" | "install" | "require" | "init" | "lock" | "update")
        }
        "cargo" => matches!(second, "add" | "install" | "new" | "init" | "remove"),
        "go" => {
            matches!(second, "get" | "install") || (second == "mod" && matches!(third, "init" | "tidy" | "download"))
        }
        "gem" => second == "install",
        "npx" | "bunx" | "pnpx" => second.starts_with("create-") || second.starts_with("degit"),
        "dotnet" => matches!(second, "new" | "add" | "restore"),
        "flutter" | "dart" => second == "pub" || second == "create",
        "mix" => second == "deps.get",
        _ => false,
    };
    setup || commands::never_exits(&words) || rewrites(&words) || migrates(&words)
}

/// A database migration or a code generator (`npx prisma migrate dev`, `prisma generate`,
/// `python manage.py migrate`, `rails db:migrate`, `alembic upgrade head`): it changes the work
/// or the database rather than checking it.
fn migrates(words: &[&str]) -> bool {
    let name = |w: &str| w.rsplit(['/', '\\']).next().unwrap_or(w).to_owned();
    // A SQL client fed a migration file (`psql "$DB" -f migrations/012_x.sql`) applies it.
    let client = words
        .first()
        .is_some_and(|w| matches!(name(w).as_str(), "psql" | "mysql" | "mariadb" | "sqlite3" | "sqlcmd" | "cockroach"));
    if client && words.iter().any(|w| w.to_lowercase().contains("migration")) {
        return true;
    }
    words.windows(2).any(|pair| {
        let [tool, sub] = pair else { return false };
        let (tool, sub) = (name(tool), *sub);
        match tool.as_str() {
            "prisma" => matches!(sub, "migrate" | "generate" | "db"),
            "drizzle-kit" => matches!(sub, "generate" | "push" | "migrate"),
            "manage.py" => matches!(sub, "migrate" | "makemigrations"),
            "rails" | "rake" => sub.starts_with("db:") || sub == "generate",
            "alembic" => matches!(sub, "upgrade" | "downgrade" | "revision"),
            "sqlx" | "knex" | "diesel" => matches!(sub, "migrate" | "migration"),
            "sequelize" => sub.starts_with("db:migrate"),
            "supabase" => matches!(sub, "db" | "migration"),
            // `mix ecto.migrate`, `mix ecto.create`, generators (`mix phx.gen.auth`,
            // `mix ecto.gen.migration`).
            "mix" => {
                matches!(
                    sub,
                    "ecto.migrate" | "ecto.rollback" | "ecto.create" | "ecto.drop" | "ecto.reset" | "ecto.setup"
                ) || sub.contains(".gen")
            }
            "artisan" => sub.starts_with("migrate") || sub.starts_with("make:"),
            "ef" => matches!(sub, "database" | "migrations"),
            _ => false,
        }
    })
}

/// A command without the program that only wraps it: `sudo`, `time`, `nice`, `env`, or a word
/// planrun does not know in front of `git` (`rtk git add …`, a tool that shortens output).
fn without_wrapper(cmd: &str) -> &str {
    let mut cmd = cmd;
    loop {
        let (first, rest) = cmd.split_once(' ').unwrap_or((cmd, ""));
        let rest = rest.trim_start();
        let wraps = matches!(first, "sudo" | "doas" | "time" | "nice" | "nohup" | "command" | "exec" | "env")
            || (!commands::is_program(first) && rest.starts_with("git ") && !first.contains('='));
        if !wraps || rest.is_empty() {
            return cmd;
        }
        cmd = rest;
    }
}

/// A formatter or fixer that rewrites files (`gofumpt -w`, `prettier --write`, `eslint --fix`,
/// `cargo fmt`): it changes the work rather than checking it.
fn rewrites(words: &[&str]) -> bool {
    let first = words.first().copied().unwrap_or("");
    // A program named by its path (`vendor/bin/pint`, `./node_modules/.bin/prettier`).
    let first = first.rsplit(['/', '\\']).next().unwrap_or(first);
    let second = words.get(1).copied().unwrap_or("");
    let has = |w: &str| words.contains(&w);
    let checks = [
        "--check",
        "-check",
        "--test",
        "--lint",
        "--dry-run",
        "--verify-no-changes",
        "--check-formatted",
        "--check-only",
        "--set-exit-if-changed",
        "--diff",
    ];
    if checks.iter().any(|w| has(w)) {
        return false;
    }
    // A `format`/`fmt` subcommand (`dotnet format`, `dotnet csharpier format .`, `mix format`,
    // `dart format .`, `terraform fmt`) rewrites the files it is given; a task runner's recipe
    // of that name (`just format`, `npm run format`) may as well only check, so it stays.
    const TASK_RUNNERS: &[&str] = &["npm", "pnpm", "yarn", "bun", "git", "just", "make", "task", "mise", "nx", "turbo"];
    let subcommand = words.iter().skip(1).take(2).any(|w| matches!(*w, "format" | "fmt"));
    has("--write")
        || has("--fix")
        || (subcommand && !TASK_RUNNERS.contains(&first))
        || (matches!(first, "gofmt" | "gofumpt" | "goimports") && has("-w"))
        || (first == "cargo" && second == "fmt")
        || (first == "ruff" && second == "format")
        || first == "black"
        // Formatters that rewrite unless told to only check (`pint --test`, `rustfmt --check`).
        || (matches!(first, "pint" | "rustfmt" | "swiftformat" | "isort" | "stylua"))
        || (matches!(first, "clang-format" | "autopep8") && (has("-i") || has("--in-place")))
        || (first == "php-cs-fixer" && second == "fix")
}

/// Whether an `Expected:` value announces a failure: it mentions failing or an error, and not
/// only to say there is none ("No errors", "0 failed", "PASS").
fn expects_failure(value: &str) -> bool {
    // Also in Spanish, Portuguese, French and Korean ("FALLA", "falha", "échec", "실패").
    const FAILING: &[&str] = &[
        "fail",
        "error",
        "失败",
        "错误",
        "报错",
        "失敗",
        "エラー",
        "panic",
        "exception",
        "falla",
        "fallo",
        "falha",
        "échec",
        "실패",
        "오류",
        "에러",
    ];
    // A "non-zero exit" fails, though "zero" alone says there is none.
    let v = value
        .trim()
        .trim_start_matches(['*', '`', ' '])
        .to_lowercase()
        .replace("non-zero", "failing")
        .replace("nonzero", "failing");
    // What to do if it goes otherwise ("If a compile error mentions `x`, add it") hedges the
    // expectation and does not change it; nor do notes in parentheses ("all tests PASS (info,
    // error, context)") when the rest of the line decides.
    let v = without_hedges(&v);
    let bare = without_parentheses(&v);
    const DECIDES: &[&str] = &[
        "pass", "ok", "succe", "green", "fail", "error", "通过", "成功", "失败", "错误", "失敗", "pasa", "falla",
        "실패", "통과",
    ];
    let v = if contains_any(&bare, DECIDES) { bare } else { v };
    // An outcome stated first ("BUILD SUCCESSFUL. Fix any compile errors.") is not undone by an
    // instruction after it.
    let first =
        [". ", "。", "！", "! "].iter().filter_map(|m| v.find(m)).min().and_then(|at| v.get(..at)).unwrap_or(&v);
    const PASSING: &[&str] = &["pass", "success", "succeed", "green", "ok", "成功", "通过", "成功し", "pasa", "통과"];
    if first.len() < v.trim_end_matches(['.', '。']).len()
        && contains_any(first, PASSING)
        && !contains_any(first, FAILING)
    {
        return false;
    }
    if !FAILING.iter().any(|w| v.contains(w)) {
        return false;
    }
    if [
        "pass",
        "ok",
        "success",
        "succeeds",
        "green",
        "成功",
        "通过",
        "全部通过",
        "all pass",
        "all tests pass",
        "pasa",
        "통과",
    ]
    .iter()
    .any(|w| v.starts_with(w))
    {
        return false;
    }
    let mut v = v;
    for negated in [
        "no errors",
        "no error",
        "0 errors",
        "zero errors",
        "without errors",
        "without error",
        "no failures",
        "no failure",
        "0 failures",
        "0 failed",
        "no failing",
        "not fail",
        "doesn't fail",
        "does not fail",
        "no type errors",
        "no lint errors",
        "无错误",
        "没有错误",
        "无报错",
        "エラーなし",
        "エラーがない",
        // "sin errores", "sem erros", "sans erreur", "실패 0" (zero failures), "오류 없음".
        "sin errores",
        "sin error",
        "sin fallos",
        "sem erros",
        "sem falhas",
        "sans erreur",
        "aucune erreur",
        "실패 0",
        "0 실패",
        "실패 없",
        "오류 없",
        "에러 없",
    ] {
        v = v.replace(negated, "");
    }
    if FAILING.iter().any(|w| v.trim_start().starts_with(w)) {
        return true;
    }
    // Each clause that mentions failing or errors must say there are none
    // ("`errors` 为空", "预期没有编译错误", "no type errors").
    const NONE: &[&str] = &[
        "no ",
        "0 ",
        "zero",
        "without",
        "none",
        "empty",
        "clean",
        "pre-existing",
        "preexisting",
        "无",
        "没有",
        "为空",
        "なし",
        "ない",
        "sin ",
        "sem ",
        "sans ",
        "없",
    ];
    v.split([',', ';', '，', '；', '。']).any(|clause| contains_any(clause, FAILING) && !contains_any(clause, NONE))
}

/// An expectation without its conditional sentences ("If it does not compile, …", "Otherwise …",
/// "如果…"): they say what to do when the check goes otherwise, not what it should show.
fn without_hedges(v: &str) -> String {
    const HEDGES: &[&str] = &["if ", "otherwise", "else ", "in case", "should it ", "如果", "若", "否则", "もし"];
    let mut kept = String::new();
    let mut rest = v;
    while !rest.is_empty() {
        let end = [". ", "。", "; ", "；", "\n"]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| at + m.len()))
            .min()
            .unwrap_or(rest.len());
        let (sentence, tail) = rest.split_at(end);
        if !HEDGES.iter().any(|h| sentence.trim_start().starts_with(h)) {
            kept.push_str(sentence);
        }
        rest = tail;
    }
    if kept.trim().is_empty() { v.to_owned() } else { kept }
}

/// The text without what stands in parentheses, ASCII or full-width.
fn without_parentheses(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut depth = 0usize;
    for c in v.chars() {
        match c {
            '(' | '（' => depth += 1,
            ')' | '）' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `<repo>/.superpowers/sdd/<plan file stem>/progress.md`, looked for from the plan's folder
/// upwards until a repository root (a folder holding `.git`).
fn find_ledger(plan: &Path) -> Option<PathBuf> {
    let stem = plan.file_stem()?;
    let start = plan.parent()?;
    for dir in start.ancestors().take(MAX_LEDGER_DEPTH) {
        let ledger = dir.join(".superpowers").join("sdd").join(stem).join("progress.md");
        if ledger.is_file() {
            return Some(ledger);
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

/// Marks done every task the ledger records as complete (`Task 3: complete (commits a..b)`).
fn apply_ledger(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    for line in md::lines_nested(&text).iter().filter(|l| !l.in_fence) {
        let body =
            md::checkbox(line.text).map(|(_, t)| t).or_else(|| md::bullet(line.text)).unwrap_or(line.text.trim());
        let body = body.replace("**", "");
        let Some(h) = task_heading(&body) else {
            continue;
        };
        if h.number.is_empty() {
            continue;
        }
        let word = h.title.split(|c: char| c.is_whitespace() || c == '(' || c == ',').next().unwrap_or("");
        let done = h.done
            || matches!(word.to_ascii_lowercase().as_str(), "complete" | "completed" | "done" | "finished" | "✅");
        let id = format!("task-{}", h.number.to_ascii_lowercase());
        let span = Span::new(src, line.start, line.start + line.text.len());
        match b.plan.tasks.iter_mut().find(|t| t.id == id) {
            Some(task) if done => task.status = Status::Done,
            Some(_) => {}
            None => b.warn(
                Diagnostic::warning(
                    "unknown-task",
                    format!("the progress ledger names `Task {}`, which this plan does not have", h.number),
                )
                .at(Some(span))
                .help("the ledger may belong to an older version of the plan; its line is ignored"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings() {
        let parts = |t: &'static str| task_heading(t).map(|h| (h.done, h.number, h.title));
        assert_eq!(parts("Task 3: Rate limiter"), Some((false, "3", "Rate limiter")));
        assert_eq!(parts("✅ task 4b — Export (done)"), Some((true, "4b", "Export")));
        assert_eq!(parts("Task: nothing"), Some((false, "", "nothing")));
        assert_eq!(parts("Task 2.1. Sub ✅"), Some((true, "2.1", "Sub")));
        assert!(task_heading("Tasks").is_none());
        assert!(task_heading("Task list").is_none());
        assert!(task_heading("Tas").is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(clean_path("`src/a.py:12-40`").as_deref(), Some("src/a.py"));
        assert_eq!(clean_path("./src/b.rs (new)").as_deref(), Some("src/b.rs"));
        assert_eq!(clean_path("src/c.rs:L10-L20").as_deref(), Some("src/c.rs"));
        assert_eq!(clean_path("none needed"), None);
        assert_eq!(clean_path("`src/limiter/`").as_deref(), Some("src/limiter/**"));
        // Names from the code in a note are not files; extensionless file names are.
        assert_eq!(clean_path("`ADVISOR_PROMPT`"), None);
        assert_eq!(clean_path("`TurnDeps`"), None);
        assert_eq!(clean_path("`Makefile`").as_deref(), Some("Makefile"));
    }

    #[test]
    fn brace_groups() {
        assert_eq!(expand_braces("crates/{a, b}/Cargo.toml"), ["crates/a/Cargo.toml", "crates/b/Cargo.toml"]);
        assert_eq!(expand_braces("{x,y}/{1,2}.rs"), ["x/1.rs", "x/2.rs", "y/1.rs", "y/2.rs"]);
        assert_eq!(expand_braces("src/{lib}.rs"), ["src/{lib}.rs"]);
        assert_eq!(expand_braces("src/{a,b"), ["src/{a,b"]);
        assert_eq!(brace_base("crates/{a,b}/src/lib.rs").as_deref(), Some("crates/{a,b}/"));
        assert_eq!(brace_base("src/lib.rs"), None);
    }

    #[test]
    fn entry_keys() {
        assert!(is_entry_key("Create or Modify"));
        assert!(is_entry_key("Create/Update"));
        assert!(is_entry_key("**Modify**"));
        assert!(!is_entry_key("Create or explain"));
        assert!(!is_entry_key("Notes"));
    }

    #[test]
    fn folders_of_run_lines() {
        assert_eq!(run_in_folder("Run from `desktop/`:"), Some(("", 20, Some("desktop"))));
        assert_eq!(
            run_in_folder("Run in `web/app`: `npm test`").map(|r| (r.0, r.2)),
            Some(("`npm test`", Some("web/app")))
        );
        assert_eq!(run_in_folder("In `src/app.ts`: add the handler"), None);
        assert_eq!(run_in_folder("在 `server` 目录下运行：").map(|r| r.2), Some(Some("server")));
        assert_eq!(run_in_folder("Run from the root:"), None);
        assert_eq!(run_in_folder("In `a.rs` we add a very long explanation: here"), None);
    }

    #[test]
    fn wrappers_do_not_hide_setup() {
        assert!(is_setup("rtk git add src/a.rs"));
        assert!(is_setup("sudo time git commit -m x"));
        assert!(!is_setup("rtk cargo test"));
        assert_eq!(without_wrapper("env git status"), "git status");
        assert_eq!(without_wrapper("FOO=1 git add ."), "FOO=1 git add .");
    }

    #[test]
    fn prose_commands_joined_and_noted() {
        let src = crate::source::Sources::default().add("plan.md", String::new());
        let cmds = |t: &str| prose_in(src, 0, t).into_iter().map(|(c, _)| c).collect::<Vec<_>>();
        assert_eq!(
            cmds("Run `cargo xtask test dev` + `cargo xtask test system`."),
            ["cargo xtask test dev", "cargo xtask test system"]
        );
        assert_eq!(cmds("(verify with `cargo check -p q` — a wrong path fails to compile)"), ["cargo check -p q"]);
        assert_eq!(cmds("Voltar a correr `npm test` e confirmar que passa"), ["npm test"]);
        assert!(cmds("run `npm test` to see it fail").is_empty());
        // A list with a comma before its last "and"; tools named after "inspect" are not run.
        assert_eq!(
            cmds(
                "Run `scripts/check.sh`, `scripts/build.sh 1.0.0`, and `scripts/dmg.sh 1.0.0`; inspect `file`, `codesign`."
            ),
            ["scripts/check.sh", "scripts/build.sh 1.0.0", "scripts/dmg.sh 1.0.0"]
        );
    }

    #[test]
    fn notes_in_entries() {
        let notes = |v: &str| without_notes(v).split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(notes("`a.ts` (`X`), `b.ts`(`Y` 内)"), "`a.ts` , `b.ts`");
        assert_eq!(notes("`src/app/(auth)/page.tsx` (new)"), "`src/app/(auth)/page.tsx`");
        assert_eq!(notes("src/app/(auth)/page.tsx"), "src/app/(auth)/page.tsx");
        assert_eq!(notes("`a.rs` — mirrors `b.rs`"), "`a.rs`");
        assert_eq!(without_notes("`a` (ü)").len(), "`a` (ü)".len());
    }

    #[test]
    fn migrations_and_generators_are_setup() {
        assert!(is_setup("npx prisma migrate dev --name x"));
        assert!(is_setup("npx prisma generate"));
        assert!(is_setup("python manage.py makemigrations"));
        assert!(is_setup("bin/rails db:migrate"));
        assert!(!is_setup("npx prisma validate"));
        assert!(!is_setup("python manage.py test"));
        assert!(is_setup("psql \"$DATABASE_URL\" -f migrations/012_runs.sql"));
        assert!(is_setup("set -a; source .env.local; set +a"));
        assert!(is_setup("dotnet csharpier format ."));
        assert!(is_setup("mix phx.gen.auth Accounts User users"));
        assert!(is_setup("$env:ASPNETCORE_ENVIRONMENT='Development'"));
        assert!(is_setup("vendor/bin/pint --dirty --format agent"));
        assert!(!is_setup("vendor/bin/pint --test"));
        assert!(!is_setup("rustfmt --check src/main.rs"));
        assert!(!is_setup("clang-format --dry-run -Werror a.c"));
        assert!(is_setup("mix ecto.gen.migration create_orgs"));
        assert!(is_setup("mix deps.get && mix ecto.migrate"));
        assert!(is_setup("php artisan migrate --seed"));
        assert!(is_setup("dotnet ef database update"));
        assert!(!is_setup("mix ecto.migrate && mix test test/a_test.exs"));
        assert!(!is_setup("mix test"));
        assert!(is_setup("dotnet format"));
        assert!(is_setup("mix format"));
        assert!(!is_setup("dotnet format --verify-no-changes"));
        assert!(!is_setup("just format"), "a recipe may only check");
        assert!(!is_setup("mix format --check-formatted"));
        assert!(!is_setup("dart format --set-exit-if-changed ."));
        assert!(!is_setup("psql \"$DATABASE_URL\" -c 'select count(*) from runs'"));
    }

    #[test]
    fn the_plan_itself() {
        let p = Path::new("/x/repo/docs/superpowers/plans/2026-01-01-a.md");
        assert_eq!(plan_in_repo(p).as_deref(), Some("docs/superpowers/plans/2026-01-01-a.md"));
        assert_eq!(plan_in_repo(Path::new("/nowhere/plan.md")), None);
    }

    #[test]
    fn outcome_first_then_instructions() {
        assert!(!expects_failure("BUILD SUCCESSFUL。修复所有编译错误。"));
        assert!(!expects_failure("PASS. Fix any lint errors it reports."));
        assert!(expects_failure("either it succeeds, or it fails with errors to fix. Then fix them."));
    }

    #[test]
    fn hedged_expectations() {
        assert!(!expects_failure("compiles and PASSES. If a compile error mentions `thiserror`, add it."));
        assert!(!expects_failure("all `flow` tests PASS (info, backoff, error, context)"));
        assert!(expects_failure("FAIL (ModuleNotFoundError)"));
        assert!(expects_failure("FAIL with `ImportError`. If it passes, the test is wrong."));
        assert!(!expects_failure("PASS。如果报错，检查依赖"));
        // Other languages: Spanish, Korean.
        assert!(expects_failure("FALLA (las etiquetas nuevas aún no existen)."));
        assert!(!expects_failure("PASA."));
        assert!(!expects_failure("sin errores (ya no se referencia `vMin`/`V_MIN`)."));
        assert!(!expects_failure("typecheck OK; todas las pruebas PASAN (las ~40 previas)."));
        assert!(!expects_failure("실패 0. `wiring.test.mjs`가 버튼 제거를 확인해 준다."));
        assert!(!expects_failure("PASS, 실패 0"));
        assert!(expects_failure("실패 — `rowsOf`가 정의되지 않았다"));
    }

    #[test]
    fn exit_codes_and_known_errors() {
        assert!(expects_failure("non-zero exit because the method does not exist."));
        assert!(expects_failure("exit code nonzero"));
        assert!(!expects_failure("exit 0, including a save round trip."));
        assert!(!expects_failure("same pre-existing errors only, no new ones."));
        assert!(!expects_failure("same 64 pre-existing errors, no new ones."));
        assert!(expects_failure("new type errors in `routes.ts`"));
    }

    #[test]
    fn fail_words_inside_commands_do_not_count() {
        assert!(!says_fail("Run: `ctest --test-dir build --output-on-failure -R x`"));
        assert!(!says_fail("Run: `mvn -q test -Dtest=A -DfailIfNoTests=false`"));
        assert!(says_fail("Run `pytest -q` to see it fail"));
        assert!(says_fail("Step 2: Run test to verify it fails"));
        assert!(!says_fail("Step 4: Run `make check-failures` again"));
    }

    #[test]
    fn steps_that_run_the_last_command_again() {
        assert!(runs_again("Run both scenes again. Expected: exit 0."));
        assert!(runs_again("동일 명령으로 테스트가 통과하는지 확인한다."));
        assert!(runs_again("Re-run the suite"));
        assert!(runs_again("用相同的命令再验证一次"));
        assert!(!runs_again("Run `pytest -q` again"), "a line with its own command says it");
        assert!(!runs_again("Add the handler again to the router"), "no word for running");
    }

    #[test]
    fn alternatives_replace_a_chain_they_end() {
        assert_eq!(
            alternative("(The first is a noop. Or run directly: `flutter test a_test.dart`.)"),
            Some("flutter test a_test.dart")
        );
        assert_eq!(alternative("Run `make test`."), None);
        assert!(chain_ends_with("melos bootstrap 2>/dev/null; flutter test a_test.dart", "flutter test a_test.dart"));
        assert!(chain_ends_with("npm ci && npm test", "npm test"));
        assert!(!chain_ends_with("cargo test", "test"));
        assert!(!chain_ends_with("xnpm test", "npm test"));
    }

    #[test]
    fn files_run_by_an_earlier_command() {
        let src = crate::source::Sources::default().add("plan.md", String::new());
        let godot = "& 'C:\\Godot.exe' --headless --scene res://tests/RelicTest.tscn".to_owned();
        let all = vec![("pytest -q".to_owned(), Span::new(src, 0, 1)), (godot.clone(), Span::new(src, 2, 3))];
        assert_eq!(named_run("Run `RelicTest.tscn`. Expected: exit 0.", &all).map(|(c, _)| c), Some(godot));
        assert_eq!(named_run("Open `RelicTest.tscn` in the editor", &all), None, "not run");
        assert_eq!(named_run("Run `Other.tscn`.", &all), None, "no command runs it");
    }
}
