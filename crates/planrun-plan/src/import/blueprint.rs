//! Blueprint plans: one markdown file of `### Step N: Title` sections (objective, acceptance
//! criteria, Phase 1 build / Phase 2 review / Phase 3 verification, a checklist) with a plan-level
//! Tool Chain table, or a folder of numbered milestone folders/files holding such steps.
//!
//! A ✅ before `Step` marks a step done. Checklist items whose code spans are commands become the
//! step's verify commands; the other items become acceptance criteria. Steps run in order unless a
//! step says `Depends on: Step 2` (or `none`).

use super::{Detection, Format, LoadError, Loaded, PlanBuilder, natural_cmp, sorted_entries};
use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Detection reads at most this much of a file: step headings sit near the top of real plans.
const PEEK_BYTES: u64 = 256 * 1024;
/// Detection looks at no more entries than this in one folder, so it stays cheap.
const MAX_ENTRIES: usize = 200;
/// Files that document a repository or folder rather than hold a plan, even when they mention steps.
const NOT_PLANS: [&str; 9] =
    ["readme", "changelog", "contributing", "license", "code_of_conduct", "security", "agents", "claude", "index"];
/// Where a repository keeps blueprint plans, relative to its root.
const REPO_DIRS: [&str; 5] = ["plans", ".blueprint", ".blueprint/plans", "docs/plans", "blueprints"];

// ---------------------------------------------------------------------------------------------
// Detection

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_file() {
        return if peek(path).is_some_and(|t| has_steps(&t)) { Detection::Yes(path.to_owned()) } else { Detection::No };
    }
    if !path.is_dir() {
        return Detection::No;
    }
    if let Some(found) = scan_folder(path) {
        return found;
    }
    // A repository root: look only at the usual places, never walk the tree.
    let mut found: Vec<Detection> = Vec::new();
    for rel in REPO_DIRS {
        let dir = path.join(rel);
        if dir.is_dir() {
            if let Some(d) = scan_folder(&dir) {
                found.push(d);
            }
        }
    }
    match found.len() {
        0 => Detection::No,
        1 => found.pop().unwrap_or(Detection::No),
        _ => {
            let mut all = Vec::new();
            for d in found {
                match d {
                    Detection::Yes(p) => all.push(p),
                    Detection::Ambiguous(ps) => all.extend(ps),
                    Detection::No => {}
                }
            }
            all.dedup();
            if all.len() == 1 { all.pop().map_or(Detection::No, Detection::Yes) } else { Detection::Ambiguous(all) }
        }
    }
}

/// What a folder holds: numbered plan files and milestone folders form one sequence; other plan
/// files stand alone.
struct FolderScan {
    members: Vec<PathBuf>,
    others: Vec<PathBuf>,
    has_dirs: bool,
}

fn scan(dir: &Path) -> FolderScan {
    let mut s = FolderScan { members: Vec::new(), others: Vec::new(), has_dirs: false };
    for entry in sorted_entries(dir).into_iter().take(MAX_ENTRIES) {
        let name = file_name(&entry);
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            if is_milestone_dir(&entry) {
                s.members.push(entry);
                s.has_dirs = true;
            }
        } else if is_plan_file(&entry) {
            if number_prefix(&name).or_else(|| step_name_number(&name)).is_some()
                || name.to_ascii_lowercase().contains("milestone")
            {
                s.members.push(entry);
            } else {
                s.others.push(entry);
            }
        }
    }
    s
}

fn scan_folder(dir: &Path) -> Option<Detection> {
    let s = scan(dir);
    match (s.members.len(), s.others.len()) {
        (0, 0) => None,
        (0, 1) => s.others.into_iter().next().map(Detection::Yes),
        (1, 0) if !s.has_dirs && !is_milestone_name(&file_name(dir)) => {
            s.members.into_iter().next().map(Detection::Yes)
        }
        (_, 0) => Some(Detection::Yes(dir.to_owned())),
        _ => Some(Detection::Ambiguous(s.others.into_iter().chain(s.members).collect())),
    }
}

/// A folder named like a milestone (`01_auth`, `milestone-2`) that holds step files.
fn is_milestone_dir(dir: &Path) -> bool {
    if !is_milestone_name(&file_name(dir)) {
        return false;
    }
    sorted_entries(dir)
        .into_iter()
        .take(MAX_ENTRIES)
        .any(|f| is_markdown(&f) && (number_prefix(&file_name(&f)).is_some() || is_plan_file(&f)) && !is_doc_name(&f))
}

fn is_milestone_name(name: &str) -> bool {
    number_prefix(name).is_some() || name.to_ascii_lowercase().contains("milestone")
}

fn is_markdown(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// README, CHANGELOG and the like: never a plan when found by scanning a folder.
fn is_doc_name(path: &Path) -> bool {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_ascii_lowercase();
    NOT_PLANS.contains(&stem.as_str())
}

fn is_plan_file(path: &Path) -> bool {
    is_markdown(path) && !is_doc_name(path) && peek(path).is_some_and(|t| has_steps(&t))
}

fn peek(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    file.take(PEEK_BYTES).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// A numbered `Step N` heading outside code fences.
fn has_steps(text: &str) -> bool {
    md::lines(text).iter().any(|l| {
        !l.in_fence && md::heading(no_bom(l.text)).and_then(|(_, t)| step_head(t)).is_some_and(|h| h.number.is_some())
    })
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn no_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The number a name starts with: `01_milestone_auth` -> 1.
fn number_prefix(name: &str) -> Option<u64> {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// A step number as a sort key: `12` -> (12, ""), `11.5` -> (11, ".5"), `1A` -> (1, "a").
fn step_key(number: &str) -> Option<(u64, String)> {
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    let n = digits.parse().ok()?;
    Some((n, number.get(digits.len()..).unwrap_or("").to_ascii_lowercase()))
}

/// The number of a step file named after its step: `step-2-seeds.md`, `Step_10.md` -> 2, 10.
fn step_name_number(name: &str) -> Option<u64> {
    let rest = name.get(..4).filter(|p| p.eq_ignore_ascii_case("step")).and_then(|_| name.get(4..))?;
    number_prefix(rest.trim_start_matches([' ', '_', '-', '.']))
}

/// The milestone number a name carries: its leading number, or the one after `milestone`.
fn milestone_number(name: &str) -> Option<u64> {
    number_prefix(name).or_else(|| {
        let lower = name.to_ascii_lowercase();
        let at = lower.find("milestone")?;
        let rest = lower.get(at + "milestone".len()..)?.trim_start_matches([' ', '_', '-', '.']);
        number_prefix(rest)
    })
}

/// A readable name from a file or folder name: `01_milestone_auth.md` -> `auth`.
fn humanize(name: &str) -> String {
    let stem = name.strip_suffix(".md").or_else(|| name.strip_suffix(".markdown")).unwrap_or(name);
    let rest = stem.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches([' ', '_', '-', '.']);
    let lower = rest.to_ascii_lowercase();
    let rest = if lower.starts_with("milestone") { rest.get("milestone".len()..).unwrap_or("") } else { rest };
    let rest = rest.trim_start_matches([' ', '_', '-', '.']);
    let words = model::one_line(&rest.replace(['_', '-'], " "));
    if words.is_empty() || words.chars().all(|c| c.is_ascii_digit()) {
        model::one_line(&stem.replace(['_', '-'], " "))
    } else {
        words
    }
}

// ---------------------------------------------------------------------------------------------
// Headings and labels

/// A parsed `Step N: Title` heading.
#[derive(Debug)]
struct StepHead {
    done: bool,
    number: Option<String>,
    /// Byte offset of the number inside the parsed text.
    number_off: Option<usize>,
    title: String,
}

/// `Step N: Title`, `Step N — Title`, `Step N`, `✅ Step N: Title`, `Step N: Title ✅`, and with
/// symbols before `Step` (`⚠️ Step 11.5: Title`, `🔧 Step 2`), a letter after the number
/// (`Step 1A: Title`, `Step 3a`) or bold around the label (`**Step 3**: Title`).
fn step_head(text: &str) -> Option<StepHead> {
    let (done, rest) = md::strip_done_mark(text);
    let rest = rest.trim_start_matches(|c: char| !c.is_alphanumeric());
    let (done2, rest) = md::strip_done_mark(rest);
    let done = done || done2;
    let word = rest.get(..4)?;
    if !word.eq_ignore_ascii_case("step") {
        return None;
    }
    let after = rest.get(4..)?;
    if after.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
        return None;
    }
    let after = after.trim_start();
    let mut len = after.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(after.len());
    // `1A`, `3a`: one letter right after the number, ending the word.
    if len > 0 {
        let mut chars = after.get(len..).unwrap_or("").chars();
        if let (Some(l), next) = (chars.next(), chars.next()) {
            if l.is_ascii_alphabetic() && next.is_none_or(|c| !c.is_alphanumeric()) {
                len += 1;
            }
        }
    }
    let raw = after.get(..len)?;
    let num = raw.trim_end_matches('.');
    let number = (!num.is_empty() && num.starts_with(|c: char| c.is_ascii_digit())).then_some(num);
    let tail = after.get(len..)?.trim_start().trim_start_matches('*').trim_start();
    let first = tail.chars().next();
    if number.is_none() && !matches!(first, Some(':' | '—' | '–')) {
        return None;
    }
    let title = match first {
        Some(c @ (':' | '—' | '–' | '-' | ')' | '.')) => tail.get(c.len_utf8()..).unwrap_or("").trim(),
        _ => tail.trim(),
    };
    let title = title.trim_start_matches('*').trim();
    let (trailing_done, title) = strip_trailing_done(title);
    Some(StepHead {
        done: done || trailing_done,
        number: number.map(str::to_owned),
        number_off: number.and_then(|n| md::offset_in(text, n)),
        title: title.to_owned(),
    })
}

/// A heading that names a step planrun cannot read (`Step Three: …`, `Step IV`): reported, not
/// dropped silently.
fn looks_like_step(text: &str) -> bool {
    let t = text.trim_start_matches(|c: char| !c.is_alphanumeric()).to_ascii_lowercase();
    t.starts_with("step ") && !t.starts_with("step by step") && !t.starts_with("steps ")
}

/// `## Phase 2: Distribution` grouping steps: its number and name.
fn phase_head(text: &str) -> Option<(Option<u64>, String)> {
    let t = text.trim_start_matches(|c: char| !c.is_alphanumeric());
    let word = t.get(..5)?;
    if !word.eq_ignore_ascii_case("phase") {
        return None;
    }
    let rest = t.get(5..)?.trim_start();
    let num = number_prefix(rest)?;
    let name = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').trim_start();
    let name = name.trim_start_matches([':', '—', '–', '-', ')']).trim();
    Some((Some(num), if name.is_empty() { model::one_line(t) } else { model::one_line(name) }))
}

fn strip_trailing_done(title: &str) -> (bool, &str) {
    for mark in ["✅", "✔️", "✔", "(done)", "(complete)", "(completed)"] {
        if let Some(rest) = title.strip_suffix(mark) {
            return (true, rest.trim_end().trim_end_matches(['—', '–', '-']).trim_end());
        }
    }
    (false, title)
}

/// A step written as a bold line (`**Step 3 — Title**`) in a file without step headings.
fn bold_step(line: &str) -> Option<StepHead> {
    let t = line.trim();
    let (done, t) = md::strip_done_mark(t);
    if !t.starts_with("**") {
        return None;
    }
    let cleaned = t.replace("**", "");
    let mut head = step_head(&cleaned)?;
    head.done |= done;
    head.number_off = None;
    Some(head)
}

/// A `## Milestone 2: Payments` heading: its number and name.
fn milestone_head(text: &str) -> Option<(Option<u64>, String)> {
    let (_, t) = md::strip_done_mark(text);
    let word = t.get(..9)?;
    if !word.eq_ignore_ascii_case("milestone") {
        return None;
    }
    let rest = t.get(9..)?;
    if rest.chars().next().is_some_and(char::is_alphabetic) {
        return None;
    }
    let rest = rest.trim_start();
    let num = number_prefix(rest);
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').trim_start();
    let name = rest.trim_start_matches([':', '—', '–', '-', ')']).trim();
    let name = if name.is_empty() { model::one_line(t) } else { model::one_line(name) };
    Some((num, name))
}

fn is_toolchain_label(label: &str) -> bool {
    let l = label.trim().trim_end_matches(':').to_ascii_lowercase();
    l.contains("tool chain") || l.contains("toolchain") || l.contains("tooling") || l == "tools"
}

/// The parts of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sec {
    /// Objective and any prose the plan does not name: the description.
    Description,
    /// A sub-section we do not know: kept in the description with its heading.
    Other,
    Acceptance,
    Build,
    Review,
    Verify,
    Depends,
    Files,
}

fn section_kind(label: &str) -> Option<Sec> {
    let l = label.trim().trim_end_matches(':').trim().to_lowercase();
    let l = l.trim_matches(['*', '_']).trim();
    if l.is_empty() || l.chars().count() > 60 {
        return None;
    }
    if let Some(rest) = l.strip_prefix("phase") {
        let rest = rest.trim_start();
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let word = rest.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
        match (n.as_str(), word) {
            ("1", _) | (_, "one" | "i") => return Some(Sec::Build),
            ("2", _) | (_, "two" | "ii") => return Some(Sec::Review),
            ("3", _) | (_, "three" | "iii") => return Some(Sec::Verify),
            _ => {}
        }
    }
    let has = |w: &str| l.contains(w);
    if has("acceptance")
        || has("success criteria")
        || has("done when")
        || has("definition of done")
        || has("exit criteria")
    {
        return Some(Sec::Acceptance);
    }
    if ["objective", "objectives", "goal", "goals", "description", "summary", "overview", "purpose", "context", "why"]
        .contains(&l)
        || l.starts_with("objective")
    {
        return Some(Sec::Description);
    }
    // A record of what was done (`**Step Log:**`, `Notes:`) ends the verification list: its
    // bullets are history, not checks.
    if l == "log" || l.ends_with(" log") || matches!(l, "notes" | "history" | "changelog" | "outcome" | "results") {
        return Some(Sec::Other);
    }
    if l.starts_with("depends") || l == "dependencies" || l == "dependency" {
        return Some(Sec::Depends);
    }
    if l == "files"
        || l.starts_with("files to")
        || l.starts_with("files touched")
        || l == "affected files"
        || l == "key files"
        || l == "artifacts"
        || l == "artefacts"
    {
        return Some(Sec::Files);
    }
    if has("review") {
        return Some(Sec::Review);
    }
    if has("verif")
        || has("checklist")
        || has("validation")
        || matches!(l, "confirm" | "checks" | "check" | "proof")
        || l.ends_with(" checks")
        || l.ends_with(" check")
    {
        return Some(Sec::Verify);
    }
    if has("build") || l.starts_with("implement") {
        return Some(Sec::Build);
    }
    None
}

/// A label line that is not a heading: `**Phase 1 — Build**`, `**Objective:** text`,
/// `Acceptance criteria:`. Returns the section and any text after the label.
fn label_line(line: &str) -> Option<(Sec, &str)> {
    if md::bullet(line).is_some() {
        return None;
    }
    let t = line.trim();
    if let Some(inner) = t.strip_prefix("**").and_then(|s| s.strip_suffix("**")) {
        if !inner.contains("**") {
            return section_kind(inner).map(|s| (s, ""));
        }
    }
    if t.starts_with("**") {
        let (key, value, _) = md::field(line)?;
        return section_kind(key).map(|s| (s, value));
    }
    let key = t.strip_suffix(':')?;
    if key.contains(':') {
        return None;
    }
    section_kind(key).map(|s| (s, ""))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Depends,
    Files,
    Status,
}

fn field_kind(key: &str) -> Option<FieldKind> {
    match key.trim().to_ascii_lowercase().replace(['_', '-'], " ").as_str() {
        "depends on" | "depends" | "dependencies" | "dependency" | "deps" | "after" | "blocked by"
        | "requires step" | "requires steps" => Some(FieldKind::Depends),
        "files" | "file" | "files touched" | "files to modify" | "files to change" | "files to create"
        | "files created" | "files updated" | "files modified" | "files changed" | "files added" | "files edited" => {
            Some(FieldKind::Files)
        }
        "status" => Some(FieldKind::Status),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading one file

/// A reference to another step, as written after `Depends on:`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DepRef {
    /// `Step 3` (in the referencing step's milestone) or `m1-step-3` / `Milestone 1 Step 3`.
    Step { milestone: Option<u64>, number: String },
}

#[derive(Debug)]
struct Milestone {
    number: Option<u64>,
    name: String,
    /// The text between a `## Phase` / `## Milestone` heading and its first step: it may say
    /// the steps run in parallel, or what the group waits for.
    intro: Vec<String>,
}

#[derive(Debug)]
struct StepDraft {
    number: Option<String>,
    /// A number to fall back on when the heading has none (a step file's name prefix).
    fallback_number: Option<String>,
    /// True when a `Step` heading was written without a number.
    unnumbered_heading: bool,
    number_span: Option<Span>,
    head_span: Span,
    title: String,
    done: bool,
    status: Option<Status>,
    milestone: Option<usize>,
    description: Vec<String>,
    acceptance: Vec<String>,
    /// One per acceptance entry.
    acceptance_spans: Vec<Span>,
    verify: Vec<String>,
    /// One per verify command.
    verify_spans: Vec<Span>,
    /// Where the `Status:` field that marked the step was written.
    status_span: Option<Span>,
    /// Where the description starts.
    description_span: Option<Span>,
    build: Vec<String>,
    review: Vec<String>,
    verify_text: Vec<String>,
    files: Vec<(String, Span)>,
    depends: Option<Vec<(DepRef, Span)>>,
    boxes: usize,
    ticked: usize,
}

impl StepDraft {
    fn new(head: &StepHead, head_span: Span, number_span: Option<Span>, milestone: Option<usize>) -> Self {
        Self {
            number: head.number.clone(),
            fallback_number: None,
            unnumbered_heading: head.number.is_none(),
            number_span,
            head_span,
            title: head.title.clone(),
            done: head.done,
            status: None,
            milestone,
            description: Vec::new(),
            acceptance: Vec::new(),
            acceptance_spans: Vec::new(),
            verify: Vec::new(),
            verify_spans: Vec::new(),
            status_span: None,
            description_span: None,
            build: Vec::new(),
            review: Vec::new(),
            verify_text: Vec::new(),
            files: Vec::new(),
            depends: None,
            boxes: 0,
            ticked: 0,
        }
    }
}

/// Everything read from the files of one plan.
#[derive(Debug, Default)]
struct Acc {
    title: Option<String>,
    context: Vec<String>,
    toolchain: Vec<(String, Span)>,
    milestones: Vec<Milestone>,
    steps: Vec<StepDraft>,
    /// Whether `## Milestone` headings (rather than folders) grouped the steps.
    milestone_headings: bool,
}

/// How one file is read.
#[derive(Debug, Clone, Copy)]
struct FileMode {
    /// The milestone the file's steps belong to, unless a `## Milestone` heading says otherwise.
    milestone: Option<usize>,
    /// The file's first H1 names the plan (single plans and plan-folder overviews).
    h1_is_title: bool,
    /// The whole file is one step (a numbered step file without a `Step N` heading).
    single_step: bool,
}

/// What the lines between headings are being collected into.
enum Target<'a> {
    Context,
    Toolchain { level: usize, src: SourceId, lines: Vec<Line<'a>> },
    Step { level: usize, sec: Sec, lines: Vec<Line<'a>> },
}

fn read_file(
    b: &mut PlanBuilder,
    acc: &mut Acc,
    src: SourceId,
    mode: FileMode,
    fallback_title: &str,
    fallback_number: Option<u64>,
) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let heading_steps =
        lines.iter().any(|l| !l.in_fence && md::heading(no_bom(l.text)).and_then(|(_, t)| step_head(t)).is_some());
    let bold_steps =
        !heading_steps && !mode.single_step && lines.iter().any(|l| !l.in_fence && bold_step(l.text).is_some());
    let mut milestone = mode.milestone;
    let mut seen_h1 = false;
    let mut target = Target::Context;
    // `## Phase N` headings above the step headings group steps, like `## Milestone N`.
    let step_level = lines
        .iter()
        .filter(|l| !l.in_fence)
        .filter_map(|l| md::heading(no_bom(l.text)).filter(|(_, t)| step_head(t).is_some()).map(|(lv, _)| lv))
        .min();
    // Collecting the text between a group heading and its first step.
    let mut intro_open = false;
    // `> **Status:** Complete` in the file's header (after its title, before any section or
    // step): the state of the whole document, so of every step that states none of its own.
    let first_step = acc.steps.len();
    let mut in_header = true;
    let mut header_done: Option<Span> = None;

    let implicit = mode.single_step && !heading_steps;
    if implicit {
        let head = StepHead { done: false, number: None, number_off: None, title: String::new() };
        let mut d = StepDraft::new(&head, Span::new(src, 0, 0), None, milestone);
        d.unnumbered_heading = false;
        d.fallback_number = fallback_number.map(|n| n.to_string());
        acc.steps.push(d);
        target = Target::Step { level: 1, sec: Sec::Description, lines: Vec::new() };
    }

    for line in &lines {
        let raw = no_bom(line.text);
        let span = Span::new(src, line.start + (line.text.len() - raw.len()), line.start + line.text.len());
        let heading = if line.in_fence { None } else { md::heading(raw) };
        if heading.is_some_and(|(level, _)| level > 1) || acc.steps.len() > first_step {
            in_header = false;
        }
        if in_header && !line.in_fence {
            let quoted = raw.trim_start().strip_prefix('>').unwrap_or(raw);
            let field = md::field(quoted).map(|(k, v, _)| (k, v)).or_else(|| bold_field(quoted));
            if let Some((key, value)) = field {
                if key.eq_ignore_ascii_case("status") && header_status(value) == Some(Status::Done) {
                    header_done = Some(span);
                }
            }
        }
        let step = if line.in_fence {
            None
        } else if let Some((_, t)) = heading {
            step_head(t).map(|h| (h, md::offset_in(raw, t)))
        } else if bold_steps {
            bold_step(raw).map(|h| (h, None))
        } else {
            None
        };

        if let Some((head, text_off)) = step {
            intro_open = false;
            close(b, acc, &mut target);
            let number_span = match (head.number_off, text_off, &head.number) {
                (Some(n), Some(t), Some(num)) => {
                    let s = span.start + t + n;
                    Some(Span::new(src, s, s + num.len()))
                }
                _ => None,
            };
            let mut d = StepDraft::new(&head, span, number_span, milestone);
            if mode.single_step {
                d.fallback_number = fallback_number.map(|n| n.to_string());
            }
            acc.steps.push(d);
            target = Target::Step { level: heading.map_or(7, |h| h.0), sec: Sec::Description, lines: Vec::new() };
            continue;
        }

        if let Some((level, t)) = heading {
            let ends_step = match &target {
                Target::Step { level: sl, .. } => level <= *sl,
                Target::Toolchain { level: tl, .. } => level <= *tl,
                Target::Context => true,
            };
            if ends_step {
                let implicit_open = implicit && acc.steps.last().is_some_and(|d| d.title.is_empty());
                if level == 1 && !seen_h1 && (matches!(target, Target::Context) || implicit_open) {
                    seen_h1 = true;
                    if mode.h1_is_title {
                        // Later READMEs' H1s repeat the plan's name: drop them.
                        if acc.title.is_none() {
                            acc.title = Some(plan_title(t));
                        }
                        continue;
                    }
                    if implicit_open {
                        if let Some(d) = acc.steps.last_mut() {
                            d.title = model::one_line(t);
                        }
                        continue;
                    }
                    if mode.single_step {
                        continue;
                    }
                    if let Some(m) = mode.milestone.and_then(|i| acc.milestones.get_mut(i)) {
                        m.name = milestone_head(t).map_or_else(|| model::one_line(t), |(_, n)| n);
                        continue;
                    }
                }
                let group =
                    milestone_head(t).or_else(|| step_level.filter(|sl| level < *sl).and_then(|_| phase_head(t)));
                if let Some((number, name)) = group {
                    close(b, acc, &mut target);
                    acc.milestones.push(Milestone { number, name, intro: Vec::new() });
                    acc.milestone_headings = true;
                    milestone = Some(acc.milestones.len() - 1);
                    target = Target::Context;
                    intro_open = true;
                    continue;
                }
                if looks_like_step(t) {
                    b.warn(
                        Diagnostic::warning(
                            "unread-task",
                            format!("`{}` looks like a step heading but has no step number planrun can read; it is not a task", t.trim()),
                        )
                        .at(Some(span))
                        .help("number the step: `### Step 3: Title` (`Step 3.5` and `Step 3a` work too)"),
                    );
                }
                intro_open = false;
                if is_toolchain_label(t) {
                    close(b, acc, &mut target);
                    target = Target::Toolchain { level, src, lines: Vec::new() };
                    continue;
                }
                if !(mode.single_step && matches!(target, Target::Step { .. })) {
                    close(b, acc, &mut target);
                    target = Target::Context;
                }
            }
        }

        if intro_open && matches!(target, Target::Context) {
            if let Some(m) = milestone.and_then(|i| acc.milestones.get_mut(i)) {
                m.intro.push(raw.to_owned());
            }
        }
        match &mut target {
            Target::Context => acc.context.push(raw.to_owned()),
            Target::Toolchain { lines: body, .. } => body.push(*line),
            Target::Step { .. } => step_line(b, acc, &mut target, line, raw, span, heading),
        }
    }
    close(b, acc, &mut target);
    if mode.single_step {
        if let Some(d) = acc.steps.last_mut() {
            if d.title.is_empty() {
                d.title = fallback_title.to_owned();
            }
        }
    }
    if let Some(at) = header_done {
        for d in acc.steps.iter_mut().skip(first_step).filter(|d| !d.done && d.status.is_none()) {
            d.status = Some(Status::Done);
            d.status_span = Some(at);
        }
    }
}

/// The status a document's header gives the whole document: `Complete`, `✅ Done`. Anything
/// more (`✅ PHASE B COMPLETE`, `Step 1 in planning`, `Done — not yet run`) is about a part.
fn header_status(value: &str) -> Option<Status> {
    status_value(value.trim().trim_start_matches(['✅', '✔', '☑']).trim_start_matches('\u{fe0f}'))
}

/// One line inside a step: a sub-section label, a field, or content of the current section.
#[allow(clippy::too_many_arguments)]
fn step_line<'a>(
    b: &mut PlanBuilder,
    acc: &mut Acc,
    target: &mut Target<'a>,
    line: &Line<'a>,
    raw: &'a str,
    span: Span,
    heading: Option<(usize, &str)>,
) {
    let Target::Step { level, sec, .. } = &*target else {
        return;
    };
    let (level, sec) = (*level, *sec);
    if line.in_fence {
        push_line(target, line);
        return;
    }
    if let Some((_, t)) = heading {
        let kind = section_kind(t).unwrap_or(Sec::Other);
        close(b, acc, target);
        *target = Target::Step { level, sec: kind, lines: Vec::new() };
        if kind == Sec::Other {
            push_line(target, line);
        }
        return;
    }
    if let Some(d) = acc.steps.last_mut() {
        if let Some((true, _)) = md::checkbox(raw) {
            d.ticked += 1;
        }
        if md::checkbox(raw).is_some() {
            d.boxes += 1;
        }
    }
    if let Some((key, value, off)) = md::field(raw) {
        // `- **Test:** `pkg/a_test.go` — what it checks`, `**Implement:** `pkg/a.go`, `b.go`.`:
        // the files the step writes, named before what it does with them.
        if sec != Sec::Verify && is_work_label(key) {
            if let Some(d) = acc.steps.last_mut() {
                let value_start = span.start + off;
                for (path, at, len) in leading_paths(value) {
                    if !d.files.iter().any(|(f, _)| *f == path) {
                        let s = value_start + at;
                        d.files.push((path, Span::new(span.source, s, s + len)));
                    }
                }
            }
        }
        // `- **Validation:** `go test ./pkg/`` or `- **Done when:** it responds` as one bullet
        // among the step's fields: a verification (or acceptance) part of its own, one line long.
        if sec != Sec::Verify
            && md::bullet(raw).is_some()
            && !value.is_empty()
            && field_kind(key).is_none()
            && sec != Sec::Acceptance
        {
            if let Some(kind @ (Sec::Verify | Sec::Acceptance)) = section_kind(key) {
                close(b, acc, target);
                let value_line = Line { start: span.start + off, text: value, in_fence: false };
                close_section(b, acc, kind, &[value_line]);
                return;
            }
        }
        if let Some(kind) = field_kind(key) {
            let in_phase = matches!(sec, Sec::Build | Sec::Review | Sec::Verify);
            // A `Status:` bullet inside a phase is one of its checks; a `**Status:**` line of its
            // own after the checks is the step's status.
            if !value.is_empty() && (kind != FieldKind::Status || !in_phase || md::bullet(raw).is_none()) {
                let value_start = span.start + off;
                apply_field(b, acc, kind, value, Span::new(span.source, value_start, value_start + value.len()), span);
                return;
            }
            // `Files to create:` on its own line, or as a bullet (`- **Files to create**:`) with
            // the paths nested under it.
            if value.is_empty() && (md::bullet(raw).is_none() || kind != FieldKind::Status) {
                close(b, acc, target);
                let s = if kind == FieldKind::Files { Sec::Files } else { Sec::Depends };
                *target = Target::Step { level, sec: s, lines: Vec::new() };
                return;
            }
        }
    }
    if let Some((kind, rest)) = label_line(raw) {
        close(b, acc, target);
        *target = Target::Step { level, sec: kind, lines: Vec::new() };
        if !rest.is_empty() {
            // The text after `**Objective:**` belongs to the section it opens; keep its line so
            // spans stay right, with the label cut off below in `close`.
            push_line(
                target,
                &Line { start: line.start + md::offset_in(line.text, rest).unwrap_or(0), text: rest, in_fence: false },
            );
        }
        return;
    }
    push_line(target, line);
}

fn push_line<'a>(target: &mut Target<'a>, line: &Line<'a>) {
    if let Target::Step { lines, .. } | Target::Toolchain { lines, .. } = target {
        lines.push(*line);
    }
}

fn apply_field(b: &mut PlanBuilder, acc: &mut Acc, kind: FieldKind, value: &str, value_span: Span, line_span: Span) {
    let Some(d) = acc.steps.last_mut() else {
        return;
    };
    match kind {
        FieldKind::Depends => {
            // `step 2 (…). It can run in parallel with step 4.`: the sentence about what may run
            // alongside names no prerequisite.
            let value = without_parallel_note(value);
            let value_span = Span::new(value_span.source, value_span.start, value_span.start + value.len());
            let Some(refs) = parse_deps(value, value_span) else {
                b.warn(
                    Diagnostic::warning(
                        "unreadable-dependency",
                        format!("no step number found in `{}`; the step runs after the previous one", value.trim()),
                    )
                    .at(Some(value_span))
                    .help("write `Depends on: Step 2, Step 3` or `Depends on: none`"),
                );
                return;
            };
            d.depends.get_or_insert_with(Vec::new).extend(refs);
        }
        FieldKind::Files => {
            for (item, off) in md::split_list(value) {
                let s = value_span.start + off;
                // `new `src/x/``: only the path counts; a folder means everything under it.
                let path = item.trim().trim_start_matches("./");
                // `src/main.tsx lines 40-44`, `Card.tsx (L118)`: where in the file, not part of its path.
                let path = match path.split_once(char::is_whitespace) {
                    Some((p, note)) if is_location_note(note) && (p.contains('/') || p.contains('.')) => p,
                    _ => path,
                };
                if path.is_empty() || path.contains(char::is_whitespace) {
                    b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("`{}` is not a file path; it was not read", item.trim()),
                        )
                        .at(Some(Span::new(value_span.source, s, s + item.len())))
                        .help("write each path in backticks: `Files: `src/a.rs`, `src/b.rs``"),
                    );
                    continue;
                }
                d.files.push((folder_glob(path), Span::new(value_span.source, s, s + item.len())));
            }
        }
        FieldKind::Status => match status_value(value) {
            Some(s) => {
                d.status = Some(s);
                d.status_span = Some(line_span);
            }
            None => b.warn(
                Diagnostic::warning(
                    "unknown-status",
                    format!("unknown status `{}`; only a ✅ heading or `Status: done` marks a step done", value.trim()),
                )
                .at(Some(line_span))
                .help("write `Status: done`, or put ✅ before `Step` in the heading"),
            ),
        },
    }
}

/// Labels of a step's work that name the files written before saying what is done with them:
/// `Test:`, `Tests:`, `Implement:`, `Implementation:`.
fn is_work_label(key: &str) -> bool {
    matches!(key.trim().to_ascii_lowercase().as_str(), "test" | "tests" | "implement" | "implementation")
}

/// The backticked file paths a value starts with, up to the first other word: ``
/// `pkg/a.go`, `b.go`. `` gives `pkg/a.go` and `pkg/b.go` (a bare name is in the folder of the
/// path before it); `` `pkg/a.go` — `newThread()` `` gives `pkg/a.go` only. With each path, the
/// offset and length of what was written in `value`.
fn leading_paths(value: &str) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut folder: Option<String> = None;
    let mut pos = 0;
    for (span, at) in md::code_spans(value) {
        let between = value.get(pos..at.saturating_sub(1)).unwrap_or("");
        let glue = between.split(|c: char| c.is_whitespace() || c == ',').all(|w| w.is_empty() || w == "and");
        if !glue {
            break;
        }
        let p = span.trim().trim_start_matches("./");
        let last = p.rsplit('/').next().unwrap_or(p);
        let is_path = !p.is_empty()
            && !p.contains(char::is_whitespace)
            && !p.contains(['(', ')', '*', '<', '>', '"', '\'', '='])
            && !p.starts_with('-')
            && !p.contains("://")
            && last.contains('.')
            && !last.ends_with('.')
            && (p.contains('/') || last.rsplit('.').next().is_some_and(|ext| ext.len() <= 5));
        if !is_path {
            break;
        }
        let full = match (&folder, p.contains('/')) {
            (Some(dir), false) => format!("{dir}/{p}"),
            _ => p.to_owned(),
        };
        if let Some((dir, _)) = full.rsplit_once('/') {
            folder = Some(dir.to_owned());
        }
        out.push((full, at, span.len()));
        pos = at + span.len() + 1;
    }
    out
}

/// A note after a path saying where in the file: `lines 40-44`, `line 118`, `(L118-131)`,
/// `L40-52, L96-130`.
fn is_location_note(note: &str) -> bool {
    let n = note.trim().trim_start_matches('(').trim_end_matches(')').trim().to_ascii_lowercase();
    let body = ["lines", "line", "ll.", "l."].iter().find_map(|p| n.strip_prefix(p)).or_else(|| n.strip_prefix('l'));
    body.map(str::trim_start).is_some_and(|b| {
        b.starts_with(|c: char| c.is_ascii_digit())
            && b.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '–' | ',' | ' ' | 'l' | '+'))
    })
}

/// Reads a `Status:` value: a status word, or a checkbox written before one
/// (`` `[x] done` ``, `` `[x]` done ``, `[ ] todo`): the box decides.
fn status_value(value: &str) -> Option<Status> {
    let v = value.trim().trim_start_matches('`').trim_start();
    let boxed = v.strip_prefix("[x]").or_else(|| v.strip_prefix("[X]")).map(|_| Status::Done);
    let boxed = boxed.or_else(|| v.strip_prefix("[ ]").map(|_| Status::Pending));
    boxed.or_else(|| crate::native::status_word(value)).or_else(|| dated_status(v))
}

/// A status word with the date it was reached: `DONE (2026-05-02)`, `DONE — 2026-07-14.`,
/// `Complete, 2026-01-09`. Anything else after the word (`DONE for the API`) is not a status.
fn dated_status(value: &str) -> Option<Status> {
    let end = value.find(|c: char| c.is_whitespace() || c == '(' || c == ',').unwrap_or(value.len());
    let (word, rest) = value.split_at(end);
    let rest = rest.trim_matches(|c: char| c.is_whitespace() || "()—–-,.;:".contains(c));
    let is_date = !rest.is_empty()
        && rest.chars().any(|c| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || "-/.".contains(c));
    if is_date { crate::native::status_word(word) } else { None }
}

/// `**Status: DONE — 2026-07-14.** All steps ran.`: a key and value both inside one bold span,
/// with more prose after it.
fn bold_field(line: &str) -> Option<(&str, &str)> {
    let inner = line.trim_start().strip_prefix("**")?;
    let inner = inner.get(..inner.find("**")?)?;
    let (key, value) = inner.split_once(':')?;
    Some((key.trim(), value.trim()))
}

/// Finishes whatever was being collected.
fn close(b: &mut PlanBuilder, acc: &mut Acc, target: &mut Target<'_>) {
    match std::mem::replace(target, Target::Context) {
        Target::Context => {}
        Target::Toolchain { lines, src, .. } => read_toolchain(b, acc, src, &lines),
        Target::Step { sec, lines, level } => {
            close_section(b, acc, sec, &lines);
            // Keep collecting the same step: only the section changed.
            *target = Target::Step { level, sec: Sec::Description, lines: Vec::new() };
        }
    }
}

fn block_of(lines: &[Line<'_>]) -> String {
    model::block(&lines.iter().map(|l| l.text).collect::<Vec<_>>().join("\n"))
}

/// List items of a section (checkboxes and bullets unwrapped, indented lines joined), with the
/// offset of each in the file.
fn items(lines: &[Line<'_>]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for l in lines {
        if l.text.trim().is_empty() || l.in_fence || is_rule(l.text) {
            continue;
        }
        match md::bullet(l.text) {
            Some(item) => {
                let item = md::checkbox(l.text).map_or(item, |(_, t)| t);
                out.push((item.trim().to_owned(), l.start + md::offset_in(l.text, item).unwrap_or(0)));
            }
            None => match out.last_mut() {
                Some((last, _)) if l.text.starts_with([' ', '\t']) => {
                    last.push(' ');
                    last.push_str(l.text.trim());
                }
                _ => out.push((l.text.trim().to_owned(), l.start)),
            },
        }
    }
    out.retain(|(s, _)| !s.is_empty());
    out
}

/// Byte ranges of the code blocks in a section that change the repository (`git add`, `git
/// commit`, `git merge`, …): a procedure to follow, not checks.
fn procedure_blocks(lines: &[Line<'_>]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, bool)> = None;
    for l in lines {
        if !l.in_fence {
            continue;
        }
        if md::fence_of(l.text).is_some() {
            match open.take() {
                Some((start, true)) => out.push((start, l.start)),
                Some(_) => {}
                None => open = Some((l.start, false)),
            }
            continue;
        }
        let mut words = l.text.split_whitespace();
        let changes = words.next() == Some("git")
            && words.next().is_some_and(|w| {
                matches!(
                    w,
                    "add"
                        | "commit"
                        | "merge"
                        | "checkout"
                        | "switch"
                        | "branch"
                        | "push"
                        | "pull"
                        | "rebase"
                        | "reset"
                        | "stash"
                        | "tag"
                )
            });
        if let Some((_, c)) = open.as_mut() {
            *c |= changes;
        }
    }
    if let Some((start, true)) = open {
        out.push((start, usize::MAX));
    }
    out
}

/// A dependency value up to a sentence saying what may run in parallel with the step.
fn without_parallel_note(value: &str) -> &str {
    let mut start = 0;
    for (i, _) in value.match_indices(". ").chain(std::iter::once((value.len(), ""))) {
        let sentence = value.get(start..i).unwrap_or("").to_lowercase();
        if start > 0
            && ["parallel", "concurrently", "alongside", "at the same time"].iter().any(|w| sentence.contains(w))
        {
            return value.get(..start).unwrap_or(value).trim_end();
        }
        start = (i + 2).min(value.len());
    }
    value
}

/// The label of a verification routine step: `**Build:** …`, `**Unit tests:** …`, `**Commit.**`.
fn routine_label(item: &str) -> Option<String> {
    let label = match md::field(item) {
        Some((key, _, _)) if item.trim_start().starts_with("**") => key.to_lowercase(),
        _ => item.trim().strip_prefix("**")?.strip_suffix("**")?.trim_end_matches(['.', ':']).to_lowercase(),
    };
    let words = ["build", "compile", "test", "lint", "script", "commit", "format", "typecheck", "type check", "push"];
    words.iter().any(|w| label.contains(w)).then_some(label)
}

/// Only the list items of a section (a checklist): prose around them is not a check.
fn list_items(lines: &[Line<'_>]) -> Vec<(String, (usize, usize))> {
    let mut out: Vec<(String, (usize, usize))> = Vec::new();
    let mut open = false;
    for l in lines.iter().filter(|l| !l.in_fence) {
        match md::bullet(l.text) {
            Some(item) => {
                let item = md::checkbox(l.text).map_or(item, |(_, t)| t).trim();
                let off = l.start + md::offset_in(l.text, item).unwrap_or(0);
                out.push((item.to_owned(), (off, off + item.len())));
                open = true;
            }
            None if open && l.text.starts_with([' ', '\t']) && !l.text.trim().is_empty() => {
                if let Some((last, span)) = out.last_mut() {
                    last.push(' ');
                    last.push_str(l.text.trim());
                    span.1 = l.start + l.text.len();
                }
            }
            None => open = false,
        }
    }
    out.retain(|(s, _)| !s.is_empty());
    out
}

fn close_section(b: &mut PlanBuilder, acc: &mut Acc, sec: Sec, lines: &[Line<'_>]) {
    let known = toolchain_words(&acc.toolchain);
    let Some(d) = acc.steps.last_mut() else {
        return;
    };
    let src = d.head_span.source;
    match sec {
        Sec::Description | Sec::Other => {
            // A step about testing and verification (`### Step 4: Testing & Verification`): its
            // checklist items that run a command (`Run web tests: `pnpm test``, `Build passes:
            // `pnpm build``) are its verify commands; the other items are work.
            if sec == Sec::Description && section_kind(&d.title) == Some(Sec::Verify) {
                for (item, (start, end)) in list_items(lines) {
                    if let Some(cmd) = labelled_run(&item, &known) {
                        if !d.verify.contains(&cmd) {
                            d.verify.push(cmd);
                            d.verify_spans.push(Span::new(src, start, end));
                        }
                    }
                }
            }
            let text = block_of(lines);
            if !text.is_empty() {
                if let Some(first) = lines.iter().find(|l| !l.text.trim().is_empty()) {
                    d.description_span.get_or_insert(Span::new(src, first.start, first.start + first.text.len()));
                }
                d.description.push(text);
            }
        }
        Sec::Acceptance => {
            // With a list, only its items are criteria: a line introducing it (`… shows that:`)
            // or a note after it is prose, kept in the description.
            if lines.iter().any(|l| !l.in_fence && md::bullet(l.text).is_some()) {
                let listed = list_items(lines);
                let prose: Vec<&str> = lines
                    .iter()
                    .filter(|l| !l.in_fence && md::bullet(l.text).is_none() && !l.text.starts_with([' ', '\t']))
                    .map(|l| l.text.trim())
                    .filter(|t| !t.is_empty())
                    .collect();
                if !prose.is_empty() {
                    d.description.push(prose.join("\n"));
                }
                for (item, (start, end)) in listed {
                    d.acceptance.push(model::one_line(&item));
                    d.acceptance_spans.push(Span::new(src, start, end));
                }
                return;
            }
            for (item, off) in items(lines) {
                let item = model::one_line(&item);
                let len = item.len();
                d.acceptance.push(item);
                d.acceptance_spans.push(Span::new(src, off, off + len));
            }
        }
        Sec::Build | Sec::Review => {
            let text = block_of(lines);
            if !text.is_empty() {
                if sec == Sec::Build { d.build.push(text) } else { d.review.push(text) }
            }
        }
        Sec::Verify => {
            let text = block_of(lines);
            if !text.is_empty() {
                d.verify_text.push(text);
            }
            let procedures = procedure_blocks(lines);
            for (c, off) in fenced_commands(lines, &known) {
                if procedures.iter().any(|&(a, z)| a <= off && off < z) {
                    continue;
                }
                if !d.verify.contains(&c) {
                    d.verify_spans.push(Span::new(src, off, off + c.len()));
                    d.verify.push(c);
                }
            }
            // `**Verify**: `cmd` → exit 0. Every test must still pass.` written as a paragraph
            // (wrapped over lines) rather than a list: read like a list item when it starts
            // with a command.
            let mut entries = list_items(lines);
            entries.extend(command_paragraphs(lines, &known));
            for (item, span) in entries {
                let span = Span::new(src, span.0, span.1);
                // `Stage only the files above, … and commit:`, `Manual check with `make play`: …`:
                // a step of the routine for a person, neither a command that must pass nor a
                // criterion (it stays in the verify instructions).
                let first = item.split_whitespace().next().unwrap_or("").trim_matches(['*', ':', ',']).to_lowercase();
                if item.trim_end().ends_with(':')
                    || matches!(first.as_str(), "stage" | "commit" | "merge" | "push" | "manual" | "manually")
                {
                    continue;
                }
                // `Run `make check`, `git diff --check`, and `godot --headless …`.`: every code
                // span of a Run item is a command when one of them is a known one.
                if matches!(first.as_str(), "run" | "re-run" | "rerun") {
                    let spans: Vec<&str> = md::code_spans(&item).into_iter().map(|(c, _)| c.trim()).collect();
                    if spans.iter().any(|c| is_command(c, &known)) {
                        for c in spans.into_iter().filter(|c| {
                            let w = c.split_whitespace().next().unwrap_or("");
                            c.contains(' ') && (!w.contains('/') || w.starts_with("./")) && !w.starts_with('-')
                        }) {
                            if !d.verify.iter().any(|v| v == c) {
                                d.verify.push(c.to_owned());
                                d.verify_spans.push(span);
                            }
                        }
                        continue;
                    }
                }
                // "`pytest x` fails with the reported error": a check that the command fails is
                // not a command that must pass.
                if expects_failure(&item) {
                    d.acceptance.push(model::one_line(&item));
                    d.acceptance_spans.push(span);
                    continue;
                }
                // `` `cmd` → exit 0. Then … ``, `` `git status` clean ``, `` `grep …` → no output ``:
                // the outcome written after the command says whether it is run as a check.
                match command_outcome(&item, &known) {
                    Some(Outcome::Passes(cmd, rest)) => {
                        if !d.verify.contains(&cmd) {
                            d.verify.push(cmd);
                            d.verify_spans.push(span);
                        }
                        if let Some(rest) = rest {
                            d.acceptance.push(rest);
                            d.acceptance_spans.push(span);
                        }
                        continue;
                    }
                    Some(Outcome::ByOutput) => {
                        d.acceptance.push(model::one_line(&item));
                        d.acceptance_spans.push(span);
                        continue;
                    }
                    None => {}
                }
                let commands: Vec<String> = md::code_spans(&item)
                    .into_iter()
                    .map(|(s, _)| s.trim())
                    .filter(|s| is_command(s, &known))
                    .map(str::to_owned)
                    .collect();
                // `**Build:** `kmake core`, then the full build.`, `**Commit.**`: a labelled step
                // of the verification routine, not a criterion; a build or test step's command
                // (a code span of several words) is a verify command.
                if commands.is_empty() {
                    if let Some(label) = routine_label(&item) {
                        let runs = ["build", "compile", "test", "check"].iter().any(|w| label.contains(w));
                        let cmd = md::code_spans(&item).into_iter().map(|(c, _)| c.trim()).find(|c| {
                            let first = c.split_whitespace().next().unwrap_or("");
                            c.contains(' ') && !first.contains(['/', '.', '(']) && !first.starts_with('-')
                        });
                        if let (true, Some(c)) = (runs, cmd) {
                            if !d.verify.iter().any(|v| v == c) {
                                d.verify.push(c.to_owned());
                                d.verify_spans.push(span);
                            }
                        }
                        continue;
                    }
                }
                if commands.is_empty() {
                    d.acceptance.push(model::one_line(&item));
                    d.acceptance_spans.push(span);
                } else {
                    for c in commands {
                        if !d.verify.contains(&c) {
                            d.verify.push(c);
                            d.verify_spans.push(span);
                        }
                    }
                }
            }
        }
        Sec::Depends => {
            for l in lines.iter().filter(|l| !l.text.trim().is_empty()) {
                let body = md::bullet(l.text).unwrap_or(l.text.trim());
                let off = l.start + md::offset_in(l.text, body).unwrap_or(0);
                let refs = parse_deps(body, Span::new(src, off, off + body.len())).unwrap_or_default();
                d.depends.get_or_insert_with(Vec::new).extend(refs);
            }
        }
        Sec::Files => {
            let indent = |t: &str| t.len() - t.trim_start().len();
            let base = lines.iter().find(|l| !l.in_fence && md::bullet(l.text).is_some()).map(|l| indent(l.text));
            // Another bold label after the paths (`**Module renames:**`, `**References to
            // update:**`) ends the list: what follows is description, not files.
            let end = lines
                .iter()
                .enumerate()
                .skip_while(|(_, l)| l.in_fence || md::bullet(l.text).is_none())
                .find(|(_, l)| !l.in_fence && md::bullet(l.text).is_none() && l.text.trim_start().starts_with("**"))
                .map_or(lines.len(), |(i, _)| i);
            let rest: Vec<&str> = lines.get(end..).unwrap_or_default().iter().map(|l| l.text.trim_end()).collect();
            let rest = rest.join("\n");
            if !rest.trim().is_empty() {
                d.description.push(rest.trim().to_owned());
            }
            for l in lines.get(..end).unwrap_or_default().iter().filter(|l| !l.in_fence) {
                let Some(item) = md::bullet(l.text) else {
                    continue;
                };
                // A bullet nested under a file describes it.
                if base.is_some_and(|b| indent(l.text) > b) {
                    continue;
                }
                let off = l.start + md::offset_in(l.text, item).unwrap_or(0);
                let quoted = md::code_spans(item).first().map(|&(p, at)| (p.trim(), at));
                // `- **Risk**: …` after the paths: another field of the step, not a file.
                if quoted.is_none() && md::field(item).is_some() {
                    d.description.push(l.text.trim().to_owned());
                    continue;
                }
                let path = quoted.or_else(|| {
                    md::item_path(item)
                        .filter(|(p, _)| (p.contains('/') || p.contains('.')) && !p.ends_with([':', ',']))
                });
                match path {
                    Some((path, at)) if !path.is_empty() && !path.contains(char::is_whitespace) => {
                        d.files.push((folder_glob(path), Span::new(src, off + at, off + at + path.len())));
                        // `` `lib/old.ex` → `new.ex` ``: a rename touches the new file too (in the
                        // same folder when the new name has none).
                        let spans = md::code_spans(item);
                        if let [_, (new, nat), ..] = spans.as_slice() {
                            let between = item.get(at + path.len()..*nat).unwrap_or("");
                            let new = new.trim();
                            if (between.contains('→') || between.contains("->"))
                                && !new.is_empty()
                                && !new.contains(char::is_whitespace)
                            {
                                let full = match (new.contains('/'), path.rsplit_once('/')) {
                                    (false, Some((dir, _))) => format!("{dir}/{new}"),
                                    _ => new.to_owned(),
                                };
                                d.files.push((full, Span::new(src, off + nat, off + nat + new.len())));
                            }
                        }
                    }
                    _ => b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("`{}` is listed under files but names no path; it was not read", item.trim()),
                        )
                        .at(Some(Span::new(src, off, off + item.len())))
                        .help("write the path in backticks: `- `src/admin/headers.ts` (security headers)`"),
                    ),
                }
            }
        }
    }
}

/// The command lines of the code blocks in a verification section: every line of a `bash`,
/// `sh`, `shell`, `console` or `zsh` block, and the lines of a block without a language that
/// start with a known program. Comments, blank lines and `$ ` prompts are dropped; a block in any
/// other language (expected output, JSON) gives nothing.
fn fenced_commands(lines: &[Line<'_>], known: &HashSet<String>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut open: Option<Option<bool>> = None;
    for l in lines {
        if !l.in_fence {
            open = None;
            continue;
        }
        if let Some((ch, _, _)) = md::fence_of(l.text) {
            if open.is_some() {
                open = None;
            } else {
                let info = l.text.trim().trim_start_matches(ch).trim().to_ascii_lowercase();
                let lang = info.split_whitespace().next().unwrap_or("");
                open = Some(match lang {
                    "" => None,
                    "bash" | "sh" | "shell" | "console" | "zsh" | "shell-session" => Some(true),
                    _ => Some(false),
                });
            }
            continue;
        }
        let line = without_comment(l.text.trim().trim_start_matches("$ ").trim());
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = l.start + md::offset_in(l.text, line).unwrap_or(0);
        match open {
            Some(Some(true)) => out.push((line.to_owned(), at)),
            Some(None) => {
                let runs = line.strip_prefix("cd ").and_then(|r| r.split_once("&&")).map_or(line, |(_, r)| r.trim());
                if is_command(runs, known) {
                    out.push((line.to_owned(), at));
                }
            }
            _ => {}
        }
    }
    out
}

/// A shell line without its trailing comment (`go test ./...   # stays green` → `go test ./...`):
/// a `#` after a space, outside quotes, starts a comment as the shell reads it.
fn without_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev_space = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if prev_space => return line.get(..i).unwrap_or(line).trim_end(),
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

/// Whether a code span from a checklist is a shell command (not a file or symbol name).
fn is_command(span: &str, known: &HashSet<String>) -> bool {
    let s = span.trim();
    if s.is_empty() || s.contains('\n') {
        return false;
    }
    // `cd web && npm test`: the command is what runs in that folder.
    if let Some((_, rest)) = s.strip_prefix("cd ").and_then(|r| r.split_once("&&")) {
        return is_command(rest, known);
    }
    // `RUST_LOG=debug cargo test`: skip environment assignments.
    let first = s.split_whitespace().find(|w| !w.contains('=') || w.starts_with('-')).unwrap_or("");
    if first.starts_with("./") || first.starts_with("../") {
        let last = first.rsplit('/').next().unwrap_or("");
        return s.contains(' ') || last.ends_with(".sh") || !last.contains('.');
    }
    super::commands::PROGRAMS.contains(&first) || known.contains(first)
}

/// First words of the tool chain's commands, so checklist items using them count as commands.
fn toolchain_words(toolchain: &[(String, Span)]) -> HashSet<String> {
    toolchain.iter().filter_map(|(c, _)| c.split_whitespace().next().map(str::to_owned)).collect()
}

/// `Step 2`, `Steps 1 and 3`, `Steps 1-3`, `step-2`, `m1-step-2`, `Milestone 1 Step 2`, `none`.
/// `Some(empty)` when the value says there are none; `None` when no step could be read from it.
fn parse_deps(value: &str, value_span: Span) -> Option<Vec<(DepRef, Span)>> {
    let mut out = Vec::new();
    let first = value.split(|c: char| !c.is_alphanumeric() && c != '/').find(|w| !w.is_empty()).unwrap_or("");
    if md::split_list(value).is_empty()
        || matches!(first.to_ascii_lowercase().as_str(), "none" | "nothing" | "n/a" | "no")
    {
        return Some(out);
    }
    let words: Vec<(&str, usize)> = value
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '&' | '(' | ')' | '`' | '[' | ']' | '*' | '+'))
        .filter(|w| !w.is_empty())
        .filter_map(|w| md::offset_in(value, w).map(|o| (w.trim_end_matches(['.', ':']), o)))
        .filter(|(w, _)| !w.is_empty())
        .collect();
    let mut milestone: Option<u64> = None;
    let mut expect_milestone = false;
    let mut prev_num: Option<u64> = None;
    let mut range_open = false;
    let at = |o: usize, len: usize| Span::new(value_span.source, value_span.start + o, value_span.start + o + len);
    let is_num =
        |p: &str| !p.is_empty() && p.split('.').all(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()));
    let mut after_step = false;
    for (w, off) in words {
        let mut lower = w.to_ascii_lowercase();
        // `Step 25a (#52)`: `#52` is an issue, unless it follows the word `Step` (`Step #3`).
        if let Some(issue) = lower.strip_prefix('#') {
            if !after_step {
                range_open = false;
                continue;
            }
            lower = issue.to_owned();
        }
        // `Step 25a`: a lettered step, only right after the word `Step`.
        let last = lower.char_indices().last().map_or(0, |(i, _)| i);
        if after_step && last > 0 {
            let (digits, letter) = lower.split_at(last);
            if is_num(digits) && !digits.contains('.') && letter.chars().all(|c| c.is_ascii_lowercase()) {
                prev_num = None;
                out.push((DepRef::Step { milestone: milestone.take(), number: lower.clone() }, at(off, w.len())));
                after_step = false;
                continue;
            }
        }
        after_step = matches!(lower.as_str(), "step" | "steps");
        if lower == "milestone" {
            expect_milestone = true;
            continue;
        }
        if expect_milestone {
            expect_milestone = false;
            if let Ok(m) = lower.parse::<u64>() {
                milestone = Some(m);
                continue;
            }
        }
        if let Some(m) = lower.strip_prefix('m').and_then(|r| r.parse::<u64>().ok()) {
            milestone = Some(m);
            continue;
        }
        if matches!(lower.as_str(), "to" | "through" | "-" | "–" | "—" | "..") {
            range_open = prev_num.is_some();
            continue;
        }
        let parts: Vec<&str> = lower.split(['-', '–', '_']).filter(|p| !p.is_empty()).collect();
        let step_word = |p: &&str| *p == "step" || *p == "steps";
        match parts.as_slice() {
            // `m1-step-2` and `01-step-2`: a milestone and a step.
            [m, s, n] if step_word(s) && is_num(n) => {
                let m = m.strip_prefix('m').unwrap_or(m).parse::<u64>().ok();
                if m.is_some() {
                    out.push((DepRef::Step { milestone: m, number: (*n).to_owned() }, at(off, w.len())));
                }
            }
            // `1-3`: a range.
            [a, z] if is_num(a) && is_num(z) => {
                if let (Ok(a), Ok(z)) = (a.parse::<u64>(), z.parse::<u64>()) {
                    for n in a..=z.min(a + 100) {
                        out.push((DepRef::Step { milestone, number: n.to_string() }, at(off, w.len())));
                    }
                    milestone = None;
                    prev_num = Some(z);
                }
            }
            // `2`, `step-2`, `2.1`.
            [n] | [_, n] if is_num(n) && parts.iter().filter(|p| !is_num(p)).all(step_word) => {
                if range_open {
                    if let (Some(a), Ok(z)) = (prev_num, n.parse::<u64>()) {
                        for k in (a + 1)..z.min(a + 100) {
                            out.push((DepRef::Step { milestone, number: k.to_string() }, at(off, w.len())));
                        }
                    }
                }
                prev_num = n.parse().ok();
                // `M1 Step 2, Step 1`: the milestone qualifies only the step right after it.
                out.push((DepRef::Step { milestone: milestone.take(), number: (*n).to_owned() }, at(off, w.len())));
            }
            _ => {}
        }
        if !step_word(&lower.as_str()) {
            range_open = false;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Plan-level verify commands from a Tool Chain table (or list).
fn read_toolchain(b: &mut PlanBuilder, acc: &mut Acc, src: SourceId, lines: &[Line<'_>]) {
    let rows: Vec<(&Line<'_>, Vec<(String, usize)>)> =
        lines.iter().filter(|l| !l.in_fence).filter_map(|l| table_row(l.text).map(|r| (l, r))).collect();
    let mut found: Vec<(String, String, Span)> = Vec::new();
    if rows.is_empty() {
        for l in lines.iter().filter(|l| !l.in_fence) {
            let Some(item) = md::bullet(l.text) else {
                continue;
            };
            // `- Test runner: `pytest -q``: the name before the colon, commands after it.
            let colon = item.find(':').filter(|&c| item.find('`').is_none_or(|t| c < t));
            let (name, rest) = match colon {
                Some(c) => (item.get(..c).unwrap_or(""), item.get(c + 1..).unwrap_or("")),
                None => ("", item),
            };
            let base = l.start + md::offset_in(l.text, rest).unwrap_or(0);
            let spans = md::code_spans(rest);
            if spans.is_empty() && !name.is_empty() {
                let c = rest.trim();
                let off = md::offset_in(rest, c).unwrap_or(0);
                found.push((name.to_owned(), c.to_owned(), Span::new(src, base + off, base + off + c.len())));
            }
            for (cmd, off) in spans {
                found.push((
                    name.to_owned(),
                    cmd.trim().to_owned(),
                    Span::new(src, base + off, base + off + cmd.len()),
                ));
            }
        }
    } else {
        let header: Vec<String> =
            rows.first().map(|(_, r)| r.iter().map(|(c, _)| c.to_lowercase()).collect()).unwrap_or_default();
        let data: Vec<&(&Line<'_>, Vec<(String, usize)>)> =
            rows.iter().skip(1).filter(|(_, r)| !is_separator(r)).collect();
        let cmd_col = header
            .iter()
            .position(|h| h.contains("command") || h.contains("cmd") || h.contains("invocation") || h == "run")
            .or_else(|| {
                (0..header.len()).max_by_key(|&i| {
                    data.iter().filter(|(_, r)| r.get(i).is_some_and(|(c, _)| c.contains('`'))).count()
                })
            })
            .unwrap_or(header.len().saturating_sub(1));
        for (line, row) in data {
            let Some((cell, cell_off)) = row.get(cmd_col) else {
                continue;
            };
            let name: Vec<&str> =
                row.iter().enumerate().filter(|(i, _)| *i != cmd_col).map(|(_, (c, _))| c.as_str()).collect();
            let name = name.join(" ");
            let base = line.start + cell_off;
            let spans = md::code_spans(cell);
            if spans.is_empty() {
                let c = cell.trim();
                found.push((name, c.to_owned(), Span::new(src, base, base + cell.len())));
            } else {
                for (c, off) in spans {
                    found.push((name.clone(), c.trim().to_owned(), Span::new(src, base + off, base + off + c.len())));
                }
            }
        }
    }
    for (name, cmd, span) in found {
        let lowered = cmd.trim_matches(['(', ')', '_', '*', '.']).to_ascii_lowercase();
        if matches!(
            lowered.as_str(),
            "" | "n/a" | "na" | "none" | "-" | "—" | "tbd" | "not configured" | "not used" | "not applicable"
        ) {
            continue;
        }
        if skip_tool(&name, &cmd) {
            b.warn(
                Diagnostic::warning(
                    "toolchain-command-ignored",
                    format!(
                        "`{cmd}` ({}) is not a check, so it is not run as a verify command",
                        model::one_line(&name)
                    ),
                )
                .at(Some(span))
                .help("only test, lint, type-check, format-check and build commands run after each step"),
            );
            continue;
        }
        if !acc.toolchain.iter().any(|(c, _)| *c == cmd) {
            acc.toolchain.push((cmd, span));
        }
    }
}

/// A Tool Chain row that names something other than a check: a dev server, an installer.
fn skip_tool(name: &str, cmd: &str) -> bool {
    let n = name.to_lowercase();
    let checks = [
        "test", "lint", "type", "format", "check", "build", "compile", "coverage", "audit", "analy", "e2e", "verif",
        "clippy", "spec",
    ];
    if checks.iter().any(|w| n.contains(w)) {
        return false;
    }
    let others = [
        "server",
        "start",
        "serve",
        "watch",
        "deploy",
        "install",
        "package manager",
        "runtime",
        "language",
        "framework",
        "database",
        "version",
        "dev",
    ];
    let c = cmd.to_lowercase();
    others.iter().any(|w| n.contains(w))
        || c.contains("--watch")
        || c.ends_with(" dev")
        || c.ends_with(" start")
        || c.ends_with(" serve")
}

/// The cells of a table row with their byte offsets in `line`; `|` inside code spans or
/// escaped as `\|` does not split.
fn table_row(line: &str) -> Option<Vec<(String, usize)>> {
    let t = line.trim();
    if !t.starts_with('|') {
        return None;
    }
    let mut cells = Vec::new();
    let mut in_code = false;
    let mut start = md::offset_in(line, t).unwrap_or(0) + 1;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        if i < start {
            prev = c;
            continue;
        }
        match c {
            '`' => in_code = !in_code,
            '|' if !in_code && prev != '\\' => {
                cells.push(cell(line, start, i));
                start = i + 1;
            }
            _ => {}
        }
        prev = c;
    }
    let rest = line.get(start..).unwrap_or("");
    if !rest.trim().is_empty() {
        cells.push(cell(line, start, line.len()));
    }
    Some(cells)
}

fn cell(line: &str, start: usize, end: usize) -> (String, usize) {
    let raw = line.get(start..end).unwrap_or("");
    let trimmed = raw.trim();
    let off = start + md::offset_in(raw, trimmed).unwrap_or(0);
    (trimmed.replace("\\|", "|"), off)
}

fn is_separator(row: &[(String, usize)]) -> bool {
    !row.is_empty() && row.iter().all(|(c, _)| c.contains('-') && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
}

// ---------------------------------------------------------------------------------------------
// Loading

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(Format::Blueprint, path);
    let mut acc = Acc::default();
    let folder = path.is_dir();
    if folder {
        read_folder(&mut b, &mut acc, path)?;
    } else {
        let src = b.read(path)?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        read_file(
            &mut b,
            &mut acc,
            src,
            FileMode { milestone: None, h1_is_title: true, single_step: false },
            &stem,
            None,
        );
        if acc.title.is_none() {
            acc.title = Some(humanize(&stem));
        }
        if acc.steps.is_empty() {
            b.warn(
                Diagnostic::warning("no-steps", "no `### Step N: Title` headings were found; the plan has no tasks")
                    .at(Some(Span::new(src, 0, 0)))
                    .help("start each step with a heading such as `### Step 1: Add the login form`"),
            );
        }
    }
    finish(&mut b, acc, folder);
    Ok(b.finish())
}

fn read_folder(b: &mut PlanBuilder, acc: &mut Acc, dir: &Path) -> Result<(), LoadError> {
    let s = scan(dir);
    // A single milestone folder passed on its own: its numbered files are its steps.
    if !s.has_dirs && is_milestone_name(&file_name(dir)) && s.others.is_empty() {
        read_milestone_dir(b, acc, dir)?;
        if acc.title.is_none() {
            acc.title = Some(plain_name(&file_name(dir)));
        }
        return Ok(());
    }
    // Non-plan markdown next to the plan (README, overview) is context for every step.
    for entry in sorted_entries(dir) {
        if is_markdown(&entry) && !s.members.contains(&entry) && !s.others.contains(&entry) {
            read_context_file(b, acc, &entry)?;
        }
    }
    if acc.title.is_none() {
        acc.title = Some(folder_title(dir));
    }
    let mut units: Vec<PathBuf> = s.members.into_iter().chain(s.others).collect();
    units.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    for unit in units {
        if unit.is_dir() {
            read_milestone_dir(b, acc, &unit)?;
            continue;
        }
        let name = file_name(&unit);
        let src = b.read(&unit)?;
        let count = md::lines(b.text(src))
            .iter()
            .filter(|l| !l.in_fence && md::heading(no_bom(l.text)).and_then(|(_, t)| step_head(t)).is_some())
            .count();
        let lower = name.to_ascii_lowercase();
        // A file of several steps (or named as one) is a milestone; a file of one step is a step.
        let milestone = lower.contains("milestone") || (!lower.contains("step") && count > 1);
        if milestone {
            acc.milestones.push(Milestone {
                number: milestone_number(&name),
                name: humanize(&name),
                intro: Vec::new(),
            });
            let mode = FileMode { milestone: Some(acc.milestones.len() - 1), h1_is_title: false, single_step: false };
            read_file(b, acc, src, mode, &humanize(&name), None);
        } else {
            let mode = FileMode { milestone: None, h1_is_title: false, single_step: true };
            read_file(b, acc, src, mode, &humanize(&name), number_prefix(&name));
        }
    }
    Ok(())
}

/// A plan folder's name, or its repository's when the folder has a generic name like `plans`.
fn folder_title(dir: &Path) -> String {
    let name = file_name(dir);
    let generic = REPO_DIRS.iter().any(|r| r.rsplit('/').next() == Some(name.as_str()));
    match dir.parent() {
        Some(parent) if generic => {
            let up = if file_name(parent) == ".blueprint" || file_name(parent) == "docs" {
                parent.parent().unwrap_or(parent)
            } else {
                parent
            };
            let n = file_name(up);
            if n.is_empty() { plain_name(&name) } else { plain_name(&n) }
        }
        _ => plain_name(&name),
    }
}

/// A plan's name from a folder name: `01_shop-backend` -> `shop backend`.
fn plain_name(name: &str) -> String {
    let rest = name.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches([' ', '_', '-', '.']);
    let words = model::one_line(&rest.replace(['_', '-'], " "));
    if words.is_empty() { model::one_line(&name.replace(['_', '-'], " ")) } else { words }
}

/// A milestone folder: numbered files (or files with steps) are its steps, in name order; a
/// README or other unnumbered notes are context.
fn read_milestone_dir(b: &mut PlanBuilder, acc: &mut Acc, dir: &Path) -> Result<(), LoadError> {
    let name = file_name(dir);
    acc.milestones.push(Milestone { number: milestone_number(&name), name: humanize(&name), intro: Vec::new() });
    let m = acc.milestones.len() - 1;
    for f in sorted_entries(dir).into_iter().filter(|f| is_markdown(f)) {
        let fname = file_name(&f);
        if is_doc_name(&f) || (number_prefix(&fname).is_none() && !is_plan_file(&f)) {
            read_context_file(b, acc, &f)?;
            continue;
        }
        let src = b.read(&f)?;
        let mode = FileMode { milestone: Some(m), h1_is_title: false, single_step: true };
        read_file(b, acc, src, mode, &humanize(&fname), number_prefix(&fname));
    }
    Ok(())
}

/// A README or overview: its H1 titles the plan (the first one found) and the rest is context.
fn read_context_file(b: &mut PlanBuilder, acc: &mut Acc, path: &Path) -> Result<(), LoadError> {
    let src = b.read(path)?;
    read_file(b, acc, src, FileMode { milestone: None, h1_is_title: true, single_step: false }, "", None);
    Ok(())
}

/// Drops headings with nothing under them, so that `## Steps` does not dangle in the context.
fn prune_empty_headings(text: &str) -> String {
    let lines = md::lines(text);
    let mut keep: Vec<&str> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !l.in_fence {
            if let Some((level, _)) = md::heading(l.text) {
                let next = lines.iter().skip(i + 1).find(|n| !n.text.trim().is_empty());
                let empty = match next {
                    None => true,
                    Some(n) => !n.in_fence && md::heading(n.text).is_some_and(|(nl, _)| nl <= level),
                };
                if empty {
                    continue;
                }
            }
        }
        keep.push(l.text);
    }
    model::block(&keep.join("\n"))
}

/// Gives every step its id, resolves dependencies and pushes the tasks.
fn finish(b: &mut PlanBuilder, mut acc: Acc, folder: bool) {
    // A report that regroups its steps by state (`## Completed Steps` with Step 8 before
    // `## Pending Steps` with Step 7) still means them to run in number order.
    if !folder && acc.steps.iter().all(|d| d.milestone.is_none()) {
        let keys: Option<Vec<(u64, String)>> =
            acc.steps.iter().map(|d| d.number.as_deref().and_then(step_key)).collect();
        if keys.as_ref().is_some_and(|k| k.windows(2).any(|w| matches!(w, [a, b] if a > b))) {
            acc.steps.sort_by_cached_key(|d| d.number.as_deref().and_then(step_key));
        }
    }
    b.plan.title = acc.title.clone().unwrap_or_default();
    b.plan.context = prune_empty_headings(&acc.context.join("\n"));
    for (cmd, span) in &acc.toolchain {
        b.push_verify(cmd.clone(), Some(*span));
    }

    // Milestone numbers as written, unless missing or repeated: then their position.
    let written: Vec<Option<u64>> = acc.milestones.iter().map(|m| m.number).collect();
    let distinct: HashSet<u64> = written.iter().flatten().copied().collect();
    let use_written = written.iter().all(Option::is_some) && distinct.len() == written.len();
    let mnum = |i: usize| -> u64 {
        if use_written { written.get(i).copied().flatten().unwrap_or(i as u64 + 1) } else { i as u64 + 1 }
    };

    // Step numbers: as written, else the step file's number, else the position in its milestone.
    let mut numbers: Vec<String> = Vec::new();
    let mut position: HashMap<Option<usize>, usize> = HashMap::new();
    for d in &acc.steps {
        let pos = position.entry(d.milestone).or_insert(0);
        *pos += 1;
        numbers.push(d.number.clone().or_else(|| d.fallback_number.clone()).unwrap_or_else(|| pos.to_string()));
    }
    // A single file uses `step-N`, unless its `## Milestone` sections restart the numbering.
    let prefixed = if folder {
        acc.steps.iter().any(|d| d.milestone.is_some())
    } else {
        acc.milestone_headings && {
            let mut seen: HashMap<&str, Option<usize>> = HashMap::new();
            acc.steps
                .iter()
                .zip(&numbers)
                .any(|(d, n)| seen.insert(n.as_str(), d.milestone).is_some_and(|m| m != d.milestone))
        }
    };
    let id_of = |milestone: Option<usize>, number: &str| match (prefixed, milestone) {
        (true, Some(m)) => format!("m{}-step-{number}", mnum(m)),
        _ => format!("step-{number}"),
    };

    let numbered: HashSet<String> = acc
        .steps
        .iter()
        .zip(&numbers)
        .filter(|(d, _)| !d.unnumbered_heading)
        .map(|(d, n)| id_of(d.milestone, n))
        .collect();
    let mut ids: Vec<String> = Vec::new();
    let mut first_at: HashMap<String, usize> = HashMap::new();
    for (i, (d, n)) in acc.steps.iter().zip(&numbers).enumerate() {
        let mut id = id_of(d.milestone, n);
        if d.unnumbered_heading {
            // An id no numbered step uses, so the one mistake does not cause more.
            let base = id.clone();
            let mut k = 2;
            while numbered.contains(&id) || first_at.contains_key(&id) {
                id = format!("{base}-{k}");
                k += 1;
            }
            b.warn(
                Diagnostic::error(
                    "missing-step-number",
                    format!("this step heading has no number; it was given the id `{id}`"),
                )
                .at(Some(d.head_span))
                .help("number every step: `### Step 3: Title`"),
            );
        } else if let Some(&first) = first_at.get(&id) {
            let other = acc.steps.get(first).map(|o| o.head_span);
            b.warn(
                Diagnostic::error("duplicate-step", format!("two steps have the id `{id}`"))
                    .at(Some(d.number_span.unwrap_or(d.head_span)))
                    .related(other, "first defined here")
                    .help("give each step its own number"),
            );
        }
        first_at.entry(id.clone()).or_insert(i);
        ids.push(id);
    }

    // Lookup: (milestone index, number) -> id, and (milestone number, number) -> id.
    let mut by_local: HashMap<(Option<usize>, String), String> = HashMap::new();
    let mut by_global: HashMap<String, String> = HashMap::new();
    let mut by_mnum: HashMap<(u64, String), String> = HashMap::new();
    for ((d, n), id) in acc.steps.iter().zip(&numbers).zip(&ids) {
        // An unnumbered step's stand-in number is not something another step can refer to.
        if d.unnumbered_heading {
            continue;
        }
        by_local.entry((d.milestone, n.clone())).or_insert_with(|| id.clone());
        by_global.entry(n.clone()).or_insert_with(|| id.clone());
        if let Some(m) = d.milestone {
            by_mnum.entry((mnum(m), n.clone())).or_insert_with(|| id.clone());
        }
    }

    // Steps run in order. A group (`## Phase 2`) whose text says its steps run in parallel has
    // no order inside it; its steps wait for the whole group before it, or for the group its
    // text names (`Depends on Phase 1 completion`).
    let parallel: Vec<bool> = acc.milestones.iter().map(|m| says_parallel(&m.intro)).collect();
    let waits_for: Vec<Option<usize>> = acc
        .milestones
        .iter()
        .map(|m| {
            let n = group_dependency(&m.intro)?;
            acc.milestones.iter().position(|o| o.number == Some(n))
        })
        .collect();
    let mut members: HashMap<Option<usize>, Vec<String>> = HashMap::new();
    for (d, id) in acc.steps.iter().zip(&ids) {
        members.entry(d.milestone).or_default().push(id.clone());
    }
    let mut prev: Vec<String> = Vec::new();
    let mut prev_group: Option<Option<usize>> = None;
    let mut group_base: Vec<String> = Vec::new();
    let step_milestones: Vec<Option<usize>> = acc.steps.iter().map(|d| d.milestone).collect();
    for (i, ((d, id), n)) in acc.steps.into_iter().zip(ids).zip(numbers).enumerate() {
        let m = step_milestones.get(i).copied().flatten();
        if prev_group != Some(d.milestone) {
            // Entering a group: what its first step (or, if parallel, every step) waits for.
            let named = m.and_then(|m| waits_for.get(m).copied().flatten());
            group_base = match named {
                Some(g) => members.get(&Some(g)).cloned().unwrap_or_default(),
                None => {
                    let before = prev_group.flatten();
                    if before.is_some_and(|g| parallel.get(g).copied().unwrap_or(false)) {
                        members.get(&before).cloned().unwrap_or_default()
                    } else {
                        prev.clone()
                    }
                }
            };
            prev_group = Some(d.milestone);
            prev = group_base.clone();
        }
        let in_parallel = m.is_some_and(|m| parallel.get(m).copied().unwrap_or(false));
        let defaults: Vec<String> = if in_parallel { group_base.clone() } else { prev.clone() };
        let mut task = Task::new(id.clone(), String::new());
        let mut spans = TaskSpans {
            task: Some(d.head_span),
            id: d.number_span.or(Some(d.head_span)),
            title: Some(d.head_span),
            ..TaskSpans::default()
        };
        task.description = model::block(&d.description.join("\n\n"));
        task.title = if d.title.trim().is_empty() {
            task.description
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(|l| first_words(l, 80))
                .unwrap_or_else(|| format!("Step {n}"))
        } else {
            model::one_line(&d.title)
        };
        for (a, span) in d.acceptance.into_iter().zip(d.acceptance_spans) {
            if !a.is_empty() {
                task.acceptance.push(a);
                spans.acceptance.push(span);
            }
        }
        task.verify = d.verify;
        spans.verify = d.verify_spans;
        if !task.description.is_empty() {
            spans.description = d.description_span;
        }
        task.instructions.build = join_opt(d.build);
        task.instructions.review = join_opt(d.review);
        task.instructions.verify = join_opt(d.verify_text);
        task.milestone = d.milestone.and_then(|m| acc.milestones.get(m)).map(|m| m.name.clone());
        for (f, s) in d.files {
            task.files.push(f);
            spans.files.push(s);
        }
        task.status = if d.done || d.status == Some(Status::Done) { Status::Done } else { Status::Pending };
        if task.status == Status::Done {
            spans.status = if d.done { Some(d.head_span) } else { d.status_span };
        }
        if task.status == Status::Pending && d.boxes > 0 && d.ticked == d.boxes {
            b.warn(
                Diagnostic::warning(
                    "checklist-ticked",
                    format!("every checkbox of `{id}` is ticked but its heading has no ✅; it will run again"),
                )
                .at(Some(d.head_span))
                .help("put ✅ before `Step` in the heading if the step is complete"),
            );
        }
        match d.depends {
            None => {
                for p in defaults {
                    if !task.depends_on.contains(&p) {
                        task.depends_on.push(p);
                    }
                }
            }
            Some(refs) => {
                for (r, span) in refs {
                    let DepRef::Step { milestone, number } = r;
                    let found = match milestone {
                        Some(m) => by_mnum.get(&(m, number.clone())).cloned(),
                        None => {
                            by_local.get(&(d.milestone, number.clone())).or_else(|| by_global.get(&number)).cloned()
                        }
                    };
                    let target = match found {
                        Some(t) => t,
                        // A step the plan does not have keeps the id it would have; validation
                        // reports it as an unknown dependency at this span.
                        None => match milestone {
                            Some(m) if prefixed => format!("m{m}-step-{number}"),
                            _ => id_of(d.milestone, &number),
                        },
                    };
                    if target == id {
                        b.warn(
                            Diagnostic::warning(
                                "self-dependency",
                                format!("`{id}` lists itself as a dependency; ignored"),
                            )
                            .at(Some(span))
                            .help("remove the step's own number from `Depends on`"),
                        );
                        continue;
                    }
                    if !task.depends_on.contains(&target) {
                        task.depends_on.push(target);
                        spans.depends_on.push(span);
                    }
                }
            }
        }
        prev = vec![id];
        b.push(task, spans);
    }
}

/// What the words after a check's leading command say about it.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Run, it must pass (`→ passes`, `→ exit 0`, `succeeds`): a verify command, with the
    /// sentences after the outcome as a criterion of their own.
    Passes(String, Option<String>),
    /// Judged by what it prints or finds (`matches …`, `clean`, `shows `6.3.5``, `→ no
    /// output`): the whole item is a criterion.
    ByOutput,
}

/// Reads an item that starts with a backticked command and says what to expect of it.
/// `None` when the item does not start with a known command, or says nothing after it.
fn command_outcome(item: &str, known: &HashSet<String>) -> Option<Outcome> {
    let t = item.trim();
    if !t.starts_with('`') {
        return None;
    }
    let &(cmd, at) = md::code_spans(t).first()?;
    if !is_command(cmd, known) {
        return None;
    }
    let after = t.get(at + cmd.len()..)?.trim_start_matches('`').trim_start();
    let after = after.trim_start_matches(['→', '-', '>', '—', '–', ':', '=']).trim_start();
    let after = after.trim_start_matches(['*', '_']).trim_start();
    if after.is_empty() || after == "." {
        return None;
    }
    let lower = after.to_lowercase();
    let lower = lower.replace(['*', '_'], "");
    const PASS: [&str; 14] = [
        "passes",
        "pass",
        "succeeds",
        "exit 0",
        "exits 0",
        "exit code 0",
        "exits with 0",
        "exits with code 0",
        "returns 0",
        "all pass",
        "all green",
        "green",
        "ok",
        "no errors",
    ];
    // `reports no errors`, `with zero warnings`: a clean run, which its exit status tells.
    let clean = ["no errors", "no error", "without errors", "0 errors", "zero errors", "no failures", "no warnings"];
    let first_sentence = lower.split(". ").next().unwrap_or("");
    let passes = PASS
        .iter()
        .any(|p| lower.strip_prefix(p).is_some_and(|r| r.is_empty() || r.starts_with(|c: char| !c.is_alphanumeric())))
        || clean.iter().any(|c| first_sentence.contains(c));
    if passes {
        // `→ exit 0. Every existing test must still pass; …`: what follows the outcome.
        let rest = after.split_once(". ").map(|(_, r)| model::one_line(r)).filter(|r| !r.is_empty());
        // `` `a` exits 0, and `grep X src` returns no matches. ``: a second check in the same
        // sentence, judged by its output, so the whole item is also a criterion.
        let head = after.split_once(". ").map_or(after, |(h, _)| h);
        if head.contains('`') {
            return Some(Outcome::Passes(cmd.trim().to_owned(), Some(model::one_line(t))));
        }
        return Some(Outcome::Passes(cmd.trim().to_owned(), rest));
    }
    let first = lower.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    const BY_OUTPUT: [&str; 22] = [
        "matches", "match", "shows", "show", "prints", "print", "outputs", "output", "lists", "contains", "returns",
        "reports", "displays", "includes", "equals", "clean", "empty", "has", "gives", "finds", "no", "nothing",
    ];
    BY_OUTPUT.contains(&first).then_some(Outcome::ByOutput)
}

/// Paragraphs of a verification section (outside lists and code) that start with a backticked
/// command, wrapped lines joined, with their byte ranges.
fn command_paragraphs(lines: &[Line<'_>], known: &HashSet<String>) -> Vec<(String, (usize, usize))> {
    let mut out: Vec<(String, (usize, usize))> = Vec::new();
    let mut open: Option<(String, (usize, usize))> = None;
    let mut in_list = false;
    for l in lines {
        let blank = l.text.trim().is_empty();
        if l.in_fence || blank || md::bullet(l.text).is_some() {
            out.extend(open.take());
            in_list = md::bullet(l.text).is_some() || (in_list && !blank && !l.in_fence);
            continue;
        }
        if in_list && l.text.starts_with([' ', '\t']) {
            continue;
        }
        in_list = false;
        match open.as_mut() {
            Some((text, span)) => {
                text.push(' ');
                text.push_str(l.text.trim());
                span.1 = l.start + l.text.len();
            }
            None => open = Some((l.text.trim().to_owned(), (l.start, l.start + l.text.len()))),
        }
    }
    out.extend(open);
    out.retain(|(p, _)| {
        p.starts_with('`') && md::code_spans(p).first().is_some_and(|&(c, at)| at == 1 && is_command(c, known))
    });
    out
}

/// A checklist item that runs a command as a check: `Run web tests: `cmd``, `Build passes:
/// `cmd``, `Run `cmd``. The command must be the item's last words.
fn labelled_run(item: &str, known: &HashSet<String>) -> Option<String> {
    let t = item.trim().trim_end_matches('.').trim_end();
    let &(cmd, at) = md::code_spans(t).last()?;
    let cmd_end = at + cmd.len();
    if t.get(cmd_end..).is_none_or(|r| r.trim_start_matches('`').trim() != "") || !is_command(cmd, known) {
        return None;
    }
    if expects_failure(item) || md::code_spans(t).len() != 1 {
        return None;
    }
    let label = t.get(..at)?.trim_end_matches('`').trim().trim_end_matches(':').to_lowercase();
    let words: Vec<&str> = label.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let runs = words.first().is_some_and(|w| matches!(*w, "run" | "rerun" | "execute"))
        || words.iter().any(|w| matches!(*w, "passes" | "pass" | "succeeds" | "green"));
    runs.then(|| cmd.trim().to_owned())
}

/// Whether a checklist item says its command fails (a red test), outside its code spans.
fn expects_failure(item: &str) -> bool {
    let mut prose = item.to_owned();
    for (span, _) in md::code_spans(item) {
        prose = prose.replacen(span, " ", 1);
    }
    prose
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| matches!(w, "fail" | "fails" | "failing" | "red"))
}

/// A thematic break (`---`, `***`, `___`): a separator, never content.
fn is_rule(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3 && (t.chars().all(|c| c == '-') || t.chars().all(|c| c == '*') || t.chars().all(|c| c == '_'))
}

/// A path ending with `/` names a folder: everything under it.
fn folder_glob(path: &str) -> String {
    match path.strip_suffix('/') {
        Some(dir) if !dir.is_empty() && !dir.contains('*') => format!("{dir}/**"),
        _ => path.to_owned(),
    }
}

/// Whether a group's text says its steps run side by side ("Run all 3 steps in parallel").
fn says_parallel(intro: &[String]) -> bool {
    let text = intro.join(" ").to_lowercase();
    (text.contains("in parallel") || text.contains("parallel execution") || text.contains("run concurrently"))
        && !text.contains("not in parallel")
        && !text.contains("sequential")
}

/// The group a group's text says it waits for: `Depends on Phase 1 completion`, `After Phase 2`.
fn group_dependency(intro: &[String]) -> Option<u64> {
    let text = intro.join(" ").to_lowercase();
    for lead in ["depends on phase", "after phase", "requires phase", "depends on milestone", "after milestone"] {
        if let Some(i) = text.find(lead) {
            let rest = text.get(i + lead.len()..)?.trim_start();
            return number_prefix(rest);
        }
    }
    None
}

/// `Plan: Bookmark API` -> `Bookmark API`.
fn plan_title(heading: &str) -> String {
    let t = heading.trim();
    let lower = t.to_ascii_lowercase();
    for prefix in ["implementation plan:", "blueprint:", "plan:"] {
        if lower.starts_with(prefix) {
            let rest = t.get(prefix.len()..).unwrap_or("").trim();
            if !rest.is_empty() {
                return model::one_line(rest);
            }
        }
    }
    model::one_line(t)
}

fn join_opt(parts: Vec<String>) -> Option<String> {
    let text = model::block(&parts.join("\n\n"));
    (!text.is_empty()).then_some(text)
}

fn first_words(line: &str, max: usize) -> String {
    let line = model::one_line(line.trim_start_matches(['#', '-', '*', ' ']));
    if line.chars().count() <= max {
        return line;
    }
    let cut: String = line.chars().take(max).collect();
    match cut.rfind(' ') {
        Some(i) => cut.get(..i).unwrap_or(&cut).to_owned(),
        None => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_statuses() {
        assert_eq!(status_value("DONE (2026-05-02)"), Some(Status::Done));
        assert_eq!(status_value("DONE — 2026-07-14."), Some(Status::Done));
        assert_eq!(status_value("TODO"), Some(Status::Pending));
        assert_eq!(status_value("PARTIALLY DONE (2026-07-30) — most of it"), None);
        assert_eq!(status_value("DONE for the API"), None);
        assert_eq!(bold_field("**Status: DONE — 2026-07-14.** All ran."), Some(("Status", "DONE — 2026-07-14.")));
        assert_eq!(header_status("DONE — 2026-07-14."), Some(Status::Done));
    }

    #[test]
    fn issue_numbers_are_not_steps() {
        let mut sources = crate::source::Sources::default();
        let id = sources.add("plan.md", String::new());
        let numbers = |v: &str| -> Vec<String> {
            parse_deps(v, Span::new(id, 0, v.len()))
                .unwrap_or_default()
                .into_iter()
                .map(|(DepRef::Step { number, .. }, _)| number)
                .collect()
        };
        assert_eq!(numbers("Step 25a (#52); Step 25b (#53 — probe pass marker)"), ["25a", "25b"]);
        assert_eq!(numbers("Step 26 (#55 — adapter shipped)"), ["26"]);
        assert_eq!(numbers("Step #3, Step 4"), ["3", "4"]);
        assert_eq!(numbers("Steps 1-3"), ["1", "2", "3"]);
        assert_eq!(numbers("Step 2é, Step 4"), ["4"]);
    }

    #[test]
    fn shell_comments_are_cut() {
        assert_eq!(without_comment("go test ./...   # must stay green"), "go test ./...");
        assert!(is_command("cd web && npm run typecheck", &HashSet::new()));
        assert!(!is_command("cd web && the rest", &HashSet::new()));
        let item = "`cargo build` exits 0, and `grep -r Old src` returns no matches.";
        assert!(matches!(
            command_outcome(item, &HashSet::new()),
            Some(Outcome::Passes(c, Some(r))) if c == "cargo build" && r == item
        ));
        assert_eq!(without_comment("grep -c '#' a.txt"), "grep -c '#' a.txt");
        assert_eq!(without_comment("curl localhost#frag"), "curl localhost#frag");
        let lines = [
            Line { start: 0, text: "```bash", in_fence: true },
            Line { start: 8, text: "go test ./...   # baseline", in_fence: true },
            Line { start: 35, text: "```", in_fence: true },
        ];
        assert_eq!(fenced_commands(&lines, &HashSet::new()), [("go test ./...".to_owned(), 8)]);
    }
}
