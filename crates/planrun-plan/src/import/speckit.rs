//! The spec-kit importer: `specs/<feature>/tasks.md` with `## Phase N: …` sections of
//! `- [ ] T012 [P] [US1] Create model in src/models/x.py` items. Consecutive `[P]` items form one
//! parallel group, every group waits for the group before it, and a "Dependencies" section adds
//! the explicit orders it states (best effort). Paths named in an item become its files.

use super::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Design documents spec-kit writes next to `tasks.md`, named in the plan's context.
const DESIGN_DOCS: [&str; 6] = ["spec.md", "plan.md", "research.md", "data-model.md", "quickstart.md", "contracts"];

/// File extensions that make a bare word (`user.py`) a file name.
const EXTENSIONS: [&str; 87] = [
    "rules",
    "gherkin",
    "props",
    "targets",
    "kql",
    "csproj",
    "sln",
    "svg",
    "png",
    "jpg",
    "ico",
    "webp",
    "lockb",
    "hcl",
    "nix",
    "plist",
    "arb",
    "properties",
    "sbt",
    "cmake",
    "mk",
    "tmpl",
    "feature",
    "py",
    "rs",
    "ts",
    "tsx",
    "js",
    "jsx",
    "mjs",
    "cjs",
    "go",
    "java",
    "kt",
    "kts",
    "swift",
    "rb",
    "php",
    "cs",
    "c",
    "h",
    "cc",
    "cpp",
    "hpp",
    "m",
    "mm",
    "md",
    "mdx",
    "json",
    "yaml",
    "yml",
    "toml",
    "sql",
    "sh",
    "bash",
    "ps1",
    "html",
    "css",
    "scss",
    "sass",
    "less",
    "vue",
    "svelte",
    "txt",
    "xml",
    "proto",
    "graphql",
    "gql",
    "env",
    "ini",
    "cfg",
    "conf",
    "lock",
    "gradle",
    "dart",
    "ex",
    "exs",
    "scala",
    "lua",
    "r",
    "tf",
    "csv",
    "ipynb",
    "rst",
    "astro",
    "prisma",
    "zig",
];

/// File names without a known extension (`go.mod`, `Makefile`).
const BARE_FILES: [&str; 22] = [
    "Dockerfile",
    "Makefile",
    "Justfile",
    "Procfile",
    "Gemfile",
    "Rakefile",
    "Containerfile",
    "Podfile",
    "Brewfile",
    "Vagrantfile",
    "Jenkinsfile",
    "Taskfile",
    "Pipfile",
    "Caddyfile",
    "CODEOWNERS",
    "LICENSE",
    "go.mod",
    "go.sum",
    "go.work",
    "Gemfile.lock",
    "Podfile.lock",
    "Pipfile.lock",
];

/// Words shaped like file names that name technologies or abbreviations instead.
const NOT_FILES: [&str; 14] = [
    "node.js",
    "vue.js",
    "next.js",
    "nuxt.js",
    "express.js",
    "react.js",
    "d3.js",
    "three.js",
    "chart.js",
    "nest.js",
    "e.g",
    "i.e",
    "etc",
    "solid.js",
];

/// First folders of repository paths, which make a one-slash word (`src/models`) a path.
const SOURCE_DIRS: [&str; 24] = [
    "src",
    "lib",
    "test",
    "tests",
    "app",
    "apps",
    "backend",
    "frontend",
    "api",
    "docs",
    "scripts",
    "cmd",
    "pkg",
    "internal",
    "packages",
    "crates",
    "ios",
    "android",
    "web",
    "server",
    "client",
    "components",
    "specs",
    "config",
];

pub(crate) fn detect(path: &Path) -> Detection {
    if !path.is_dir() {
        return if looks_speckit(path) { Detection::Yes(path.to_owned()) } else { Detection::No };
    }
    // A feature folder (or a repository holding a single tasks.md at its root).
    let own = path.join("tasks.md");
    if own.is_file() && looks_speckit(&own) {
        return Detection::Yes(own);
    }
    // A repository root with `specs/<feature>/tasks.md`, or the `specs` folder itself.
    let specs = if path.file_name().is_some_and(|n| n == "specs") { path.to_owned() } else { path.join("specs") };
    let mut found: Vec<PathBuf> = super::sorted_entries(&specs)
        .into_iter()
        .filter(|d| d.is_dir())
        .map(|d| d.join("tasks.md"))
        .filter(|t| t.is_file() && looks_speckit(t))
        .collect();
    match found.len() {
        0 => Detection::No,
        1 => found.pop().map_or(Detection::No, Detection::Yes),
        _ => Detection::Ambiguous(found),
    }
}

/// A markdown text with at least one `- [ ] T001 …` item or `### T001 …` heading.
fn looks_speckit(path: &Path) -> bool {
    if super::is_json(path) {
        return false;
    }
    let Some(bytes) = super::peek_bytes(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    // Every spec-kit item is a checkbox or a heading followed by its id (`- [ ] T001`, `### T001`):
    // a cheap refusal first.
    if !text.contains("] T") && !text.contains("# T") && !text.contains("[T") {
        return false;
    }
    md::lines(&text).iter().filter(|l| !l.in_fence).any(|l| {
        md::checkbox(l.text).is_some_and(|(_, t)| parse_item(t).is_some())
            || md::heading(l.text).is_some_and(|(level, t)| level >= 2 && heading_item(t).is_some())
    })
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(Format::Speckit, path);
    let src = b.read(path)?;
    parse_into(&mut b, src);
    if let Some(note) = design_docs(path) {
        b.plan.context =
            if b.plan.context.trim().is_empty() { note } else { format!("{}\n\n{note}", b.plan.context.trim_end()) };
    }
    Ok(b.finish())
}

/// Names the design documents next to `tasks.md`, relative to the repository root when the file
/// sits in `specs/<feature>/`.
fn design_docs(path: &Path) -> Option<String> {
    let dir = path.parent()?;
    let prefix = match (dir.file_name(), dir.parent().and_then(Path::file_name)) {
        (Some(feature), Some(specs)) if specs == "specs" => {
            format!("specs/{}/", feature.to_string_lossy())
        }
        _ => String::new(),
    };
    let docs: Vec<String> = DESIGN_DOCS
        .iter()
        .filter(|d| dir.join(d).exists())
        .map(|d| format!("`{prefix}{d}{}`", if dir.join(d).is_dir() { "/" } else { "" }))
        .collect();
    (!docs.is_empty()).then(|| format!("Design documents of this feature: {}.", docs.join(", ")))
}

/// One `T012 [P] [US1] Create …` item, after its checkbox.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item<'a> {
    id: &'a str,
    parallel: bool,
    labels: Vec<&'a str>,
    title: &'a str,
}

/// Reads the id, the `[P]` mark and the story labels of an item's text.
fn parse_item(text: &str) -> Option<Item<'_>> {
    let t = text.trim_start().trim_start_matches(['*', '`']);
    // `[T001]`: the id in brackets, as some plans write it (`- [X] [T001] [P] …`).
    let (t, bracketed) = match t.strip_prefix('[') {
        Some(inner) => (inner, true),
        None => (t, false),
    };
    let id_len = task_id_len(t)?;
    let id = t.get(..id_len)?;
    let mut rest = t.get(id_len..)?;
    if bracketed {
        rest = rest.strip_prefix(']')?;
    }
    rest = rest.trim_start_matches(['*', '`']);
    if !(rest.is_empty() || rest.starts_with([' ', '\t', ':', '.', '[', '('])) {
        return None;
    }
    rest = rest.trim_start_matches([':', '.']).trim_start();
    let mut item = Item { id, parallel: false, labels: Vec::new(), title: "" };
    loop {
        let (open, close) = match rest.chars().next() {
            Some('[') => ('[', ']'),
            Some('(') if rest.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("(p)")) => ('(', ')'),
            _ => break,
        };
        let Some(end) = rest.find(close) else { break };
        let token = rest.get(open.len_utf8()..end).unwrap_or("").trim();
        if token.is_empty()
            || token.len() > 16
            || token.contains(char::is_whitespace) && !token.to_ascii_lowercase().starts_with("story")
        {
            break;
        }
        // A bracketed word glued to the text after it (`[学習]ボタン`) is part of the title.
        let glued = rest.get(end + 1..).and_then(|r| r.chars().next()).is_some_and(|c| !c.is_whitespace() && c != '[');
        if token.eq_ignore_ascii_case("p") {
            item.parallel = true;
        } else if glued {
            break;
        } else {
            item.labels.push(token);
        }
        rest = rest.get(end + 1..).unwrap_or("").trim_start();
    }
    item.title = rest.trim_start_matches([':', '-', '—']).trim();
    Some(item)
}

/// Length of a task id (`T` or `t`, digits, an optional letter suffix) at the start of `text`.
fn task_id_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix(['T', 't'])?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let mut suffix = rest.get(digits..)?.chars().next().filter(|c| c.is_ascii_lowercase()).map_or(0, |_| 1);
    // A decimal id (`T011.1`), inserted between two others: the dot and the digits after it
    // are part of the id (a dot then a space or the end closes a sentence).
    if suffix == 0 {
        if let Some(sub) = rest.get(digits..).and_then(|r| r.strip_prefix('.')) {
            let more = sub.chars().take_while(char::is_ascii_digit).count();
            if more > 0 {
                suffix = 1 + more;
            }
        }
    }
    let after = rest.get(digits + suffix..)?.chars().next();
    // `T1000ms` is a word, not an id; Japanese and Chinese write ids against their words
    // (`T004を通す`).
    if after.is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(1 + digits + suffix)
}

/// Every task id mentioned in `text`, with ranges (`T004-T007`) expanded later: (first, last,
/// byte offset, byte length).
fn id_refs(text: &str) -> Vec<(String, Option<String>, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(rest) = text.get(i..) else { break };
        let starts_word =
            i == 0 || text.get(..i).and_then(|s| s.chars().last()).is_none_or(|c| !c.is_ascii_alphanumeric());
        match task_id_len(rest).filter(|_| rest.starts_with('T') && starts_word) {
            Some(len) => {
                let first = rest.get(..len).unwrap_or("").to_owned();
                let after = rest.get(len..).unwrap_or("");
                let sep = ["-", "–", "..", " - ", " to "].iter().find(|s| after.starts_with(**s));
                let last = sep.and_then(|s| {
                    let tail = after.get(s.len()..)?;
                    let l = task_id_len(tail).filter(|_| tail.starts_with('T'))?;
                    Some((tail.get(..l)?.to_owned(), s.len() + l))
                });
                let total = len + last.as_ref().map_or(0, |(_, l)| *l);
                out.push((first, last.map(|(id, _)| id), i, total));
                i += total;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

/// The number of an id, for ranges.
fn id_number(id: &str) -> Option<u64> {
    id.get(1..)?.trim_end_matches(|c: char| c.is_ascii_lowercase()).parse().ok()
}

/// One side of an order: a task id or range (`T004`, `T004-T007`), or a phase (`Phase 3`).
#[derive(Debug, Clone)]
struct Ref {
    first: String,
    last: Option<String>,
    span: Span,
    phase: bool,
    /// A phase named by its heading (`Polish`, `US1`, `Final Phase`) rather than its number;
    /// `<prior>` / `<other>` in `first` stand for all phases before / other than the dependents'.
    milestone: Option<String>,
}

/// An explicit order from the "Dependencies" section, applied once every task is known.
struct Order {
    dependents: Vec<Ref>,
    prerequisites: Vec<Ref>,
    /// "T010 and T011 depend on T004 and T005 respectively": the n-th dependent waits for the
    /// n-th prerequisite only.
    paired: bool,
    /// "T002 and T003 can run in parallel with T001": neither side waits for the other, so the
    /// orders the list implied between them are dropped.
    parallel: bool,
    /// "US3 depends on Phase 2 only": the dependents wait for nothing the list's order implied
    /// besides what is named.
    only: bool,
}

/// Words that say two sides run together (`T002とT003はT001と並行可能`).
const PARALLEL_WORDS: [&str; 7] =
    ["in parallel with", "parallel to", "alongside", "concurrently with", "と並行", "と同時", "并行"];

/// Japanese and Chinese words written after what they wait for: `Phase 1完了後` (after phase 1
/// completes), `T004を通す` (make T004 pass), `T003に依存` (depends on T003), `T003 完成后`.
const AFTER_SUFFIXES: [&str; 10] =
    ["完了後", "の完了後", "の後", "のあと", "以降", "を通す", "に依存", "完成后", "完成後", "之后"];

/// The ids (and phases) written right before byte `pos` of `text`, as a list (`T005、T007`,
/// `T002とT003`, `Phase 1`): (first, last, offset, length) of each.
fn refs_just_before(text: &str, pos: usize) -> Vec<(String, Option<String>, usize, usize, bool)> {
    let head = text.get(..pos).unwrap_or("");
    let mut all: Vec<(String, Option<String>, usize, usize, bool)> =
        id_refs(head).into_iter().map(|(a, b, o, l)| (a, b, o, l, false)).collect();
    all.extend(phase_refs(head).into_iter().map(|(n, o, l)| (n, None, o, l, true)));
    all.sort_by_key(|r| r.2);
    let mut out: Vec<(String, Option<String>, usize, usize, bool)> = Vec::new();
    let mut end = head.trim_end().len();
    for r in all.into_iter().rev() {
        let gap = head.get(r.2 + r.3..end).unwrap_or("x");
        let joint = gap.trim_matches(|c: char| c.is_whitespace() || "、,と及びおよび和与`*()（）".contains(c));
        if !joint.is_empty() && !joint.eq_ignore_ascii_case("and") {
            break;
        }
        end = r.2;
        out.push(r);
    }
    out.reverse();
    out
}

/// Words that order the ids around them: `A depends on B` (A after B) or `A blocks B` (B after A).
const AFTER_WORDS: [&str; 26] = [
    " depends on ",
    " depend on ",
    " once ",
    " depende de ",
    " depende solo de ",
    " depende sólo de ",
    " depende apenas de ",
    " depende só de ",
    " dependen de ",
    " dependem de ",
    " dépend de ",
    " dépendent de ",
    " hängt ab von ",
    " abhängig von ",
    " después de ",
    "依赖于",
    "依赖",
    "取决于",
    " requires ",
    " require ",
    " after ",
    " needs ",
    " need ",
    " waits for ",
    " wait for ",
    " is blocked by ",
];
const BEFORE_WORDS: [&str; 9] =
    [" blocks ", " block ", " before ", " → ", " -> ", " then ", " unblocks ", " precedes ", "阻塞"];

/// `Phase 3` mentions in `text`, and plural ones (`Phases 1 + 2`, `Phases 1–3`, `Phases 4-9`,
/// `Phases 1 and 2`): (number, byte offset, byte length), one per phase.
fn phase_refs(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower.get(from..).and_then(|r| r.find("phase")) {
        let start = from + p;
        let starts_word = start == 0 || !lower.as_bytes().get(start - 1).is_some_and(u8::is_ascii_alphanumeric);
        let plural = lower.get(start + 5..).is_some_and(|r| r.starts_with("s "));
        let num_at = start + if plural { 7 } else { 6 };
        from = start + 5;
        if !starts_word || lower.get(start + 5..).is_none_or(|r| !r.starts_with(' ') && !plural) {
            continue;
        }
        let number = |at: usize| -> String {
            let n: String =
                text.get(at..).unwrap_or("").chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            n.trim_end_matches('.').to_owned()
        };
        let n = number(num_at);
        if n.is_empty() {
            continue;
        }
        // `Phase 3–4`: a range after the singular word too.
        let singular_range = !plural && {
            let rest = text.get(num_at + n.len()..).unwrap_or("");
            ["–", "-"].iter().any(|s| rest.strip_prefix(s).is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit())))
        };
        if !plural && !singular_range {
            out.push((n.clone(), start, 6 + n.len()));
            from = num_at;
            continue;
        }
        // A list or range of numbers.
        let mut numbers = vec![n.clone()];
        let mut at = num_at + n.len();
        loop {
            let rest = text.get(at..).unwrap_or("");
            let Some(sep) = [" + ", "+", ", ", ",", " and ", " & ", "–", "-", " – ", " - ", " to "]
                .iter()
                .filter(|s| rest.starts_with(**s))
                .max_by_key(|s| s.len())
            else {
                break;
            };
            let next = number(at + sep.len());
            if next.is_empty() {
                break;
            }
            if ["–", "-", " – ", " - ", " to "].contains(sep) {
                let lo = numbers.last().and_then(|l| l.parse::<u32>().ok());
                let hi = next.parse::<u32>().ok();
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    if hi > lo && hi - lo <= 50 {
                        numbers.extend((lo + 1..hi).map(|k| k.to_string()));
                    }
                }
            }
            numbers.push(next.clone());
            at += sep.len() + next.len();
        }
        for k in numbers {
            out.push((k, start, at - start));
        }
        from = at;
    }
    out
}

fn refs_of(src: SourceId, line: &Line<'_>, text: &str, base: usize) -> Vec<Ref> {
    let mut out: Vec<(usize, Ref)> = id_refs(text)
        .into_iter()
        .map(|(first, last, off, len)| {
            let span = Span::new(src, line.start + base + off, line.start + base + off + len);
            (off, Ref { first, last, span, phase: false, milestone: None })
        })
        .collect();
    for (n, off, len) in phase_refs(text) {
        let span = Span::new(src, line.start + base + off, line.start + base + off + len);
        out.push((off, Ref { first: n, last: None, span, phase: true, milestone: None }));
    }
    out.sort_by_key(|(o, _)| *o);
    out.into_iter().map(|(_, r)| r).collect()
}

/// A phase of the plan as the Dependencies section may name it.
struct PhaseInfo {
    milestone: String,
    number: Option<String>,
    /// The words of its title (`Polish`, `Core`, `Foundational`), lowercased.
    words: Vec<String>,
    /// The user story it holds (`User Story 3` → `3`).
    story: Option<String>,
}

/// What the Dependencies section can name besides ids and `Phase N`: phases by their names and
/// stories, and words it defined with ids in parentheses (`implementation (T006-T008)`).
#[derive(Default)]
struct Names {
    phases: Vec<PhaseInfo>,
    aliases: HashMap<String, Vec<(String, Option<String>)>>,
    /// Words defined with phase numbers (`**基盤（Phase 2）**`, `ユーザーストーリー（Phase 3-4）`).
    phase_aliases: HashMap<String, Vec<String>>,
}

/// Words of phase titles that name no phase of their own.
const TITLE_STOP: [&str; 24] = [
    "phase",
    "phases",
    "user",
    "story",
    "stories",
    "the",
    "and",
    "for",
    "with",
    "priority",
    "all",
    "tests",
    "test",
    "final",
    "tasks",
    "task",
    "shared",
    "blocking",
    "prerequisites",
    "concerns",
    "cross",
    "cutting",
    "mvp",
    "new",
];

/// `User Story 3`, `Story 3`, `US3` in lowercased text: the story's number.
fn story_number(lower: &str) -> Option<String> {
    for key in ["story ", "us"] {
        for (p, _) in lower.match_indices(key) {
            if key == "us" && p > 0 && lower.as_bytes().get(p - 1).is_some_and(u8::is_ascii_alphanumeric) {
                continue;
            }
            let n: String = lower.get(p + key.len()..).unwrap_or("").chars().take_while(char::is_ascii_digit).collect();
            if !n.is_empty() {
                return Some(n);
            }
        }
    }
    None
}

/// The phases (milestones) of the tasks read so far, in order.
fn phase_infos(tasks: &[Task]) -> Vec<PhaseInfo> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for t in tasks {
        let Some(m) = t.milestone.as_deref() else { continue };
        if !seen.insert(m) {
            continue;
        }
        let lower = m.to_lowercase();
        let title = lower.split_once(':').map_or(lower.as_str(), |(_, r)| r);
        let mut clean = String::new();
        let mut depth = 0usize;
        for c in title.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ if depth == 0 => clean.push(c),
                _ => {}
            }
        }
        let words = clean
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() >= 3 && !TITLE_STOP.contains(w))
            .map(str::to_owned)
            .collect();
        out.push(PhaseInfo {
            milestone: m.to_owned(),
            number: phase_number(m).map(str::to_owned),
            words,
            story: story_number(&lower),
        });
    }
    out
}

/// The one phase whose title starts with `word` (`Setup`, `Foundational`, `Polish`).
fn phase_named<'p>(phases: &'p [PhaseInfo], word: &str) -> Option<&'p PhaseInfo> {
    let mut found = phases.iter().filter(|p| p.words.first().is_some_and(|w| w == word));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The refs of a Dependencies clause: ids and `Phase N` (see [`refs_of`]), and phases named the
/// way people write them: by name (`Depends on Setup`), by story (`US1`, `User Story 2`),
/// `all prior phases`, `all other phases`, `all user stories`, `User Stories (Phase 3+)`; a
/// label with a wrong number (`Polish (Phase 5)` when phase 5 is not Polish) is read by its
/// name; `Phase 1 completion (specifically T001)` is T001; a word the section defined with ids
/// (`implementation (T006-T008)`) stands for them.
fn refs_named(src: SourceId, line: &Line<'_>, text: &str, base: usize, names: &mut Names) -> Vec<Ref> {
    let mut refs = refs_of(src, line, text, base);
    if names.phases.is_empty() || !text.is_ascii() {
        return refs;
    }
    let lower = text.to_ascii_lowercase();
    let off = |r: &Ref| r.span.start.saturating_sub(line.start + base);
    let end = |r: &Ref| r.span.end.saturating_sub(line.start + base);
    let span_at = |o: usize, l: usize| Span::new(src, line.start + base + o, line.start + base + o + l);
    let to_phase = |p: &PhaseInfo, span: Span| Ref {
        first: p.number.clone().unwrap_or_default(),
        last: None,
        span,
        phase: true,
        milestone: Some(p.milestone.clone()),
    };
    // Parentheses: (open, close).
    let mut parens: Vec<(usize, usize)> = Vec::new();
    let mut open: Option<usize> = None;
    for (i, c) in lower.char_indices() {
        match c {
            '(' => open = Some(i),
            ')' => {
                if let Some(o) = open.take() {
                    parens.push((o, i));
                }
            }
            _ => {}
        }
    }
    let refs_in = |refs: &[Ref], (o, c): (usize, usize)| -> Vec<usize> {
        refs.iter().enumerate().filter(|(_, r)| off(r) > o && off(r) < c).map(|(i, _)| i).collect()
    };
    // `Phase 1 completion (specifically T001)`: the ids, not the phase.
    for &(o, c) in &parens {
        if !lower.get(o + 1..c).unwrap_or("").trim_start().starts_with("specifically") {
            continue;
        }
        let before = refs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.phase && end(r) <= o)
            .filter(|(_, r)| {
                lower.get(end(r)..o).unwrap_or("x").chars().all(|ch| ch.is_ascii_alphabetic() || ch == ' ')
            })
            .map(|(i, _)| i)
            .next_back();
        if let Some(i) = before {
            refs.remove(i);
        }
    }
    // `Phase 3+`: that phase and every later one (the stories only, when the line says so).
    let mut expanded: Vec<Ref> = Vec::new();
    for r in std::mem::take(&mut refs) {
        let plus = r.phase && r.milestone.is_none() && lower.get(end(&r)..).is_some_and(|t| t.starts_with('+'));
        let from = r.first.parse::<f64>().ok();
        match (plus, from) {
            (true, Some(from)) => {
                // `Phase 3+ (User Stories)`: the label after it says so too.
                let label = lower.get(end(&r) + 1..).unwrap_or("").trim_start();
                let stories = lower.get(..off(&r)).unwrap_or("").contains("stor")
                    || label.strip_prefix('(').is_some_and(|l| l.split(')').next().is_some_and(|x| x.contains("stor")));
                for p in &names.phases {
                    let n = p.number.as_deref().and_then(|n| n.parse::<f64>().ok());
                    if n.is_some_and(|n| n >= from) && (!stories || p.story.is_some()) {
                        expanded.push(to_phase(p, r.span));
                    }
                }
            }
            _ => expanded.push(r),
        }
    }
    refs = expanded;
    // Words, with their offsets.
    let mut words: Vec<(usize, &str)> = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in lower.char_indices().chain(std::iter::once((lower.len(), ' '))) {
        match (c.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s0)) => {
                words.push((s0, lower.get(s0..i).unwrap_or("")));
                start = None;
            }
            _ => {}
        }
    }
    // The parenthesis a word labels (`Polish (Phase 6)`, `implementation (T006-T008)`): only
    // words between the word and `(`.
    let labelled = |w_end: usize, refs: &[Ref]| -> Option<(usize, usize)> {
        let &(o, c) = parens.iter().find(|(o, _)| *o >= w_end)?;
        let gap = lower.get(w_end..o)?;
        (gap.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == ' ')
            && !has_order_word(&format!(" {gap} "))
            && !refs_in(refs, (o, c)).is_empty())
        .then_some((o, c))
    };
    // A parenthesis right after a ref is a note about it (`T011, T012 (Polish)`, `Phase 1 (Setup)`).
    let note_after_ref = |pos: usize, refs: &[Ref]| -> bool {
        parens.iter().any(|&(o, c)| {
            pos > o
                && pos < c
                && refs.iter().any(|r| {
                    let e = end(r);
                    e <= o && lower.get(e..o).is_some_and(|g| g.trim().is_empty() || g.trim() == "+")
                })
        })
    };
    let mut added: Vec<Ref> = Vec::new();
    let mut skip_until = 0;
    for (k, &(w0, w)) in words.iter().enumerate() {
        if w0 < skip_until || note_after_ref(w0, &refs) {
            continue;
        }
        let w_end = w0 + w.len();
        if let Some((o, c)) = labelled(w_end, &refs) {
            let inside = refs_in(&refs, (o, c));
            // A word defined by ids, written right before them (`implementation (T006-T008)`).
            let defines = lower.get(w_end..o).is_some_and(|g| g.trim().is_empty())
                && w.len() >= 4
                && w.chars().all(|ch| ch.is_ascii_alphabetic())
                && !["phase", "phases", "completion", "complete", "done", "first", "then"].contains(&w);
            if defines && inside.iter().all(|&i| refs.get(i).is_some_and(|r| !r.phase)) {
                let ids =
                    inside.iter().filter_map(|&i| refs.get(i)).map(|r| (r.first.clone(), r.last.clone())).collect();
                names.aliases.insert(w.to_owned(), ids);
            }
            // A name with a wrong phase number: the phase of that name.
            if let Some(p) = phase_named(&names.phases, w) {
                for i in inside {
                    if let Some(r) = refs.get_mut(i) {
                        let other = r.phase
                            && r.milestone.is_none()
                            && names.phases.iter().any(|q| q.number.as_deref() == Some(&r.first))
                            && names
                                .phases
                                .iter()
                                .all(|q| q.number.as_deref() != Some(&r.first) || !q.words.iter().any(|x| x == w));
                        if other {
                            *r = to_phase(p, r.span);
                        }
                    }
                }
            }
            continue;
        }
        let next: Vec<&str> = words.iter().skip(k + 1).take(4).map(|(_, x)| *x).collect();
        let span = span_at(w0, w.len());
        if w == "all" {
            let has = |x: &str| next.iter().take_while(|n| !["and", "or", "but"].contains(n)).any(|n| *n == x);
            let marker = if has("prior") || has("previous") || has("preceding") || has("earlier") {
                Some("<prior>")
            } else if has("other") && has("phases") || next.first() == Some(&"phases") {
                // `Depends on all phases complete`: every other phase.
                Some("<other>")
            } else {
                None
            };
            if let Some(m) = marker {
                added.push(Ref { first: m.to_owned(), last: None, span, phase: true, milestone: None });
            } else if has("stories") || has("story") || has("us") && has("phases") {
                added.extend(names.phases.iter().filter(|p| p.story.is_some()).map(|p| to_phase(p, span)));
            } else {
                continue;
            }
            skip_until = words.get(k + 1 + next.len().min(3)).map_or(lower.len(), |(o, _)| *o);
            continue;
        }
        let story = if w == "story" {
            next.first().filter(|n| n.chars().all(|c| c.is_ascii_digit())).map(|n| (*n).to_owned())
        } else {
            w.strip_prefix("us").filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())).map(str::to_owned)
        };
        if let Some(n) = story {
            added.extend(names.phases.iter().filter(|p| p.story.as_deref() == Some(&n)).map(|p| to_phase(p, span)));
            continue;
        }
        if let Some(ids) = names.aliases.get(w) {
            added.extend(ids.iter().map(|(first, last)| Ref {
                first: first.clone(),
                last: last.clone(),
                span,
                phase: false,
                milestone: None,
            }));
            continue;
        }
        // A phase's name, capitalised as a name (`Depends on Setup`), not a word of the prose.
        let capital = text.get(w0..).is_some_and(|t| t.starts_with(|c: char| c.is_ascii_uppercase()));
        if let Some(p) = phase_named(&names.phases, w).filter(|_| capital) {
            added.push(to_phase(p, span));
        }
    }
    refs.extend(added);
    refs.sort_by_key(|r| r.span.start);
    refs
}

/// The orders one line of the Dependencies section states; `None` when it states none that
/// can be read.
fn order_of(src: SourceId, line: &Line<'_>, names: &mut Names) -> Option<Vec<Order>> {
    // Lowercasing may change byte lengths outside ASCII; positions are only trusted when not.
    if line.text.to_lowercase().len() != line.text.len() {
        return None;
    }
    // The line's subject, its bold key (`- **Phase 3 (US1)**: …`): what a later clause without a
    // subject of its own is about (`…; can overlap with Phase 2 after T005`).
    let subject_end = {
        let t = line.text.trim_start().trim_start_matches(['-', '*', '+', ' ']);
        let lead = line.text.len() - t.len();
        (line.text.get(..lead).is_some_and(|l| l.contains("**")))
            .then(|| ["**:", ":**"].iter().filter_map(|k| t.find(k)).min().map(|p| lead + p))
            .flatten()
    };
    let subject =
        subject_end.map(|e| refs_named(src, line, line.text.get(..e).unwrap_or(""), 0, names)).unwrap_or_default();
    if let Some(e) = subject_end {
        let value = line.text.get(e..).unwrap_or("");
        if let Some(orders) = korean_orders(src, line, value, e, names, &subject) {
            return Some(orders);
        }
    }
    let mut out = Vec::new();
    for (base, clause) in clauses(line.text) {
        let subject: &[Ref] = if subject_end.is_some_and(|e| base >= e) { &subject } else { &[] };
        out.extend(clause_orders(src, line, clause, base, names, subject).unwrap_or_default());
    }
    (!out.is_empty()).then_some(out)
}

/// Words that say the tasks named after them run at the same time as the subject.
const PARALLEL_ASCII: [&str; 7] = [
    "in parallel with",
    "parallel to",
    "parallel with",
    "alongside",
    "concurrently with",
    "overlap with",
    "independent of",
];

/// The refs listed right after byte `from` of a clause (`with US1 and US2 after …`: US1, US2).
fn listed_from(refs: &[Ref], lower: &str, from: usize, at: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut end = from;
    for (i, r) in refs.iter().enumerate() {
        let o = r.span.start.saturating_sub(at);
        if o < end {
            continue;
        }
        let gap = lower.get(end..o).unwrap_or("x");
        let gap = gap.trim_matches(|c: char| c.is_whitespace() || "`*,/&()".contains(c));
        if !(gap.is_empty() || ["and", "or", "all", "the"].contains(&gap)) {
            break;
        }
        end = r.span.end.saturating_sub(at);
        out.push(i);
    }
    out
}

/// Whether `text` holds a word that orders tasks.
fn has_order_word(lower: &str) -> bool {
    AFTER_WORDS.iter().chain(BEFORE_WORDS.iter()).any(|w| lower.contains(w.trim()))
}

/// The clauses of a line, with their byte offsets: a parenthesis that states an order of its
/// own (`T001 → T002 (T003 depends on T002)`) and parts separated by `;` are read one by one.
fn clauses(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut rest_start = 0;
    let mut depth_start: Option<usize> = None;
    let mut cut: Vec<(usize, usize)> = Vec::new(); // (open, close) of parentheses read apart
    for (i, c) in text.char_indices() {
        match c {
            '(' if depth_start.is_none() => depth_start = Some(i),
            ')' => {
                if let Some(open) = depth_start.take() {
                    let inner = text.get(open + 1..i).unwrap_or("");
                    let inner_lower = inner.to_lowercase();
                    if has_order_word(&format!(" {inner_lower} "))
                        || PARALLEL_ASCII.iter().any(|w| inner_lower.contains(w))
                    {
                        cut.push((open, i));
                    }
                }
            }
            _ => {}
        }
    }
    let mut pieces: Vec<(usize, &str)> = Vec::new();
    for (open, close) in &cut {
        pieces.push((rest_start, text.get(rest_start..*open).unwrap_or("")));
        pieces.push((open + 1, text.get(open + 1..*close).unwrap_or("")));
        rest_start = close + 1;
    }
    pieces.push((rest_start, text.get(rest_start..).unwrap_or("")));
    // `;` and the Japanese and Chinese full stop and semicolon end a clause, and so does a dash
    // between words (`Depends on Setup - BLOCKS all user stories`), not one in a range.
    for (base, piece) in pieces {
        let mut at = 0;
        for (i, c) in piece.char_indices() {
            let dash = (c == '-' || c == '—')
                && piece.get(..i).is_some_and(|h| h.ends_with(' '))
                && piece.get(i + c.len_utf8()..).is_some_and(|t| {
                    t.starts_with(' ')
                        && t.trim_start().starts_with(|ch: char| ch.is_alphabetic())
                        && task_id_len(t.trim_start()).is_none()
                        && !t.trim_start().to_ascii_lowercase().starts_with("phase")
                })
                && has_order_word(&format!(" {} ", piece.get(at..i).unwrap_or("").to_lowercase()));
            if [';', '。', '；'].contains(&c) || dash {
                out.push((base + at, piece.get(at..i).unwrap_or("")));
                at = i + c.len_utf8();
            }
        }
        out.push((base + at, piece.get(at..).unwrap_or("")));
    }
    out
}

fn clause_orders(
    src: SourceId,
    line: &Line<'_>,
    text: &str,
    base: usize,
    names: &mut Names,
    subject: &[Ref],
) -> Option<Vec<Order>> {
    if let Some(orders) = cjk_orders(src, line, text, base, names) {
        return Some(orders);
    }
    let lower = format!("{} ", text.to_lowercase());
    // `can run in parallel with US1 and US2 after Phase 2`: the tasks listed after the
    // parallel words run alongside (the line's subject, when the clause names none before).
    let mut parallel_refs: Vec<usize> = Vec::new(); // span starts of the refs run alongside
    let mut extra: Vec<Order> = Vec::new();
    if let Some((p, l)) = PARALLEL_ASCII.iter().filter_map(|w| lower.find(w).map(|p| (p, w.len()))).min() {
        let refs = refs_named(src, line, text, base, names);
        let listed = listed_from(&refs, &lower, p + l, line.start + base);
        let with: Vec<Ref> = listed.iter().filter_map(|&i| refs.get(i).cloned()).collect();
        parallel_refs = with.iter().map(|r| r.span.start).collect();
        let before: Vec<Ref> = refs.iter().filter(|r| r.span.start < line.start + base + p).cloned().collect();
        if before.is_empty() && !with.is_empty() && !subject.is_empty() {
            extra.push(Order {
                dependents: subject.to_vec(),
                prerequisites: with,
                paired: false,
                parallel: true,
                only: false,
            });
        }
    }
    // A chain `T001 → T002 → T003`: each link waits for the one before.
    for arrow in [" → ", " -> "] {
        if text.matches(arrow).count() >= 2 {
            let mut orders = Vec::new();
            let mut previous: Option<Vec<Ref>> = None;
            let mut at = base;
            for part in text.split(arrow) {
                let refs = refs_named(src, line, part, at, names);
                at += part.len() + arrow.len();
                if refs.is_empty() {
                    return None;
                }
                if let Some(prev) = previous.take() {
                    orders.push(Order {
                        dependents: refs.clone(),
                        prerequisites: prev,
                        paired: false,
                        parallel: false,
                        only: false,
                    });
                }
                previous = Some(refs);
            }
            return Some(orders);
        }
    }
    let find = |words: &[&str]| words.iter().filter_map(|w| lower.find(w).map(|p| (p, w.len()))).min();
    let (pos, len, dependents_first) = match (find(&AFTER_WORDS), find(&BEFORE_WORDS)) {
        (Some((p, l)), Some((q, _))) if p <= q => (p, l, true),
        (Some((p, l)), None) => (p, l, true),
        (_, Some((q, l))) => (q, l, false),
        (None, None) => return (!extra.is_empty()).then_some(extra),
    };
    // Tasks that run alongside (`can run alongside Phases 1–3 once T001 lands`) are neither side.
    let refs: Vec<Ref> = refs_named(src, line, text, base, names)
        .into_iter()
        .filter(|r| {
            let before = lower.get(..r.span.start.saturating_sub(line.start + base)).unwrap_or("").trim_end();
            !["alongside", "in parallel with", "parallel to", "together with"].iter().any(|w| before.ends_with(w))
                && !parallel_refs.contains(&r.span.start)
        })
        .collect();
    let split = line.start + base + pos + len;
    let (right, mut left): (Vec<Ref>, Vec<Ref>) = refs.into_iter().partition(|r| r.span.start >= split);
    if left.is_empty() && dependents_first {
        left = subject.to_vec();
    }
    // `Depends on Phase 2 only`.
    let only = dependents_first
        && lower
            .get(pos + len..)
            .is_some_and(|r| r.split_whitespace().any(|w| w.trim_matches(['*', ',', '.']) == "only"));
    // A phase never waits for itself (`Core (Phase 2): … after core types`).
    let same = |a: &Ref, b: &Ref| {
        a.phase
            && b.phase
            && (a.milestone.is_some() && a.milestone == b.milestone
                || a.milestone.is_none() && b.milestone.is_none() && a.first == b.first)
    };
    let (left, right): (Vec<Ref>, Vec<Ref>) = if dependents_first {
        (left.clone(), right.into_iter().filter(|r| !left.iter().any(|l| same(l, r))).collect())
    } else {
        (left.iter().filter(|l| !right.iter().any(|r| same(l, r))).cloned().collect(), right)
    };
    if left.is_empty() || right.is_empty() {
        return (!extra.is_empty()).then_some(extra);
    }
    let paired = lower.contains("respectively") && left.len() == right.len() && left.len() > 1;
    // `Foundational depends on Setup and blocks all stories`: a second order of the same subject.
    if dependents_first {
        let from = pos + len;
        let second = BEFORE_WORDS
            .iter()
            .filter(|w| !["→", "->"].contains(&w.trim()))
            .filter_map(|w| lower.get(from..).and_then(|t| t.find(w)).map(|p| (from + p, w.len())))
            .min();
        if let Some((q, l)) = second {
            let cut = line.start + base + q;
            let (later, right): (Vec<Ref>, Vec<Ref>) =
                right.into_iter().partition(|r| r.span.start >= cut + l.saturating_sub(1));
            let mut out = Vec::new();
            if !right.is_empty() {
                out.push(Order {
                    dependents: left.clone(),
                    prerequisites: right,
                    paired: false,
                    parallel: false,
                    only,
                });
            }
            if !later.is_empty() {
                out.push(Order { dependents: later, prerequisites: left, paired: false, parallel: false, only: false });
            }
            out.extend(extra);
            return (!out.is_empty()).then_some(out);
        }
    }
    extra.push(if dependents_first {
        Order { dependents: left, prerequisites: right, paired, parallel: false, only }
    } else {
        Order { dependents: right, prerequisites: left, paired, parallel: false, only: false }
    });
    Some(extra)
}

/// Korean phase lines: `**User Story 2 (P2)**: Foundational 후 시작 - US1과 독립적` (after
/// Foundational; independent of US1), `**Polish (Phase 5)**: 원하는 User Story 완료 후` (after
/// the user stories). `후` (after) follows what is waited for; `과 독립`/`와 독립` (independent
/// of) follows what runs alongside; the line's bold subject is the other side.
fn korean_orders(
    src: SourceId,
    line: &Line<'_>,
    text: &str,
    base: usize,
    names: &mut Names,
    subject: &[Ref],
) -> Option<Vec<Order>> {
    let hangul = |c: char| ('\u{AC00}'..='\u{D7A3}').contains(&c);
    if subject.is_empty() || !text.chars().any(hangul) {
        return None;
    }
    // The segment of the clause that ends at `pos`: back to `:`, `-` or the start.
    let segment_before = |pos: usize| -> (usize, &str) {
        let head = text.get(..pos).unwrap_or("");
        let start = head
            .char_indices()
            .rev()
            .find(|(_, c)| [':', '：', '-', '—', ','].contains(c))
            .map_or(0, |(p, c)| p + c.len_utf8());
        (start, head.get(start..).unwrap_or(""))
    };
    // Named refs in a Korean segment: ids, phases, phase names; `User Story` without a number
    // is every story phase.
    let mut named = |start: usize, seg: &str| -> Vec<Ref> {
        // The ASCII pieces between the Korean words, each read with its own offset.
        let mut out = Vec::new();
        let mut at = 0;
        for piece in seg.split(|c: char| !c.is_ascii()) {
            let off = start + at;
            at += piece.len();
            // Skip the non-ASCII char that ended this piece.
            at += seg.get(at..).and_then(|r| r.chars().next()).map_or(0, char::len_utf8);
            if piece.trim().is_empty() {
                continue;
            }
            let mut refs = refs_named(src, line, piece, base + off, names);
            let lower = piece.to_ascii_lowercase();
            if refs.is_empty() && lower.trim() == "user story" {
                let span = Span::new(src, line.start + base + off, line.start + base + off + piece.len());
                refs.extend(names.phases.iter().filter(|p| p.story.is_some()).map(|p| Ref {
                    first: p.number.clone().unwrap_or_default(),
                    last: None,
                    span,
                    phase: true,
                    milestone: Some(p.milestone.clone()),
                }));
            }
            out.extend(refs);
        }
        out
    };
    let mut orders = Vec::new();
    for (pos, _) in text.match_indices("후") {
        // A word of its own: after a space (`Foundational 후`, `완료 후`).
        if !text.get(..pos).is_some_and(|h| h.ends_with(' ')) {
            continue;
        }
        let (start, seg) = segment_before(pos);
        let seg_end = seg.trim_end().strip_suffix("완료").unwrap_or(seg.trim_end());
        let prerequisites = named(start, seg_end);
        if !prerequisites.is_empty() {
            orders.push(Order {
                dependents: subject.to_vec(),
                prerequisites,
                paired: false,
                parallel: false,
                only: false,
            });
        }
    }
    for word in ["과 독립", "와 독립"] {
        for (pos, _) in text.match_indices(word) {
            let (start, seg) = segment_before(pos);
            let with = named(start, seg);
            if !with.is_empty() {
                orders.push(Order {
                    dependents: subject.to_vec(),
                    prerequisites: with,
                    paired: false,
                    parallel: true,
                    only: false,
                });
            }
        }
    }
    (!orders.is_empty()).then_some(orders)
}

/// Orders written the Japanese or Chinese way, and `in parallel with` notes: `Phase 1完了後`
/// (after phase 1), `T005、T007の順に` (in the order T005, T007), `T002とT003はT001と並行可能`
/// (T002 and T003 can run in parallel with T001), `T002 and T003 can run in parallel with T001`.
fn cjk_orders(src: SourceId, line: &Line<'_>, text: &str, base: usize, names: &mut Names) -> Option<Vec<Order>> {
    let to_ref = |(first, last, off, len, phase): (String, Option<String>, usize, usize, bool)| {
        let span = Span::new(src, line.start + base + off, line.start + base + off + len);
        Ref { first, last, span, phase, milestone: None }
    };
    let lower = text.to_lowercase();
    let mut orders = Vec::new();
    // `T005、T007の順に統合する`: a chain.
    for (pos, _) in text.match_indices("の順") {
        let refs: Vec<Ref> = refs_just_before(text, pos).into_iter().map(to_ref).collect();
        for pair in refs.windows(2) {
            if let [a, b] = pair {
                orders.push(Order {
                    dependents: vec![b.clone()],
                    prerequisites: vec![a.clone()],
                    paired: false,
                    parallel: false,
                    only: false,
                });
            }
        }
    }
    // Chinese words defined by ids (`實作階段 (T005-T008)`), kept for later lines; `階段` (stage)
    // may be left out there (`所有實作完成後`).
    for (first, last, off, _) in id_refs(text) {
        let Some(head) = text.get(..off).and_then(|h| h.strip_suffix(['(', '（'])) else { continue };
        let head = head.trim_end();
        let word: String = head.chars().rev().take_while(|c| !c.is_ascii() && c.is_alphabetic()).collect();
        let word: String = word.chars().rev().collect();
        if word.chars().count() >= 2 {
            let entry = names.aliases.entry(word.clone()).or_default();
            if !entry.iter().any(|(f, _)| *f == first) {
                entry.push((first.clone(), last.clone()));
            }
            for stage in ["階段", "阶段"] {
                if let Some(short) = word.strip_suffix(stage).filter(|w| w.chars().count() >= 2) {
                    let entry = names.aliases.entry(short.to_owned()).or_default();
                    if !entry.iter().any(|(f, _)| *f == first) {
                        entry.push((first.clone(), last.clone()));
                    }
                }
            }
        }
    }
    // Words defined with phase numbers (`**基盤（Phase 2）**`), kept for later lines.
    for (n, off, _) in phase_refs(text) {
        let Some(head) = text.get(..off).and_then(|h| h.strip_suffix(['(', '（'])) else { continue };
        let word: String = head.trim_end().chars().rev().take_while(|c| !c.is_ascii() && c.is_alphabetic()).collect();
        let word: String = word.chars().rev().collect();
        if word.chars().count() >= 2 {
            let entry = names.phase_aliases.entry(word).or_default();
            if !entry.contains(&n) {
                entry.push(n);
            }
        }
    }
    // `A 必須在 B 之前完成` (A must be done before B): B waits for the others named.
    for (pos, _) in text.match_indices("之前") {
        let dependents: Vec<Ref> = refs_just_before(text, pos).into_iter().map(to_ref).collect();
        if dependents.is_empty() {
            continue;
        }
        let starts: Vec<usize> = dependents.iter().map(|r| r.span.start).collect();
        let prerequisites: Vec<Ref> =
            refs_of(src, line, text, base).into_iter().filter(|r| !starts.contains(&r.span.start)).collect();
        if !prerequisites.is_empty() {
            orders.push(Order { dependents, prerequisites, paired: false, parallel: false, only: false });
        }
    }
    // `Phase 2: Phase 1完了後`: what is named before waits for what the word follows.
    for suffix in AFTER_SUFFIXES {
        for (pos, _) in text.match_indices(suffix) {
            let mut prerequisites: Vec<Ref> = refs_just_before(text, pos).into_iter().map(to_ref).collect();
            // `所有實作完成後才能進行 Polish (T011-T012)`: a word the section defined with ids,
            // and what follows waits.
            if prerequisites.is_empty() {
                let head = text.get(..pos).unwrap_or("");
                let word: String = head.chars().rev().take_while(|c| !c.is_ascii() && c.is_alphabetic()).collect();
                let word: String = word.chars().rev().collect();
                // Chinese has no spaces between words: the longest shared ending names it.
                let shared = |k: &str| -> usize {
                    k.chars().rev().zip(word.chars().rev()).take_while(|(a, b)| a == b).map(|(a, _)| a.len_utf8()).sum()
                };
                let by_ids = names
                    .aliases
                    .iter()
                    .filter(|(k, _)| !k.is_ascii())
                    .map(|(k, ids)| (shared(k), ids))
                    .filter(|(l, _)| *l >= 6)
                    .max_by_key(|(l, _)| *l);
                // A word defined with phases (`基盤完了後に開始可能`, `全ユーザーストーリー完了後`).
                let by_phases = names
                    .phase_aliases
                    .iter()
                    .map(|(k, ns)| (shared(k), k, ns))
                    .filter(|(l, k, _)| *l >= 6 && *l == k.len())
                    .max_by_key(|(l, _, _)| *l);
                let (len, refs): (usize, Vec<(String, Option<String>, bool)>) = match (by_ids, by_phases) {
                    (Some((l, ids)), _) => (l, ids.iter().map(|(f, la)| (f.clone(), la.clone(), false)).collect()),
                    (None, Some((l, _, ns))) => (l, ns.iter().map(|n| (n.clone(), None, true)).collect()),
                    (None, None) => continue,
                };
                let at = pos - len;
                let span = Span::new(src, line.start + base + at, line.start + base + pos);
                prerequisites = refs
                    .into_iter()
                    .map(|(first, last, phase)| Ref { first, last, span, phase, milestone: None })
                    .collect();
                let after = pos + suffix.len();
                let mut dependents = refs_of(src, line, text.get(after..).unwrap_or(""), base + after);
                // `**ユーザーストーリー（Phase 3-4）**: 基盤完了後に開始可能`: the phases the line is
                // about wait.
                if dependents.is_empty() {
                    dependents = refs_of(src, line, text.get(..at).unwrap_or(""), base);
                }
                if !dependents.is_empty() {
                    orders.push(Order { dependents, prerequisites, paired: false, parallel: false, only: false });
                }
                continue;
            }
            let Some(first) = prerequisites.first().map(|r| r.span.start - line.start - base) else { continue };
            let dependents = refs_of(src, line, text.get(..first).unwrap_or(""), base);
            if !dependents.is_empty() {
                orders.push(Order { dependents, prerequisites, paired: false, parallel: false, only: false });
            }
        }
    }
    if !orders.is_empty() {
        return Some(orders);
    }
    // `A in parallel with B` / `AはBと並行`, when the clause orders nothing else.
    if has_order_word(&format!(" {lower} ")) || lower.len() != text.len() {
        return None;
    }
    let (pos, word) = PARALLEL_WORDS.iter().find_map(|w| lower.find(w).map(|p| (p, *w)))?;
    let (with, others): (Vec<Ref>, Vec<Ref>) = if word.is_ascii() {
        let refs = refs_of(src, line, text, base);
        let split = line.start + base + pos;
        let (before, after): (Vec<Ref>, Vec<Ref>) = refs.into_iter().partition(|r| r.span.start < split);
        (after, before)
    } else {
        let with: Vec<Ref> = refs_just_before(text, pos).into_iter().map(to_ref).collect();
        let first = with.first().map(|r| r.span.start - line.start - base)?;
        (with, refs_of(src, line, text.get(..first).unwrap_or(""), base))
    };
    (!with.is_empty() && !others.is_empty())
        .then(|| vec![Order { dependents: others, prerequisites: with, paired: false, parallel: true, only: false }])
}

/// A Dependencies line that names two or more task ids and says they wait, but could not be read.
fn warn_unread_order(b: &mut PlanBuilder, src: SourceId, line: &Line<'_>) {
    let lower = line.text.to_lowercase();
    let ordering =
        ["depend", "block", "after", "before", "require", "→", "->", "wait", "once", "após", "nach", "依赖", "取决于"]
            .iter()
            .any(|w| lower.contains(w));
    if !ordering || id_refs(line.text).len() < 2 || lower.contains("no dependenc") {
        return;
    }
    let t = line.text.trim_end();
    let at = md::offset_in(line.text, t.trim_start()).unwrap_or(0);
    b.warn(
        Diagnostic::warning(
            "unread-dependency",
            format!(
                "this line seems to order tasks, but planrun could not tell which waits for which: `{}`",
                model::one_line(t)
            ),
        )
        .at(Some(Span::new(src, line.start + at, line.start + t.len())))
        .help("write it as `T005 depends on T003` (or `T003 blocks T005`, `T003 → T005`), one order a line"),
    );
}

/// Notes of the phase being read, repeated in each of its tasks.
#[derive(Default)]
struct Phase {
    name: Option<String>,
    /// A `Phase N` or `User Story` section, where even an item without an id is a task.
    is_phase: bool,
    notes: Vec<String>,
    section: Option<String>,
    /// Index (in the plan) of the phase's last task, for its checkpoint.
    last_task: Option<usize>,
}

/// A task whose continuation lines are still being read.
struct Open<'a> {
    index: usize,
    lines: Vec<Line<'a>>,
    header: String,
    /// A `### T001 …` heading task: every line up to the next heading is its body.
    heading: bool,
    /// How many of the task's dependencies come from the list's order (before its own text's).
    implicit_deps: usize,
}

#[derive(Default)]
struct Groups {
    previous: Vec<String>,
    current: Vec<String>,
    /// Whether the current group is a run of `[P]` items that the next `[P]` item may join.
    parallel: bool,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Mode {
    Header,
    Tasks,
    Dependencies,
    /// A "Parallel …" section: only its lines that order tasks are read.
    Parallel,
    Other,
}

fn parse_into(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let mut context: Vec<String> = Vec::new();
    let mut section: Vec<&str> = Vec::new();
    let mut section_has_tasks = false;
    let mut mode = Mode::Header;
    let mut phase = Phase::default();
    let mut groups = Groups::default();
    let mut open: Option<Open> = None;
    let mut orders: Vec<Order> = Vec::new();
    let mut names = Names::default();
    let mut title_seen = false;
    // Under a `**Checkpoint**:` / `**完了基準**:` field without a value: its list of criteria.
    let mut criteria = false;
    // Each task's dependencies taken from the list's order, for `in parallel with` notes.
    let mut implicit: HashMap<String, Vec<String>> = HashMap::new();
    // YAML front matter (`---` … `---` at the top) is metadata for the tool that wrote the file.
    let front_matter = match lines.first() {
        Some(first) if first.text.trim_end() == "---" => {
            lines.iter().skip(1).position(|l| l.text.trim_end() == "---").map_or(0, |p| p + 2)
        }
        _ => 0,
    };

    for line in lines.iter().skip(front_matter) {
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((level, t)) = heading {
            criteria = false;
            close(b, src, open.take());
            // `### T001: Title` (or `## T001 …`): a task written as a heading.
            if level >= 2 && matches!(mode, Mode::Tasks | Mode::Header) && heading_item(t).is_some() {
                // A heading that repeats the id of a task already listed (`### T001: …` in a
                // details section after the list) explains that task: not a new one.
                let known = heading_item(t)
                    .and_then(|(_, text)| parse_item(text))
                    .is_some_and(|i| b.plan.tasks.iter().any(|k| k.id == i.id));
                if known && mode == Mode::Tasks && !section_has_tasks {
                    mode = Mode::Other;
                    continue;
                }
                if mode == Mode::Header {
                    mode = Mode::Tasks;
                }
                section_has_tasks = true;
                let (done, text) = heading_item(t).unwrap_or((false, t));
                let mut o = read_task(b, src, line, done, text, &mut phase, &mut groups);
                note_implicit(b, &o, &mut implicit);
                o.heading = true;
                open = Some(o);
                continue;
            }
            groups.parallel = false;
            if level == 1 && !title_seen {
                title_seen = true;
                let t = t.trim();
                let stripped =
                    t.get(..6).filter(|p| p.eq_ignore_ascii_case("tasks:")).and_then(|_| t.get(6..)).unwrap_or(t);
                b.plan.title = stripped.trim().to_owned();
                continue;
            }
            if level <= 2 {
                end_section(&mut context, &mut section, section_has_tasks);
                section_has_tasks = false;
                let lower = t.to_ascii_lowercase();
                mode = if is_dependencies_heading(&lower) {
                    Mode::Dependencies
                } else if lower.starts_with("parallel") {
                    // "Parallel Execution Examples", "Parallel Opportunities": notes whose
                    // orders (`T007, T008 can be done in parallel after T006`) are read.
                    Mode::Parallel
                } else if [
                    "parallel example",
                    "table of contents",
                    "implementation strategy",
                    "task summary",
                    "progress",
                ]
                .iter()
                .any(|p| lower.starts_with(p))
                    || lower.starts_with("us") && lower.contains("task") && lower.contains('↔')
                {
                    Mode::Other
                } else {
                    Mode::Tasks
                };
                let is_phase = lower.contains("phase") || lower.contains("user story");
                if matches!(mode, Mode::Dependencies | Mode::Parallel) {
                    names.phases = phase_infos(&b.plan.tasks);
                }
                phase = Phase { name: Some(model::one_line(t)), is_phase, ..Phase::default() };
                if mode == Mode::Tasks {
                    section.push(line.text);
                }
                continue;
            }
            phase.section = Some(model::one_line(t));
            if mode == Mode::Tasks {
                section.push(line.text);
            }
            continue;
        }
        match mode {
            // A list without any section (`- [ ] T1 \`lattice.py\`: …` right under the title):
            // its first item starts the tasks.
            Mode::Header
                if !line.in_fence
                    && md::checkbox(line.text)
                        .and_then(|(_, t)| parse_item(t))
                        .is_some_and(|i| !i.title.is_empty()) =>
            {
                mode = Mode::Tasks;
            }
            Mode::Header => {
                if !line.text.trim().is_empty() || !context.is_empty() {
                    context.push(line.text.to_owned());
                }
                continue;
            }
            Mode::Other => continue,
            Mode::Parallel => {
                let lower = format!(" {} ", line.text.to_lowercase());
                if !line.in_fence && AFTER_WORDS.iter().any(|w| lower.contains(w)) {
                    orders.extend(order_of(src, line, &mut names).unwrap_or_default());
                }
                continue;
            }
            Mode::Dependencies => {
                // A task item in a section taken for Dependencies: the section holds tasks.
                let new_task = !line.in_fence
                    && md::checkbox(line.text).and_then(|(_, t)| parse_item(t)).is_some_and(|i| {
                        !i.title.is_empty()
                            && !b.plan.tasks.iter().any(|k| k.id == i.id)
                            && !has_order_word(&format!(" {} ", i.title.to_lowercase()))
                    });
                if new_task {
                    mode = Mode::Tasks;
                } else if !line.in_fence {
                    match order_of(src, line, &mut names) {
                        Some(o) => orders.extend(o),
                        None => warn_unread_order(b, src, line),
                    }
                    continue;
                } else {
                    continue;
                }
            }
            Mode::Tasks => {}
        }
        let in_heading_task = open.as_ref().is_some_and(|o| o.heading);
        if criteria && open.is_none() && !line.in_fence {
            // The list under a checkpoint field: each bullet (or id-less checkbox) a criterion.
            let entry = match md::checkbox(line.text) {
                Some((_, t)) => Some(t).filter(|t| parse_item(t).is_none()),
                None => md::bullet(line.text),
            };
            match entry {
                Some(t) if !t.is_empty() => {
                    push_criterion(b, src, line, t, phase.last_task);
                    section.push(line.text);
                    continue;
                }
                _ if line.text.trim().is_empty() => {}
                _ => criteria = false,
            }
        }
        if !line.in_fence {
            // A checkbox item; under a heading task only one with its own id is a new task. A
            // plain bullet starting with an id (`- T001 Create …`) is a task too.
            let item = md::checkbox(line.text)
                .filter(|(_, t)| {
                    let known = |id: &str| b.plan.tasks.iter().any(|k| k.id == id);
                    if in_heading_task {
                        // Under a heading task, a checkbox naming a known task is a criterion.
                        parse_item(t).is_some_and(|i| !known(i.id))
                    } else {
                        phase.is_phase || parse_item(t).is_some()
                    }
                })
                .or_else(|| {
                    md::bullet(line.text)
                        .filter(|t| phase.is_phase && !t.starts_with('[') && !line.text.starts_with([' ', '\t']))
                        .filter(|t| parse_item(t).is_some_and(|i| !b.plan.tasks.iter().any(|k| k.id == i.id)))
                        .filter(|t| parse_item(t).is_some_and(|i| !i.title.is_empty()))
                        .map(|t| (false, t))
                });
            if let Some((done, item_text)) = item {
                close(b, src, open.take());
                section_has_tasks = true;
                let o = read_task(b, src, line, done, item_text, &mut phase, &mut groups);
                note_implicit(b, &o, &mut implicit);
                open = Some(o);
                continue;
            }
        }
        // Indented lines (and fenced blocks) under an item belong to it; every line under a
        // heading task does.
        if let Some(o) = open.as_mut() {
            let indented = line.text.starts_with([' ', '\t']) || line.in_fence || o.heading;
            if indented || (line.text.trim().is_empty() && !o.lines.is_empty()) {
                o.lines.push(*line);
                continue;
            }
            if line.text.trim().is_empty() {
                continue;
            }
            close(b, src, open.take());
        }
        section.push(line.text);
        if line.in_fence {
            continue;
        }
        if let Some((key, value, _)) = md::field(line.text) {
            let k = key.to_ascii_lowercase();
            if is_checkpoint_key(key) {
                if value.trim().is_empty() {
                    criteria = true;
                } else {
                    push_criterion(b, src, line, value, phase.last_task);
                }
            } else if is_dependencies_key(key) && !value.trim().is_empty() {
                // The phase's own dependencies (`**依存関係**: Phase 1完了後`): its first tasks
                // wait for what the value names.
                if let Some(n) = phase.name.as_deref().and_then(phase_number) {
                    let base = md::offset_in(line.text, value).unwrap_or(0);
                    let lower = value.to_lowercase();
                    let prerequisites: Vec<Ref> =
                        refs_of(src, line, value, base).into_iter().filter(|r| !(r.phase && r.first == n)).collect();
                    let parallel = PARALLEL_WORDS.iter().any(|w| lower.contains(w));
                    if !prerequisites.is_empty() && !parallel && lower.len() == value.len() {
                        let span = Span::new(src, line.start, line.start + line.text.len());
                        let me = Ref { first: n.to_owned(), last: None, span, phase: true, milestone: None };
                        orders.push(Order {
                            dependents: vec![me],
                            prerequisites,
                            paired: false,
                            parallel: false,
                            only: false,
                        });
                    }
                }
            } else if ["purpose", "goal", "independent test"].contains(&k.as_str()) {
                phase.notes.push(format!("{key}: {}", model::one_line(value)));
            }
        }
    }
    close(b, src, open.take());
    end_section(&mut context, &mut section, section_has_tasks);
    b.plan.context = collapse_blank_lines(&context);
    apply_orders(b, orders, &implicit);
    // `All paths are absolute under \`/home/me/app/\``: that folder is the repository root.
    if let Some(abs) = stated_absolute_root(&text) {
        for t in &mut b.plan.tasks {
            for f in &mut t.files {
                if let Some(rest) = f.strip_prefix(abs.as_str()).filter(|r| !r.is_empty()) {
                    *f = rest.to_owned();
                }
            }
        }
    }
    // `Paths are relative to \`Lift/\``: folders written without that root are under it.
    if let Some(root) = stated_root(&text) {
        for t in &mut b.plan.tasks {
            for f in &mut t.files {
                if !f.starts_with("**/") && !f.starts_with(root.as_str()) && !f.starts_with('.') {
                    *f = format!("{root}{f}");
                }
            }
        }
    }
}

/// The folder a plan says its paths are relative to (`- Paths are relative to \`Lift/\` (the
/// Xcode project root)`): a backticked relative folder right after "paths are relative to".
fn stated_root(text: &str) -> Option<String> {
    for line in md::lines(text) {
        if line.in_fence {
            continue;
        }
        let lower = line.text.to_ascii_lowercase();
        let Some(p) = lower.find("paths are relative to `") else { continue };
        let rest = line.text.get(p + "paths are relative to `".len()..)?;
        let folder = rest.split('`').next()?;
        let ok = folder.ends_with('/')
            && folder.len() > 1
            && !folder.starts_with(['/', '~', '.'])
            && folder.chars().all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c));
        return ok.then(|| folder.to_owned());
    }
    None
}

/// The absolute folder a plan says its paths are written under (`All paths are absolute under
/// \`/home/me/app/\``), without its leading `/`: that folder is the repository root.
fn stated_absolute_root(text: &str) -> Option<String> {
    for line in md::lines(text) {
        if line.in_fence {
            continue;
        }
        let lower = line.text.to_ascii_lowercase();
        let Some(p) = lower.find("absolute") else { continue };
        if !lower.contains("path") {
            continue;
        }
        let rest = line.text.get(p..)?;
        let folder = rest.split('`').nth(1)?;
        let ok = folder.starts_with('/') && folder.ends_with('/') && folder.len() > 2 && !folder.contains(' ');
        if ok {
            return Some(folder.trim_start_matches('/').to_owned());
        }
    }
    None
}

/// Records the dependencies a task took from the list's order.
fn note_implicit(b: &PlanBuilder, o: &Open<'_>, implicit: &mut HashMap<String, Vec<String>>) {
    if let Some(t) = b.plan.tasks.get(o.index) {
        if !t.id.is_empty() {
            implicit.insert(t.id.clone(), t.depends_on.iter().take(o.implicit_deps).cloned().collect());
        }
    }
}

/// A checkpoint or completion criterion of a phase, on its last task.
fn push_criterion(b: &mut PlanBuilder, src: SourceId, line: &Line<'_>, text: &str, last: Option<usize>) {
    let Some(i) = last else { return };
    let o = md::offset_in(line.text, text).unwrap_or(0);
    let span = Span::new(src, line.start + o, line.start + o + text.len());
    if let Some(task) = b.plan.tasks.get_mut(i) {
        task.acceptance.push(model::one_line(text));
        if let Some(spans) = b.task_spans.get_mut(i) {
            spans.acceptance.push(span);
        }
    }
}

/// A phase's checkpoint or completion criteria (`**Checkpoint**:`, `**チェックポイント**:`,
/// `**完了基準**:`): acceptance of the phase's last task.
fn is_checkpoint_key(key: &str) -> bool {
    let k = key.trim().to_lowercase();
    k.starts_with("checkpoint")
        || [
            "completion criteria",
            "exit criteria",
            "punto de control",
            "ponto de controle",
            "チェックポイント",
            "完了基準",
            "完了条件",
            "検証ポイント",
            "检查点",
            "验收标准",
            "完成标准",
        ]
        .contains(&k.as_str())
}

/// A phase's `**Dependencies**:` line (`**依存関係**: Phase 1完了後`).
fn is_dependencies_key(key: &str) -> bool {
    let k = key.trim().to_lowercase();
    ["dependencies", "dependency", "depends on", "依存関係", "依存", "依赖", "依赖关系", "前提"].contains(&k.as_str())
}

/// A heading that names a Dependencies section ("Dependencies", "Dependencies & Execution
/// Order", "Task Dependencies", "User Story Dependencies"), not one that merely holds the word
/// ("Phase 2: Install core dependencies").
fn is_dependencies_heading(lower: &str) -> bool {
    const WORDS: [&str; 33] = [
        "parallelization",
        "parallelism",
        "within",
        "sequence",
        "diagram",
        "notes",
        "dependencies",
        "dependency",
        "execution",
        "order",
        "task",
        "tasks",
        "phase",
        "story",
        "stories",
        "user",
        "cross",
        "inter",
        "and",
        "graph",
        "map",
        "chain",
        "parallel",
        "opportunities",
        "critical",
        "path",
        "overview",
        "summary",
        "of",
        "the",
        "between",
        "completion",
        "flow",
    ];
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let names = words.iter().any(|w| w.starts_with("dependenc")) || lower.contains("execution order");
    // Japanese and Chinese: `依存関係と実行順序`, `依赖关系`.
    let cjk =
        ["依存関係", "実行順序", "依赖关系", "执行顺序", "依赖与"].iter().any(|w| lower.trim_start().starts_with(w));
    cjk || names && words.iter().all(|w| WORDS.contains(w))
}

/// Joins context lines, keeping at most one blank line in a row.
fn collapse_blank_lines(lines: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for l in lines {
        if l.trim().is_empty() && out.last().is_none_or(|p| p.trim().is_empty()) {
            continue;
        }
        out.push(l);
    }
    out.join("\n")
}

/// A section without tasks (notes, path conventions) is plan-wide context.
fn end_section(context: &mut Vec<String>, section: &mut Vec<&str>, had_tasks: bool) {
    if !had_tasks && section.iter().any(|l| !l.trim().is_empty() && !l.trim().starts_with('#') && l.trim() != "---") {
        context.push(String::new());
        context.extend(section.iter().map(|l| (*l).to_owned()));
    }
    section.clear();
}

fn read_task<'a>(
    b: &mut PlanBuilder,
    src: SourceId,
    line: &Line<'a>,
    done: bool,
    item_text: &str,
    phase: &mut Phase,
    groups: &mut Groups,
) -> Open<'a> {
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let item = parse_item(item_text);
    let (id, title, parallel, labels) = match &item {
        Some(i) => (i.id.to_owned(), i.title, i.parallel, i.labels.clone()),
        None => (String::new(), item_text.trim(), false, Vec::new()),
    };
    let mut task = Task::new(id.clone(), model::one_line(title));
    let mut spans = TaskSpans::at(line_span);
    let at = |part: &str| {
        md::offset_in(line.text, part).map(|o| Span::new(src, line.start + o, line.start + o + part.len()))
    };
    spans.title = if title.is_empty() { Some(line_span) } else { at(title) };
    match &item {
        Some(i) => spans.id = at(i.id),
        None => b.warn(
            Diagnostic::error("missing-id", "this task has no `T` number")
                .at(Some(line_span))
                .help("start every task with its id: `- [ ] T014 [P] [US1] …`"),
        ),
    }
    if done {
        task.status = Status::Done;
    }
    spans.status = status_mark(line.text).map(|(o, l)| Span::new(src, line.start + o, line.start + o + l));
    task.milestone = phase.name.clone();

    // Groups: a `[P]` item joins the run of `[P]` items before it; any other item starts a group.
    // An item without an id cannot be waited for, so it leaves the groups as they are.
    let joins = parallel && groups.parallel;
    let waits_for = if joins { groups.previous.clone() } else { groups.current.clone() };
    let implicit_deps = waits_for.len();
    for dep in waits_for {
        task.depends_on.push(dep);
        spans.depends_on.push(line_span);
    }
    if !id.is_empty() {
        if !joins {
            groups.previous = std::mem::take(&mut groups.current);
        }
        groups.parallel = parallel;
    }
    for (first, last, off, len) in inline_deps(title) {
        let base = md::offset_in(line.text, title).unwrap_or(0) + off;
        for dep in std::iter::once(first).chain(last) {
            if !task.depends_on.contains(&dep) && dep != task.id {
                task.depends_on.push(dep);
                spans.depends_on.push(Span::new(src, line.start + base, line.start + base + len));
            }
        }
    }
    for (path, off, len) in paths_in(title) {
        let base = md::offset_in(line.text, title).unwrap_or(0) + off;
        if !task.files.contains(&path) {
            task.files.push(path);
            spans.files.push(Span::new(src, line.start + base, line.start + base + len));
        }
    }
    if !id.is_empty() {
        groups.current.push(id);
    }

    let mut header: Vec<String> = Vec::new();
    for label in &labels {
        let is_story = label.len() > 2 && label.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("us"));
        header.push(if is_story { format!("User story: {label}") } else { format!("Label: {label}") });
    }
    if let Some(s) = &phase.section {
        header.push(format!("Section: {s}"));
    }
    header.extend(phase.notes.iter().cloned());
    phase.last_task = Some(b.plan.tasks.len());
    let index = b.plan.tasks.len();
    b.push(task, spans);
    Open { index, lines: Vec::new(), header: header.join("\n"), heading: false, implicit_deps }
}

/// Ids named after "depends on", "after", "requires", "blocked by", "once" (or the same words in
/// Spanish, Portuguese, French, German and Chinese) in an item's text.
fn inline_deps(title: &str) -> Vec<(String, Option<String>, usize, usize)> {
    // ASCII lowercasing keeps byte positions.
    let lower = title.to_ascii_lowercase();
    let words = [
        "depends on",
        "depend on",
        "blocked by",
        "requires",
        "after",
        "once",
        "depende de",
        "depende solo de",
        "depende apenas de",
        "depende só de",
        "dependen de",
        "dependem de",
        "dépend de",
        "después de",
        "após",
        "nach",
        "abhängig von",
        "hängt von",
        "依赖于",
        "依赖",
        "取决于",
    ];
    let whole = |p: usize, w: &str| {
        let before_ok =
            lower.get(..p).and_then(|s| s.chars().last()).is_none_or(|c| !c.is_alphanumeric() || !w.is_ascii());
        let after_ok = lower
            .get(p + w.len()..)
            .and_then(|s| s.chars().next())
            .is_none_or(|c| !c.is_alphanumeric() || !w.is_ascii());
        before_ok && after_ok
    };
    // Japanese and Chinese write the word after the ids: `T004を通す` (make T004 pass),
    // `T003完了後` (after T003), `T003に依存`.
    let mut out: Vec<(String, Option<String>, usize, usize)> = Vec::new();
    for suffix in AFTER_SUFFIXES {
        for (p, _) in title.match_indices(suffix) {
            out.extend(refs_just_before(title, p).into_iter().filter(|r| !r.4).map(|(a, b, o, l, _)| (a, b, o, l)));
        }
    }
    let Some(pos) = words.iter().filter_map(|w| lower.match_indices(w).map(|(p, _)| p).find(|p| whole(*p, w))).min()
    else {
        return out;
    };
    let end = title.get(pos..).and_then(|r| r.find([')', ';', '）', '；'])).map_or(title.len(), |e| pos + e);
    let clause = title.get(pos..end).unwrap_or("");
    out.extend(id_refs(clause).into_iter().map(|(a, b, off, len)| (a, b, pos + off, len)));
    out
}

/// Paths named in an item's text, with their offsets: backticked paths, words with a `/` that
/// look like paths, and file names with a known extension (matched anywhere in the repository as
/// `**/<name>`). Full-width punctuation and other non-ASCII letters end a word that is not
/// backticked.
fn paths_in(text: &str) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let spans = md::code_spans(text);
    // Text outside code spans, as (offset, slice) pieces.
    let mut pieces: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    for (inner, off) in &spans {
        let w = inner.trim();
        let woff = md::offset_in(text, w).unwrap_or(*off);
        if let Some(p) = as_path(w.trim_end_matches([':', ',', ';']), true) {
            out.push((p, woff, w.len()));
        } else if is_command(w) {
            // A command's output file: `npm ls --json > baseline.json`.
            if let Some((p, o, l)) = redirect_target(w) {
                out.push((p, woff + o, l));
            }
        }
        // Everything from the opening backticks to the closing ones is the span.
        let open = text.get(..*off).map_or(*off, |s| s.trim_end_matches('`').len());
        let close = text.get(off + inner.len()..).map_or(0, |s| s.len() - s.trim_start_matches('`').len());
        if let Some(before) = text.get(at..open) {
            pieces.push((at, before));
        }
        at = off + inner.len() + close;
    }
    if let Some(rest) = text.get(at..) {
        pieces.push((at, rest));
    }
    for (base, piece) in pieces {
        for word in piece.split(|c: char| c.is_whitespace() || !c.is_ascii() || c == '`') {
            let w = word
                .trim_start_matches(['(', '"', '\'', '['])
                .trim_end_matches([')', ',', ';', ':', '"', '\'', ']', '.', '!', '?']);
            let w = w.trim_end_matches(['(', ')', ',', ';', ':', '.']);
            let Some(off) = md::offset_in(piece, w) else {
                continue;
            };
            if let Some(p) = as_path(w, false) {
                out.push((p, base + off, w.len()));
            } else if one_slash_folder(w) {
                // A folder without a trailing slash where the task works: `exists at
                // web/app and web/api`, `in services/auth`.
                let head = piece.get(..off).unwrap_or("").trim_end().to_ascii_lowercase();
                let after_place = ends_with_word(&head, &["at", "in", "under", "into"]);
                let listed = ends_with_word(&head, &["and"])
                    && out.last().is_some_and(|(q, o, l)| !q.is_empty() && o + l + 5 >= base + off && !q.contains('*'));
                if after_place || listed {
                    out.push((w.to_owned(), base + off, w.len()));
                }
            }
        }
    }
    out.sort_by_key(|(_, off, _)| *off);
    let kept = targets_only(text, &spans, out);
    let mut unique: Vec<(String, usize, usize)> = Vec::new();
    for f in &kept {
        // A bare name the item also writes with its folder (`（daily.yml）
        // (.github/workflows/daily.yml)`) is that file.
        let covered = f.0.strip_prefix("**/").is_some_and(|name| {
            kept.iter().any(|(q, _, _)| !q.starts_with("**/") && q.rsplit('/').next() == Some(name))
        });
        // A folder written without a slash before the file the item makes in it (`Create
        // apps/api package.json at \`/apps/api/package.json\``) says where that file is.
        let folder_of_file = !f.0.ends_with("/**")
            && !f.0.starts_with("**/")
            && !has_extension(&f.0)
            && kept.iter().any(|(q, _, _)| q.strip_prefix(f.0.as_str()).is_some_and(|r| r.starts_with('/')));
        // `Dockerfile` and `Dockerfile.ci` in one item: the kind of file, then the one made.
        let variant_named = f.0.strip_prefix("**/").is_some_and(|name| {
            BARE_FILES.contains(&name)
                && kept.iter().any(|(q, _, _)| {
                    q.rsplit('/').next().and_then(|l| l.strip_prefix(name)).is_some_and(|r| r.starts_with('.'))
                })
        });
        if !covered && !folder_of_file && !variant_named && !unique.iter().any(|(q, _, _)| *q == f.0) {
            unique.push(f.clone());
        }
    }
    unique
}

/// `sunny-recipes/web`: two lower-case names joined by one slash, one of them with a `-` or `_`
/// (unlike `and/or`, `read/write`).
fn one_slash_folder(word: &str) -> bool {
    let Some((a, b)) = word.split_once('/') else { return false };
    let name = |s: &str| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    name(a) && name(b) && (a.contains(['-', '_']) || b.contains(['-', '_']))
}

/// The file a command writes with `>` or `>>` (`npm ls --json > deps.json`): (path, offset in
/// the command, length). Redirections of a numbered stream (`2>`) and `/dev/null` are not files.
fn redirect_target(command: &str) -> Option<(String, usize, usize)> {
    let mut found = None;
    let mut words = command.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let target = match w {
            ">" | ">>" => words.peek().copied(),
            _ if w.starts_with('>') => Some(w.trim_start_matches('>')),
            _ => None,
        };
        let Some(t) = target.filter(|t| !t.is_empty() && !t.starts_with(['&', '/', '$'])) else { continue };
        let t = t.trim_matches(['"', '\'']);
        if let (Some(p), Some(off)) = (as_path(t, true), md::offset_in(command, t)) {
            found = Some((p, off, t.len()));
        }
    }
    found
}

/// Words (lower case) after which a file is cited, not worked on: `per data-model.md`,
/// `see contracts/api.md`.
const REFERENCE_WORDS: [&str; 57] = [
    "per",
    "see",
    "cf.",
    "according to",
    "described in",
    "defined in",
    "documented in",
    "specified in",
    "based on",
    "following",
    "refer to",
    "as in",
    "matching",
    "from the design in",
    "against",
    "required by",
    "allowed by",
    "permitted by",
    "defined by",
    "specified by",
    "described by",
    "mandated by",
    "listed in",
    "outlined in",
    "in accordance with",
    "consistent with",
    "compliant with",
    "conforming to",
    "conform to",
    "aligned with",
    "in line with",
    "as documented in",
    // The source of a translation (`README-ES.md … exact translation of README.md`).
    "translation of",
    "translated from",
    // Spanish, Portuguese, French, German, Chinese, Japanese.
    "según",
    "segun",
    "conforme",
    "ver",
    "véase",
    "consulte",
    "de acuerdo con",
    "a partir de",
    "segundo",
    "selon",
    "voir",
    "d'après",
    "gemäß",
    "gemäss",
    "laut",
    "siehe",
    "参见",
    "参考",
    "根据",
    "按照",
    "参照",
    "详见",
    "見る",
];

/// Japanese words after a path that cite it: `` `data-model.md` に従って `` (following),
/// `に基づいて` (based on), `を参照` (referring to).
const REFERENCE_AFTER: [&str; 6] = ["に従", "に基づ", "を参照", "を参考", "に準拠", "のとおり"];

/// Design documents of a spec-kit feature (`spec.md`, `quickstart.md`, `contracts/x.md` …),
/// written bare or under `specs/<feature>/`: what tasks read, not what they change.
fn is_design_doc(path: &str) -> bool {
    let rest = path.strip_prefix("**/").unwrap_or(path);
    let rest = match rest.strip_prefix("specs/").and_then(|r| r.split_once('/')) {
        Some((_, inner)) => inner,
        None => rest,
    };
    ["spec.md", "plan.md", "research.md", "data-model.md", "quickstart.md", "tasks.md"].contains(&rest)
        || rest.strip_prefix("contracts/").is_some_and(|c| {
            c.is_empty() || c == "**" || [".md", ".yaml", ".yml", ".json", ".graphql"].iter().any(|e| c.ends_with(e))
        })
}

/// Verbs whose object is checked or followed, not changed (`Run quickstart.md validation`).
const CHECK_VERBS: [&str; 11] =
    ["run", "execute", "validate", "verify", "check", "test", "review", "confirm", "walk", "follow", "perform"];

/// The parenthesis a spec-kit item may end with to name its files (`Description (file path)`):
/// its byte offset, when every word in it is a path.
fn trailing_file_list(text: &str) -> Option<usize> {
    let t = text.trim_end().trim_end_matches(['.', '。']);
    let inner_end = t.strip_suffix(')')?.len();
    let open = t.get(..inner_end)?.rfind('(')?;
    let inner = t.get(open + 1..inner_end)?;
    let words: Vec<&str> =
        inner.split([',', ' ', '、']).map(|w| w.trim_matches('`')).filter(|w| !w.is_empty()).collect();
    (!words.is_empty() && words.iter().all(|w| *w == "and" || as_path(w, true).is_some())).then_some(open)
}

/// Drops the paths of an item's text that are not files the task works on: documents it cites
/// (`per data-model.md`), the folder a command runs in (`` `pnpm install` in web/ ``), entries
/// written into an ignore file (`add dist/ to .gitignore`, `update .gitignore to ignore dist/`),
/// and sub-folders listed relative to the folder just named (`lib/x/ directory structure:
/// data/models/, …`), which that folder's glob already covers.
fn targets_only(
    text: &str,
    spans: &[(&str, usize)],
    found: Vec<(String, usize, usize)>,
) -> Vec<(String, usize, usize)> {
    let lower = text.to_ascii_lowercase();
    if lower.len() != text.len() {
        // Byte positions below are only trusted when lowercasing keeps them.
        return found;
    }
    let ignore_file = found.iter().any(|(p, _, _)| is_ignore_file(p));
    let test_item = found.iter().any(|(p, _, _)| is_test_path(p))
        && {
            let head = lower.get(..found.first().map_or(0, |f| f.1)).unwrap_or("");
            found.first().is_some_and(|(p, _, _)| is_test_path(p))
                || head
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .any(|w| ["test", "tests", "teste", "testes"].contains(&w))
        }
        && !lower.contains("implement");
    let run_item = {
        let t = lower.trim_start();
        ["run ", "execute ", "rodar ", "executar ", "ejecutar ", "lancer ", "exécuter "]
            .iter()
            .any(|w| t.strip_prefix(w).is_some_and(|r| r.starts_with('`')))
    };
    // `Change directory to \`catalog\` and run \`flutter pub get\``: the folder is where the
    // command runs.
    let cd_item = {
        let t = lower.trim_start();
        (t.starts_with("change directory") || t.starts_with("cd ")) && spans.iter().any(|(c, _)| is_command(c))
    };
    // `Implement X … in src/x.rs`: the file named after "in" is the one worked on; paths named
    // before it are what the program handles at run time (`version extraction from Cargo.toml`,
    // `merge for .vscode/settings.json`, `(memory/ → .stencil/memory/)`, `(see X in cli.py)`).
    let implement_target = if lower.trim_start().starts_with("implement") {
        found.iter().find(|(p, off, _)| {
            has_extension(p) && ends_with_word(lower.get(..*off).unwrap_or("").trim_end_matches(['`', ' ']), &["in"])
        })
    } else {
        None
    }
    .map(|(_, off, _)| *off);
    // Paths in a parenthesis that follows a folder are its sub-folders: `在 notes-svc/ 下创建
    // 目录骨架（cmd/server/, internal/{auth,notes}）`.
    let sub_folders: Option<(usize, usize)> =
        found.first().filter(|(p, _, _)| p.ends_with("/**")).and_then(|(_, off, len)| {
            let rest = text.get(off + len..)?;
            let open = rest.find(['(', '（'])?;
            let gap = rest.get(..open)?;
            if gap.contains(['.', ';', '。']) || gap.contains('/') {
                return None;
            }
            let close = rest.get(open..)?.find([')', '）'])?;
            Some((off + len + open, off + len + open + close))
        });
    // `Description (file path)`: the final parenthesis names the files.
    let file_list = trailing_file_list(text);
    // An item whose work is checking something (`Verify …`, `Contrôler …`).
    let checking_item = lower.split_whitespace().next().is_some_and(|w| {
        CHECK_VERBS.contains(&w)
            || ["contrôler", "vérifier", "valider", "exécuter", "lancer", "verificar", "validar", "ejecutar", "prüfen"]
                .contains(&w)
    });
    // Where the first ignore file is named: entries in a parenthesis after it are its
    // patterns (`Create .gitignore with Rails patterns (.env, log/, tmp/)`).
    let ignore_at = found.iter().find(|(p, _, _)| is_ignore_file(p)).map(|(_, o, _)| *o);
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut previous_cited = false;
    let mut previous_ignored = false;
    let mut parent: Option<(usize, String)> = None; // end of a folder followed by `:`, its glob
    let mut previous_end = 0;
    let all_found = found.clone();
    for (path, off, len) in found {
        let before = lower.get(..off).unwrap_or("").trim_end_matches(['`', '(', '"', '\'', '[', ' ']);
        if implement_target.is_some_and(|t| off < t) || cd_item && path.ends_with("/**") {
            continue;
        }
        // Files with an extension there are files made in the folder (`(bug.yml, idea.yml)`).
        if sub_folders.is_some_and(|(o, c)| off > o && off < c) && !has_extension(&path) {
            continue;
        }
        // A parenthesis open before this path (not closed yet).
        let raw_before = lower.get(..off).unwrap_or("");
        let open_paren = raw_before.rfind(['(']).filter(|p| !raw_before.get(*p..).unwrap_or("").contains(')'));
        if let (Some(p), Some(i)) = (open_paren, ignore_at) {
            // The ignore file is the last path before the parenthesis.
            // … and nothing else is named between them (`Add .gitignore and the settings (x.yml)`).
            let gap = lower.get(i..p).unwrap_or("");
            let between = all_found.iter().any(|(_, o, _)| *o > i && *o < p)
                || gap.contains(" and ")
                || gap.contains(',')
                || gap.contains(" & ");
            if i < p && !between && !is_ignore_file(&path) {
                continue;
            }
        }
        // `in \`test/\` source set`: a Gradle source set, not a folder of the repository.
        if path.ends_with("/**")
            && lower.get(off + len..).is_some_and(|r| r.trim_start_matches('`').trim_start().starts_with("source set"))
        {
            continue;
        }
        // In a parenthesis that starts with "see": cited (`(see \`LIMIT\` in cli.py)`).
        let paren = before.rfind('(').filter(|p| !before.get(*p..).unwrap_or("").contains(')'));
        if paren.is_some_and(|p| before.get(p + 1..).unwrap_or("").trim_start().starts_with("see ")) {
            continue;
        }
        // A sentence that keeps paths as they are (`Keep .github/, Dockerfile, README.md.`).
        let sentence = before.rfind(". ").map_or(before, |p| before.get(p + 2..).unwrap_or(""));
        let sentence = format!("{} ", sentence.trim_start());
        if ["keep ", "leave ", "preserve ", "do not touch "].iter().any(|w| sentence.starts_with(w)) {
            continue;
        }
        // A folder a command written without backticks acts on (`helm lint charts/x/`).
        if !has_extension(&path) && !path.starts_with("**/") {
            let words: Vec<&str> = before.split_whitespace().collect();
            if words.len() >= 2 {
                let cmd = words.get(words.len() - 2..).map(|w| w.join(" ")).unwrap_or_default();
                if is_command(&cmd) && !text.get(..off).unwrap_or("").trim_end().ends_with('`') {
                    continue;
                }
            }
        }
        // The item's final file list (`Description (file path)`) names its files: a folder
        // named before it that holds one of them is where that file is.
        let heads_list = lower.get(off + len..).is_some_and(|rest| {
            let rest = rest.trim_start_matches('`');
            rest.starts_with(':') || rest.split(':').next().is_some_and(|g| g.trim().len() <= 24 && rest.contains(':'))
        });
        // Unless that parenthesis lists the folder's own sub-folders (`docker/ 디렉토리 구조 생성
        // (docker/scripts/, docker/config/)`).
        let lists_sub_folders = sub_folders.is_some_and(|(o, _)| {
            file_list.is_some_and(|f| lower.get(f..o).is_some_and(|g| g.trim().is_empty()) || f == o)
        });
        if file_list.is_some_and(|open| off < open) && path.ends_with("/**") && !heads_list && !lists_sub_folders {
            let folder = path.trim_end_matches("**");
            if all_found
                .iter()
                .any(|(q, o, _)| file_list.is_some_and(|open| *o > open) && q.starts_with(folder) && *q != path)
            {
                continue;
            }
        }
        let between = lower.get(previous_end.min(off)..off).unwrap_or("");
        let joined = previous_end > 0 && is_list_joint(between);
        previous_end = off + len;
        // Cited documents, and the ones listed right after a cited one.
        // A section sign after the path cites a part of it: `(data-model.md §Kinds)`.
        let section = lower.get(off + len..).is_some_and(|r| r.trim_start_matches(['`', ' ']).starts_with('§'));
        let after = text.get(off + len..).unwrap_or("").trim_start_matches(['`', ' ', ')', '）']);
        let cited_after = REFERENCE_AFTER.iter().any(|w| after.starts_with(w));
        // A design document of the feature is read, not changed: after "from" or "using"
        // (`scenarios from quickstart.md`), and as the object of a checking verb (`Run
        // quickstart.md validation`, `Follow the quickstart.md steps`).
        // `Run quickstart.md validation and update if needed`: it is written too.
        let updated = lower.get(off + len..).is_some_and(|a| a.contains(" and update") || a.contains(", update"));
        let design_doc = is_design_doc(&path)
            && !updated
            && (ends_with_word(before, &["from", "using"])
                || ends_with_word(before.strip_suffix(" the").unwrap_or(before), &CHECK_VERBS));
        // A file the program parses or reads (`解析 configs/app.yaml 到结构体`).
        let read = ends_with_word(before, &["parse", "parses", "parsing", "reads", "解析", "读取", "読み込み"]);
        // The source a file is copied or moved from (`Copy x.yaml from config/ to src/`).
        // Also what a task installs or migrates from (`Install dependencies from
        // requirements.txt`, `Migrate x.py from old/utils/ to common/x.py`).
        let source = ["copy ", "move ", "copia ", "mover ", "install ", "migrate ", "import ", "load "]
            .iter()
            .any(|w| lower.trim_start().starts_with(w))
            && ends_with_word(before, &["from"]);
        // What a file imports (`import \`Word\` and the text from \`src/data/text.ts\``).
        let imported = ends_with_word(before, &["from"])
            && before.rsplit([';', '—']).next().is_some_and(|c| {
                c.split(|ch: char| !ch.is_ascii_alphabetic()).any(|w| w == "import" || w == "imports")
            });
        // In an item whose work is running a command, what is checked after it (`Run \`npm run
        // build\` — verify \`.exe\` appears in \`output/\``, `Ejecutar \`x\` y confirmar que
        // \`src/t.ts\` no cambia`): the command writes it, the task does not.
        let checked_after_run = run_item
            && before.split(|ch: char| !ch.is_ascii_alphabetic()).any(|w| {
                ["verify", "confirm", "check", "ensure", "confirmar", "verificar", "comprobar", "vérifier"].contains(&w)
            });
        // A script a checking task runs (`Verify A matches B using \`tools/check.rb\``,
        // `Contrôler la structure avec \`check.ps1\``): used, not changed.
        let tool = checking_item
            && is_script(&path)
            && ends_with_word(before, &["using", "with", "via", "avec", "mit", "con", "com", "usando"]);
        let cited = ends_with_word(before, &REFERENCE_WORDS)
            || read
            || source
            || previous_cited && joined
            || section
            || cited_after
            || design_doc
            || imported
            || checked_after_run
            || tool;
        previous_cited = cited;
        if !cited {
            previous_ignored = previous_ignored && joined;
        }
        if cited {
            continue;
        }
        // A bare name in a parenthetical note before the item's final file list
        // (`READMEに起動手順追記（start.ps1） (README.md)`) is what the text is about.
        let in_note = text.get(..off).is_some_and(|b| b.trim_end_matches('`').ends_with(['(', '（']))
            && text.get(off + len..).is_some_and(|a| a.trim_start_matches('`').starts_with([')', '）']));
        if file_list.is_some_and(|open| off < open) && path.starts_with("**/") && in_note {
            continue;
        }
        // Files a test item exercises or checks: in an item about writing tests, only the test
        // files are worked on (`Add tests for an existing AGENTS.md in tests/test_init.py`).
        if test_item && !is_test_path(&path) {
            continue;
        }
        // What a command acts on, in an item whose work is running it (`Run \`pnpm install\`
        // to link \`libs/widgets\``): a folder named there is not written by the task.
        if run_item && !path.ends_with("/**") && !has_extension(&path) && !path.starts_with("**/") {
            continue;
        }
        // The folder a command runs in.
        if path.ends_with("/**") && runs_in(text, spans, before) {
            continue;
        }
        // Entries of an ignore file.
        if ignore_file && !is_ignore_file(&path) {
            let after = lower.get(off + len..).unwrap_or("").trim_start_matches(['`', ' ']);
            let clause_start = before.rfind(['.', ';', '(']).map_or(0, |p| p + 1);
            let clause = before.get(clause_start..).unwrap_or("");
            // `Verify .env is in .gitignore`, `.env is listed in .gitignore`.
            let after = ["is listed ", "are listed ", "is ", "are "]
                .iter()
                .find_map(|w| after.strip_prefix(w))
                .unwrap_or(after);
            let to_ignore_file = ["to ", "in ", "into "].iter().any(|w| {
                after.strip_prefix(w).is_some_and(|rest| {
                    let next =
                        rest.trim_start_matches(['`', ' ']).split(|c: char| c.is_whitespace() || c == '`').next();
                    next.is_some_and(|n| is_ignore_file(n.trim_end_matches(['.', ',', ';', ')'])))
                })
            });
            // `ignore dist/ and build/`: the entries follow the verb, in a list
            // ("ignore patterns in src/x.py" names no entry).
            let after_ignore = ["ignore", "exclude"].iter().any(|w| {
                clause.rfind(w).is_some_and(|p| {
                    // Only entries (words with `/`, `.` or `*`) and list words between.
                    let gap = clause.get(p + w.len()..).unwrap_or("");
                    gap.split_whitespace()
                        .map(|g| g.trim_matches(['`', ',', ':']))
                        .all(|g| g.is_empty() || ["and", "or", "&", "+"].contains(&g) || g.contains(['/', '.', '*']))
                })
            }) || previous_ignored && joined;
            if to_ignore_file || after_ignore && !path.starts_with("**/.") {
                previous_ignored = true;
                continue;
            }
        }
        // Sub-folders relative to the folder just named.
        if let Some((end, glob)) = &parent {
            let gap = lower.get(*end..off).unwrap_or("");
            let relative = !path.starts_with("**/")
                && !path.starts_with(glob.trim_end_matches("**"))
                && !path.split('/').next().is_some_and(|f| SOURCE_DIRS.contains(&f) || f.starts_with('.'));
            if relative && !gap.contains(['.', ';']) {
                continue;
            }
            parent = None;
        }
        if path.ends_with("/**")
            && lower.get(off + len..).is_some_and(|rest| {
                let rest = rest.trim_start_matches('`');
                rest.starts_with(':')
                    || rest.split(':').next().is_some_and(|g| {
                        g.trim().len() <= 24 && !g.contains(['.', ',', '/', ';']) && rest.contains(':')
                    })
            })
        {
            parent = Some((off + len, path.clone()));
        }
        previous_ignored = false;
        out.push((path, off, len));
    }
    // A design document of the feature named in an item that works on other files is what the
    // work follows (`plan.md のソースコード構造に従い`, `(research.md R2)`, `per data-model.md`).
    // Named by its short name, the feature's own document is cited; a document the item
    // changes is written with its path (`補充 notes-svc/README.md 与 specs/001-x/quickstart.md`).
    // Not in an item whose work is checking (`Check that the quickstart.md links in README.md …`).
    let cited_doc = |p: &str| is_design_doc(p) && !p.starts_with("specs/") && !p.contains("/specs/");
    if !checking_item && out.iter().any(|(p, _, _)| !is_design_doc(p)) {
        out.retain(|(p, _, _)| !cited_doc(p));
    }
    out
}

/// Whether `text` ends with one of `words` as whole words.
fn ends_with_word(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        text.strip_suffix(w).is_some_and(|rest| rest.is_empty() || rest.ends_with(|c: char| !c.is_ascii_alphanumeric()))
    })
}

/// The text between two paths of one list: `, `, ` and `, ` or `.
fn is_list_joint(between: &str) -> bool {
    let t = between.trim_matches(|c: char| c.is_whitespace() || c == '`');
    ["", ",", "and", ", and", "or", ", or", "/", "&"].contains(&t)
}

/// A test file or a file in a test folder (`tests/unit/x.py`, `src/a.test.ts`, `x_test.go`,
/// `__tests__/`, `test_x.py`, `x.spec.ts`).
fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    lower.split('/').any(|d| ["test", "tests", "__tests__", "spec", "e2e", "fixtures"].contains(&d))
        || name.starts_with("test_")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.contains("_test.")
        || name.starts_with("conftest")
}

/// Whether the last part of a path has a known file extension or is a known file name.
fn has_extension(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    BARE_FILES.contains(&last)
        || is_dotfile(last)
        || last
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// `.gitignore`, `.dockerignore` …, with or without a folder.
fn is_ignore_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with('.') && name.ends_with("ignore")
}

/// Whether a folder named right after `before` is where a command runs: `` `pnpm install` in
/// web/ ``, ``Run `cargo test` from server/``.
fn runs_in(text: &str, spans: &[(&str, usize)], before: &str) -> bool {
    let Some(head) = ["in", "from", "inside", "within"]
        .iter()
        .find_map(|w| before.strip_suffix(w).filter(|r| r.is_empty() || r.ends_with(' ')))
    else {
        return false;
    };
    let head = head.trim_end();
    // Right after a backticked command.
    if head.ends_with('`') {
        let end = head.len();
        return spans.iter().any(|(c, off)| {
            let close = off + c.len();
            text.get(close..end).is_some_and(|s| s.chars().all(|ch| ch == '`')) && is_command(c.trim())
        });
    }
    false
}

/// Hidden files named without a folder (`.env.local`, `.prettierrc`): `.env` and its variants,
/// `rc` files and the usual tool files.
fn is_dotfile(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else { return false };
    if rest.is_empty() || !rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    if !rest.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return false;
    }
    let stem = rest.split('.').next().unwrap_or("");
    stem == "env"
        || stem.ends_with("rc")
        || stem.ends_with("ignore")
        || ["editorconfig", "gitattributes", "nvmrc", "tool-versions", "python-version", "node-version", "gitmodules"]
            .contains(&stem)
}

/// `a/**init**.py` → `a/__init__.py`: a path part written `**name**` (bold in markdown) with
/// a word between the stars is a Python dunder name whose underscores became bold markers.
fn unmangle_dunder(word: &str) -> String {
    word.split('/')
        .map(|part| {
            let Some(inner) = part.strip_prefix("**") else { return part.to_owned() };
            let Some((name, rest)) = inner.split_once("**") else { return part.to_owned() };
            if !name.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && (rest.is_empty() || rest.starts_with('.'))
            {
                format!("__{name}__{rest}")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A script a task may run (`tools/check.rb`, `check-prerequisites.ps1`).
fn is_script(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    last.rsplit_once('.').is_some_and(|(_, e)| ["rb", "py", "sh", "ps1", "pl", "bash", "js", "mjs", "ts"].contains(&e))
}

/// Brackets in a path written in a plan are literal folder names (Next.js `[id]`,
/// `[...slug]`), not glob classes: they are escaped so that the file pattern matches that
/// exact path.
fn escape_brackets(path: &str) -> String {
    if !path.contains(['[', ']']) {
        return path.to_owned();
    }
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c == '[' || c == ']' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn as_path(word: &str, ticked: bool) -> Option<String> {
    // A word starting with `/` is an API route (`GET /albums`), not a repository path, unless it
    // starts with a usual source folder other than `api` (`/frontend/app`), or is a backticked
    // file with a known extension (`/package.json`, `/.env.example`: the repository root).
    let word = match word.strip_prefix('/') {
        Some(rest) => {
            let first = rest.split('/').next().unwrap_or("");
            let root_file = ticked && first != "api" && !rest.starts_with('/') && has_extension(rest);
            if !root_file && (first == "api" || !SOURCE_DIRS.contains(&first) || !rest.contains('/')) {
                return None;
            }
            if root_file && !rest.contains('/') {
                return as_path(rest, true).map(|p| p.strip_prefix("**/").map(str::to_owned).unwrap_or(p));
            }
            rest
        }
        None => word,
    };
    // `./requirements.txt`: a file at the repository root.
    if let Some(rest) = word.strip_prefix("./").filter(|r| !r.contains(['/', '*']) && !r.is_empty()) {
        return as_path(rest, ticked).map(|p| p.strip_prefix("**/").map(str::to_owned).unwrap_or(p));
    }
    // A package (`@acme/runner`), not a path; nor a home-folder path (`~/.config/x`), which the
    // program reads or writes at run time, outside the repository.
    if word.is_empty() || word.contains("://") || word.starts_with('@') || word.starts_with('~') {
        return None;
    }
    // A Go module (`modernc.org/sqlite`, `github.com/spf13/cobra`): its first part is a domain.
    if let Some((first, _)) = word.split_once('/') {
        if let Some((host, tld)) = first.rsplit_once('.') {
            if !host.is_empty()
                && ["org", "com", "io", "net", "dev", "in", "co", "cc", "me", "xyz"].contains(&tld)
                && !word.starts_with('.')
            {
                return None;
            }
        }
    }
    // Words such as `p50/p95/p99` or `v1/v2`: a letter and a number in every part.
    if word.contains('/')
        && word.split('/').all(|part| {
            let mut c = part.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.as_str().len() <= 3
                && !c.as_str().is_empty()
                && c.as_str().chars().all(|d| d.is_ascii_digit())
        })
    {
        return None;
    }
    // `deps.py::get_user()`: the path, without the symbol.
    let word = word.split_once("::").map_or(word, |(p, _)| p);
    // `src/main/java/.../dao/X.java`: an ellipsis folder stands for the folders left out.
    if word.contains('/') && word.split('/').any(|part| part == "..." || part == "…") {
        let parts: Vec<&str> =
            word.split('/').map(|part| if part == "..." || part == "…" { "**" } else { part }).collect();
        if parts.first().is_some_and(|f| *f != "**") {
            return as_path(&parts.join("/"), ticked);
        }
        return None;
    }
    // A path under a run-time placeholder (`{WORKING_DIR}/database.sqlite`) is where the
    // program writes when it runs, not a repository file.
    if word.strip_prefix('{').and_then(|r| r.split_once('}')).is_some_and(|(name, rest)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && rest.starts_with('/')
    }) {
        return None;
    }
    // `settings/**init**.py`: markdown ate the underscores of `__init__.py`.
    if word.contains("/**") && word.contains("**.") {
        let fixed = unmangle_dunder(word);
        if fixed != word {
            return as_path(&fixed, ticked);
        }
    }
    // Paths relative to some other file (`extends ../../tsconfig.base.json`) and globs of
    // config content (`content: ./src/**/*.{ts,tsx}`) are not repository paths.
    if word.starts_with("../") || word.starts_with("./") && word.contains('*') {
        return None;
    }
    // Build outputs are produced, not written: `dist/index.html`, `node_modules/x`.
    if ["dist", "node_modules", ".next"].contains(&word.split('/').next().unwrap_or("")) && word.contains('/') {
        return None;
    }
    let path_char = |c: char| c.is_alphanumeric() || "/._-*[]{}@+~()".contains(c);
    // Commas only inside a brace list (`internal/{cli,config}/`).
    let mut depth = 0usize;
    let mut commas_ok = true;
    for c in word.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => commas_ok = false,
            _ => {}
        }
    }
    if !commas_ok
        || !word.chars().all(|c| path_char(c) || c == ',')
        || task_id_len(word).is_some_and(|l| l == word.len())
    {
        return None;
    }
    // Parentheses only as whole folder names (Next.js route groups: `app/(auth)/login`).
    if word.contains(['(', ')'])
        && !word.split('/').all(|part| !part.contains(['(', ')']) || part.starts_with('(') && part.ends_with(')'))
    {
        return None;
    }
    let clean = word.trim_start_matches("./");
    let last = clean.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let has_ext = last.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
            && !NOT_FILES.contains(&last.to_ascii_lowercase().as_str())
    });
    // License and notice files: `LICENSE-MIT`, `LICENSE-APACHE`, `LICENSE.txt`.
    let license = ["LICENSE-", "LICENCE-", "COPYING-"].iter().any(|p| {
        last.strip_prefix(p).is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    });
    // `Dockerfile.ci`, `Makefile.local`: a variant of a known bare file.
    let variant = last.split_once('.').is_some_and(|(stem, rest)| {
        BARE_FILES.contains(&stem) && !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
    });
    let bare_file = BARE_FILES.contains(&last) || is_dotfile(last) || license || variant;
    if clean.contains('/') {
        let first = clean.split('/').next().unwrap_or("");
        let slashes = clean.matches('/').count();
        let dot_dir = first.len() > 1 && first.starts_with('.') && first != "..";
        let pathy = has_ext
            || bare_file
            || clean.ends_with('/')
            || SOURCE_DIRS.contains(&first)
            || ticked
            || slashes >= 2
            || dot_dir;
        // Files are globs: a folder stands for everything below it.
        let literal = escape_brackets(clean);
        let glob = if clean.ends_with('/') { format!("{literal}**") } else { literal };
        return pathy.then_some(glob);
    }
    // A bare name with placeholders or wildcards (`YYYY-MM-DD_{MODEL}_result.txt`, `*.log`,
    // `<name>.md`) or an `@` (`pkg@1.2.0.tgz`) is a pattern or a version, not a file.
    if clean.contains(['{', '}', '*', '?', '<', '>', '@']) || clean.contains("YYYY") {
        return None;
    }
    (has_ext || bare_file).then(|| format!("**/{}", escape_brackets(clean)))
}

/// A heading that is a task (`T001: Title`, `✅ T002 Title`, `T003 Title ✅`): whether it is
/// marked done, and its text from the id on.
fn heading_item(text: &str) -> Option<(bool, &str)> {
    let (done_before, t) = md::strip_done_mark(text);
    let t = t.trim();
    let (done_after, t) =
        match ["✅", "✔️", "✔", "✓", "(done)", "(DONE)", "[x]", "[X]"].iter().find_map(|m| t.strip_suffix(m)) {
            Some(rest) => (true, rest.trim_end()),
            None => (false, t),
        };
    parse_item(t).filter(|i| !i.title.is_empty())?;
    Some((done_before || done_after, t))
}

/// Where the checkbox mark of an item line is (`[x]`), as (offset, length).
fn status_mark(line: &str) -> Option<(usize, usize)> {
    let item = md::bullet(line)?;
    if !item.starts_with('[') {
        return None;
    }
    let close = item.find(']')?;
    Some((md::offset_in(line, item)?, close + 1))
}

/// A field of a task's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Files,
    DependsOn,
    Verify,
    Acceptance,
    Status,
}

fn field_kind(key: &str) -> Option<Field> {
    let k = key.trim().trim_end_matches(':').to_lowercase().replace(['_', '-'], " ");
    let k = k.trim();
    Some(match k {
        "files" | "file" | "file(s)" | "files affected" | "affected files" | "files to create" | "files to modify"
        | "files changed" | "file paths" | "paths" | "path" | "file path" | "location" | "deliverables"
        | "deliverable" | "output files" => Field::Files,
        "depends on" | "depends" | "dependencies" | "dependency" | "deps" | "blocked by" | "requires"
        | "prerequisites" => Field::DependsOn,
        "verify" | "verification" | "test" | "tests" | "test command" | "validation" | "validate" | "run" => {
            Field::Verify
        }
        "acceptance"
        | "acceptance criteria"
        | "done when"
        | "success criteria"
        | "acs"
        | "ac"
        | "definition of done"
        | "dod" => Field::Acceptance,
        "status" => Field::Status,
        _ => return None,
    })
}

/// Whether a field's value means "nothing".
fn is_none(value: &str) -> bool {
    let v = value.trim().trim_matches(['*', '_', '`']).trim().to_lowercase();
    v.is_empty()
        || ["none", "-", "—", "n/a", "na", "nothing", "无", "無"].contains(&v.as_str())
        || v.starts_with("none ")
        || v.starts_with("none (")
        || v.starts_with("none,")
        || v.starts_with("none.")
}

/// What a status value says: done, pending, or unknown.
fn status_value(value: &str) -> Option<bool> {
    let v = value.trim().trim_matches('*').trim().to_lowercase();
    if v.starts_with("[x]") || v.contains('✅') || v.starts_with('✓') || v.starts_with('✔') {
        return Some(true);
    }
    if v.starts_with("[ ]") || v.is_empty() {
        return Some(false);
    }
    let word = v.split(|c: char| !c.is_alphanumeric() && c != ' ').next().unwrap_or("").trim();
    match word {
        "done" | "complete" | "completed" | "finished" | "closed" | "merged" | "pass" | "passed" => Some(true),
        "pending" | "todo" | "to do" | "not started" | "open" | "in progress" | "blocked" | "planned" | "ready" => {
            Some(false)
        }
        _ => None,
    }
}

/// A shell command written in a plan: its first word is a program planrun knows.
fn is_command(text: &str) -> bool {
    crate::import::commands::first_program(text).is_some_and(crate::import::commands::is_program)
}

/// Looks like a command even if its program is not one planrun knows: two or more words, the
/// first a plain lower-case name.
fn looks_like_command(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("");
    words.next().is_some()
        && !first.is_empty()
        && first.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c))
        && !first.contains('/')
}

/// Reads a task's body: field lines (`**Files**:`, `Depends on:`, `Verify:`, `Acceptance
/// Criteria:`, `Status:`), with the list under a field whose value is empty; the rest is the
/// description.
fn close(b: &mut PlanBuilder, src: SourceId, open: Option<Open<'_>>) {
    let Some(o) = open else { return };
    let mut description: Vec<&str> = Vec::new();
    let mut desc_span: Option<(usize, usize)> = None;
    let mut files: Vec<(String, Span)> = Vec::new();
    let mut deps: Option<Vec<(String, Span)>> = None;
    let mut verify: Vec<(String, Span)> = Vec::new();
    let mut acceptance: Vec<(String, Span)> = Vec::new();
    let mut status: Option<(bool, Span)> = None;
    let mut warnings: Vec<Diagnostic> = Vec::new();
    // The field whose list is being read, and the indentation of its line.
    let mut list: Option<(Field, usize)> = None;
    let mut list_under_plain_line = false;
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let span_of = |line: &Line<'_>, part: &str| {
        let o = md::offset_in(line.text, part).unwrap_or(0);
        Span::new(src, line.start + o, line.start + o + part.len())
    };
    for line in &o.lines {
        let text = line.text;
        if text.trim().is_empty() {
            if !line.in_fence {
                description.push(text);
            }
            continue;
        }
        // A fenced block under a `Verify:` field: its command lines.
        if line.in_fence {
            if let Some((Field::Verify, _)) = list {
                let t = text.trim();
                if md::fence_of(t).is_none() && !t.starts_with('#') && is_command(t) {
                    verify.push((t.trim_start_matches("$ ").to_owned(), span_of(line, t)));
                    continue;
                }
                if md::fence_of(t).is_some() {
                    continue;
                }
            }
            description.push(text);
            continue;
        }
        if let Some((field, indent)) = list {
            // The list under a field: more indented lines, or bullets at the same indentation
            // under a field line that is not itself a bullet (`**Acceptance**:` then `- [ ] …`).
            let under = indent_of(text) > indent
                || indent_of(text) == indent && md::bullet(text).is_some() && list_under_plain_line;
            if under || (field == Field::Verify && md::fence_of(text.trim()).is_some()) {
                if md::fence_of(text.trim()).is_some() {
                    continue;
                }
                let item = md::bullet(text).unwrap_or(text.trim());
                let (ticked, item) = match md::checkbox(text) {
                    Some((t, rest)) => (t, rest),
                    None => (false, item),
                };
                let _ = ticked;
                read_field(
                    field,
                    item,
                    line,
                    src,
                    &mut files,
                    &mut deps,
                    &mut verify,
                    &mut acceptance,
                    &mut status,
                    &mut warnings,
                );
                continue;
            }
            list = None;
        }
        let parsed = md::field(text).and_then(|(k, v, _)| field_kind(k).map(|f| (f, v)));
        if let Some((field, value)) = parsed {
            list_under_plain_line = md::bullet(text).is_none() && value.trim().is_empty();
            if value.trim().is_empty() {
                list = Some((field, indent_of(text)));
                if field == Field::DependsOn && deps.is_none() {
                    deps = Some(Vec::new());
                }
            } else {
                read_field(
                    field,
                    value,
                    line,
                    src,
                    &mut files,
                    &mut deps,
                    &mut verify,
                    &mut acceptance,
                    &mut status,
                    &mut warnings,
                );
                // A field written with a value may still have a list under it.
                list = Some((field, indent_of(text)));
            }
            continue;
        }
        description.push(text);
        let end = line.start + text.len();
        desc_span = Some(desc_span.map_or((line.start, end), |(s, _)| (s, end)));
    }
    for w in warnings {
        b.warn(w);
    }
    let body = model::block(&dedent(&description));
    let description = match (o.header.is_empty(), body.is_empty()) {
        (true, _) => body,
        (false, true) => o.header,
        (false, false) => format!("{body}\n\n{}", o.header),
    };
    let (Some(task), Some(spans)) = (b.plan.tasks.get_mut(o.index), b.task_spans.get_mut(o.index)) else { return };
    task.description = description;
    spans.description = desc_span.map(|(s, e)| Span::new(src, s, e));
    for (f, span) in files {
        if !task.files.contains(&f) {
            task.files.push(f);
            spans.files.push(span);
        }
    }
    if let Some(deps) = deps {
        // A dependencies field states the task's dependencies: it replaces the list's order.
        let drop = o.implicit_deps.min(task.depends_on.len()).min(spans.depends_on.len());
        task.depends_on.drain(..drop);
        spans.depends_on.drain(..drop);
        for (d, span) in deps {
            if d != task.id && !task.depends_on.contains(&d) {
                task.depends_on.push(d);
                spans.depends_on.push(span);
            }
        }
    }
    for (v, span) in verify {
        task.verify.push(v);
        spans.verify.push(span);
    }
    for (a, span) in acceptance {
        task.acceptance.push(a);
        spans.acceptance.push(span);
    }
    if let Some((done, span)) = status {
        task.status = if done { Status::Done } else { Status::Pending };
        spans.status = Some(span);
    }
}

/// Reads one field value (or one item of a field's list) into the task's parts.
#[allow(clippy::too_many_arguments)]
fn read_field(
    field: Field,
    value: &str,
    line: &Line<'_>,
    src: SourceId,
    files: &mut Vec<(String, Span)>,
    deps: &mut Option<Vec<(String, Span)>>,
    verify: &mut Vec<(String, Span)>,
    acceptance: &mut Vec<(String, Span)>,
    status: &mut Option<(bool, Span)>,
    warnings: &mut Vec<Diagnostic>,
) {
    let base = md::offset_in(line.text, value).unwrap_or(0);
    let at = |off: usize, len: usize| Span::new(src, line.start + base + off, line.start + base + off + len);
    let whole = at(0, value.len());
    match field {
        Field::Files => {
            let found = paths_in(value);
            if found.is_empty() && !is_none(value) {
                warnings.push(
                    Diagnostic::warning(
                        "unread-file",
                        format!("files entry `{}` names no path planrun can read", model::one_line(value)),
                    )
                    .at(Some(whole))
                    .help("write each file as a path in backticks: `src/x.ts`"),
                );
            }
            for (p, off, len) in found {
                files.push((p, at(off, len)));
            }
        }
        Field::DependsOn => {
            let list = deps.get_or_insert_with(Vec::new);
            if is_none(value) {
                return;
            }
            let refs = id_refs(value);
            if refs.is_empty() {
                warnings.push(
                    Diagnostic::warning(
                        "unread-dependency",
                        format!("dependencies entry `{}` names no task id", model::one_line(value)),
                    )
                    .at(Some(whole))
                    .help("name the tasks by id: `Dependencies: T001, T002`"),
                );
            }
            for (first, last, off, len) in refs {
                // Ranges are expanded once every task is known; here only their ends are kept.
                match (last, id_number(&first)) {
                    (Some(last), Some(lo)) => {
                        let prefix: String = first.chars().take_while(|c| !c.is_ascii_digit()).collect();
                        let width = first.len() - prefix.len();
                        let hi = id_number(&last).unwrap_or(lo);
                        if hi >= lo && hi - lo <= 200 {
                            for n in lo..=hi {
                                list.push((format!("{prefix}{n:0width$}"), at(off, len)));
                            }
                        }
                    }
                    _ => list.push((first, at(off, len))),
                }
            }
        }
        Field::Verify => {
            let spans = md::code_spans(value);
            let commands: Vec<(&str, usize)> = spans.iter().copied().filter(|(c, _)| is_command(c)).collect();
            for (c, off) in &commands {
                verify.push((c.trim().to_owned(), at(*off, c.len())));
            }
            if commands.is_empty() {
                if let Some((c, off)) = spans.iter().find(|(c, _)| looks_like_command(c) && !is_command(c)) {
                    warnings.push(
                        Diagnostic::warning(
                            "unread-verify",
                            format!("`{c}` looks like a command, but planrun does not know the program `{}`; it is kept as an acceptance criterion", c.split_whitespace().next().unwrap_or("")),
                        )
                        .at(Some(at(*off, c.len())))
                        .help("write a command planrun knows (`npm test`, `cargo test`, `./scripts/check.sh` …) to have it run"),
                    );
                }
                let text = model::one_line(value);
                if !text.is_empty() {
                    acceptance.push((text, whole));
                }
            }
        }
        Field::Acceptance => {
            let (_, v) =
                md::checkbox(&format!("- {value}")).map_or((false, value.to_owned()), |(t, r)| (t, r.to_owned()));
            let text = model::one_line(&v);
            if !text.is_empty() {
                acceptance.push((text, whole));
            }
        }
        Field::Status => {
            if let Some(done) = status_value(value) {
                *status = Some((done, whole));
            }
        }
    }
}

/// Removes the common indentation of an item's continuation lines.
fn dedent(lines: &[&str]) -> String {
    let indent =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start())).collect::<Vec<_>>().join("\n")
}

/// The number of a phase heading (`Phase 3: …` → `3`).
fn phase_number(milestone: &str) -> Option<&str> {
    let m = milestone.trim();
    m.get(..6).filter(|p| p.eq_ignore_ascii_case("phase "))?;
    let tail = m.get(6..)?;
    let end = tail.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(tail.len());
    let n = tail.get(..end)?.trim_end_matches('.');
    (!n.is_empty()).then_some(n)
}

/// The tasks one side of an order names. A phase stands for its first tasks (those waiting for
/// no other task of it) when it waits, and for its last ones when it is waited for.
fn names_of(r: &Ref, waiting: bool, tasks: &[Task]) -> Vec<String> {
    if r.phase {
        let members: Vec<&Task> = tasks
            .iter()
            .filter(|t| match &r.milestone {
                Some(m) => t.milestone.as_ref() == Some(m),
                None => t.milestone.as_deref().and_then(phase_number) == Some(r.first.as_str()),
            })
            .collect();
        let inside: HashSet<&str> = members.iter().map(|m| m.id.as_str()).collect();
        return if waiting {
            members
                .iter()
                .filter(|t| !t.depends_on.iter().any(|d| inside.contains(d.as_str())))
                .map(|t| t.id.clone())
                .collect()
        } else {
            let waited: HashSet<&str> = members.iter().flat_map(|m| m.depends_on.iter().map(String::as_str)).collect();
            members.iter().filter(|t| !waited.contains(t.id.as_str())).map(|t| t.id.clone()).collect()
        };
    }
    match (&r.last, id_number(&r.first), r.last.as_deref().and_then(id_number)) {
        (Some(_), Some(lo), Some(hi)) => tasks
            .iter()
            .filter(|t| id_number(&t.id).is_some_and(|n| n >= lo.min(hi) && n <= hi.max(lo)))
            .map(|t| t.id.clone())
            .collect(),
        _ => vec![r.first.clone()],
    }
}

/// `all prior phases` / `all other phases` (`<prior>`, `<other>`): each phase before / other than
/// those of the dependents.
fn expand_phases(refs: Vec<Ref>, dependents: &[Vec<(String, Span)>], tasks: &[Task]) -> Vec<Ref> {
    if !refs.iter().any(|r| r.phase && r.first.starts_with('<')) {
        return refs;
    }
    let mut order: Vec<&str> = Vec::new();
    for t in tasks {
        if let Some(m) = t.milestone.as_deref() {
            if !order.contains(&m) {
                order.push(m);
            }
        }
    }
    let theirs: HashSet<&str> = dependents
        .iter()
        .flatten()
        .filter_map(|(id, _)| tasks.iter().find(|t| t.id == *id).and_then(|t| t.milestone.as_deref()))
        .collect();
    let earliest = order.iter().position(|m| theirs.contains(m)).unwrap_or(order.len());
    let mut out = Vec::new();
    for r in refs {
        let keep: Vec<&str> = match r.first.as_str() {
            "<prior>" if r.phase => order.iter().take(earliest).copied().collect(),
            "<other>" if r.phase => order.iter().filter(|m| !theirs.contains(*m)).copied().collect(),
            _ => {
                out.push(r);
                continue;
            }
        };
        out.extend(keep.into_iter().map(|m| Ref {
            first: String::new(),
            last: None,
            span: r.span,
            phase: true,
            milestone: Some(m.to_owned()),
        }));
    }
    out
}

/// Task ids with the span that named them.
type Named = Vec<(String, Span)>;

/// Adds the orders of the "Dependencies" section; ranges take the tasks whose numbers they span.
fn apply_orders(b: &mut PlanBuilder, mut orders: Vec<Order>, implicit: &HashMap<String, Vec<String>>) {
    // `in parallel with` notes first: which tasks end a phase depends on them.
    orders.sort_by_key(|o| !o.parallel);
    let mut index_of: HashMap<String, usize> = HashMap::new();
    for (i, t) in b.plan.tasks.iter().enumerate() {
        index_of.entry(t.id.clone()).or_insert(i);
    }
    for order in orders {
        // (dependents, prerequisites) groups: one per pair for "respectively", else one.
        let mut groups: Vec<(Named, Named)> = Vec::new();
        let side = |refs: &[Ref], waiting: bool, tasks: &[Task]| -> Vec<Vec<(String, Span)>> {
            refs.iter().map(|r| names_of(r, waiting, tasks).into_iter().map(|n| (n, r.span)).collect()).collect()
        };
        if order.parallel {
            // Neither side waits for the other: drop the orders the list implied between them.
            let names = |refs: &[Ref], waiting: bool| -> Vec<String> {
                refs.iter().flat_map(|r| names_of(r, waiting, &b.plan.tasks)).collect()
            };
            let mut pairs: Vec<(String, String)> = Vec::new();
            for (one, other) in [(&order.dependents, &order.prerequisites), (&order.prerequisites, &order.dependents)] {
                let waited = names(other, false);
                for x in names(one, true) {
                    pairs.extend(waited.iter().map(|y| (x.clone(), y.clone())));
                }
            }
            for (waiting, waited) in &pairs {
                {
                    if !implicit.get(waiting).is_some_and(|deps| deps.contains(waited)) {
                        continue;
                    }
                    let Some(&index) = index_of.get(waiting) else { continue };
                    let (Some(task), Some(spans)) = (b.plan.tasks.get_mut(index), b.task_spans.get_mut(index)) else {
                        continue;
                    };
                    if let Some(k) = task.depends_on.iter().position(|d| d == waited) {
                        task.depends_on.remove(k);
                        if k < spans.depends_on.len() {
                            spans.depends_on.remove(k);
                        }
                    }
                }
            }
            continue;
        }
        let dependents = side(&order.dependents, true, &b.plan.tasks);
        let prerequisites = expand_phases(order.prerequisites, &dependents, &b.plan.tasks);
        let prerequisites = side(&prerequisites, false, &b.plan.tasks);
        if order.paired {
            groups.extend(dependents.into_iter().zip(prerequisites));
        } else {
            groups.push((dependents.into_iter().flatten().collect(), prerequisites.into_iter().flatten().collect()));
        }
        for (dependents, prereqs) in groups {
            if order.only {
                // Drop what the list's order implied and the order does not name.
                for (dependent, _) in &dependents {
                    let Some(&index) = index_of.get(dependent) else { continue };
                    let Some(implied) = implicit.get(dependent) else { continue };
                    let (Some(task), Some(spans)) = (b.plan.tasks.get_mut(index), b.task_spans.get_mut(index)) else {
                        continue;
                    };
                    while let Some(k) =
                        task.depends_on.iter().position(|d| implied.contains(d) && !prereqs.iter().any(|(p, _)| p == d))
                    {
                        task.depends_on.remove(k);
                        if k < spans.depends_on.len() {
                            spans.depends_on.remove(k);
                        }
                    }
                }
            }
            for (dependent, span) in dependents {
                let Some(&index) = index_of.get(&dependent) else {
                    b.warn(
                        Diagnostic::warning(
                            "unknown-task",
                            format!("the dependencies section names `{dependent}`, which is not a task of this file"),
                        )
                        .at(Some(span))
                        .help("this order is ignored; check the task id"),
                    );
                    continue;
                };
                for (dep, dep_span) in &prereqs {
                    let (Some(task), Some(spans)) = (b.plan.tasks.get_mut(index), b.task_spans.get_mut(index)) else {
                        continue;
                    };
                    if *dep != task.id && !task.depends_on.contains(dep) {
                        task.depends_on.push(dep.clone());
                        spans.depends_on.push(*dep_span);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items() {
        let i = parse_item("T012 [P] [US1] Create model in src/models/x.py");
        assert_eq!(
            i,
            Some(Item { id: "T012", parallel: true, labels: vec!["US1"], title: "Create model in src/models/x.py" })
        );
        let i = parse_item("**T003**: [p] Lint");
        assert_eq!(i.map(|i| (i.id, i.parallel, i.title)), Some(("T003", true, "Lint")));
        assert_eq!(parse_item("T1000ms timeout"), None);
        assert_eq!(parse_item("Task 1"), None);
        assert_eq!(parse_item("T7a [Story 2] Fix").map(|i| (i.id, i.labels)), Some(("T7a", vec!["Story 2"])));
    }

    #[test]
    fn paths() {
        let found: Vec<String> = paths_in(
            "Implement authentication/authorization in src/auth/, see Node.js docs and `README.md`, (quickstart.md).",
        )
        .into_iter()
        .map(|p| p.0)
        .collect();
        // The design document in the parenthesis is what the work follows, not a file it changes.
        assert_eq!(found, vec!["src/auth/**", "**/README.md"]);
        let found: Vec<String> =
            paths_in("User model in src/models/user.py e.g. with backend/src").into_iter().map(|p| p.0).collect();
        assert_eq!(found, vec!["src/models/user.py", "backend/src"]);
    }

    #[test]
    fn imported_sources_and_outputs_checked_after_a_run_are_not_files() {
        assert_eq!(
            files_of("Update App in `src/App.tsx` — import `Word` and the sample from `src/data/sample.ts`"),
            vec!["src/App.tsx"]
        );
        assert!(files_of("Run `npm run build` — verify the build succeeds and `.exe` appears in `output/`").is_empty());
        assert!(files_of("Ejecutar `npm run gen:types` y confirmar que `src/types/db.ts` no cambia").is_empty());
        // A file copied from elsewhere is still not taken; a file written after "from" in prose is.
        assert_eq!(files_of("Remove the fallback from `src/x.ts`"), vec!["src/x.ts"]);
    }

    #[test]
    fn elided_folders_are_globs() {
        assert_eq!(
            files_of("Create `src/main/java/.../dao/X.java` with the entity"),
            vec!["src/main/java/**/dao/X.java"]
        );
        assert_eq!(as_path("src/…/x.rs", true).as_deref(), Some("src/**/x.rs"));
        assert_eq!(as_path(".../x.rs", true), None);
    }

    fn files_of(text: &str) -> Vec<String> {
        paths_in(text).into_iter().map(|p| p.0).collect()
    }

    #[test]
    fn file_names_brace_lists_and_outputs() {
        assert_eq!(
            files_of("Create the layout: cmd/app/, internal/{cli,config}/, e2e/ and add cobra to go.mod, go.sum"),
            vec!["cmd/app/**", "internal/{cli,config}/**", "e2e/**", "**/go.mod", "**/go.sum"]
        );
        // A comma outside braces still ends a path.
        assert_eq!(as_path("src/a,b", false), None);
        assert_eq!(files_of("Record versions with `npm ls --json > deps-before.json`"), vec!["**/deps-before.json"]);
        assert!(files_of("Run `make lint 2> /dev/null`").is_empty());
    }

    #[test]
    fn files_that_are_not_targets() {
        // A cited design document.
        assert_eq!(
            files_of("Add indexes in firebase/indexes.json (per data-model.md and research.md)"),
            vec!["firebase/indexes.json"]
        );
        // The folder a command runs in.
        assert_eq!(files_of("Run `pnpm install` in web/ to generate web/pnpm-lock.yaml"), vec!["web/pnpm-lock.yaml"]);
        assert!(files_of("Run the tests (`cargo test` in server/)").is_empty());
        // A folder a task creates things in stays a file.
        assert_eq!(files_of("Create models in src/models/"), vec!["src/models/**"]);
        // Entries of an ignore file.
        assert_eq!(files_of("Update .gitignore to ignore dist/, *.test and coverage"), vec!["**/.gitignore"]);
        assert_eq!(
            files_of("Create .env.example and add .env to `.gitignore`"),
            vec!["**/.env.example", "**/.gitignore"]
        );
        // Sub-folders listed relative to the folder just named.
        assert_eq!(
            files_of("Create lib/board/ directory structure: data/models/, presentation/screens/"),
            vec!["lib/board/**"]
        );
    }

    #[test]
    fn dependencies_headings() {
        for h in [
            "Dependencies",
            "Dependencies & Execution Order",
            "Task Dependencies",
            "User Story Dependencies",
            "Dependency Graph",
        ] {
            assert!(is_dependencies_heading(&h.to_ascii_lowercase()), "{h}");
        }
        for h in [
            "Phase 2: User Story 2 - Install core dependencies (Priority: P2)",
            "Phase 3: Dependencies",
            "External Dependencies",
        ] {
            assert!(!is_dependencies_heading(&h.to_ascii_lowercase()), "{h}");
        }
    }

    #[test]
    fn files_cited_subjects_and_config_content() {
        // Citations without a citing word, marked by `§`, and citing words in other languages.
        assert_eq!(
            files_of("Extend `tests/loop.test.ts` with one case per site (data-model.md §Kinds, spec.md §Tests)"),
            vec!["tests/loop.test.ts"]
        );
        assert_eq!(
            files_of("Agregar `Zona` a `prisma/schema.prisma` según `data-model.md`"),
            vec!["prisma/schema.prisma"]
        );
        assert_eq!(
            files_of("Atualizar `src/types/a.ts` a partir de `specs/004-x/contracts/a.schema.ts`"),
            vec!["src/types/a.ts"]
        );
        assert_eq!(files_of("实现存储层 src/db/store.ts（参见 data-model.md）"), vec!["src/db/store.ts"]);
        // A package name is not a path; `path::symbol` is the path.
        assert_eq!(files_of("Add a `.changeset/` entry; bump `@acme/runner` with a patch"), vec![".changeset/**"]);
        assert_eq!(
            files_of("JWT dependency in backend/app/auth/deps.py::get_current_user_id()"),
            vec!["backend/app/auth/deps.py"]
        );
        // Config content in backticks: a relative base config, globs.
        assert_eq!(
            files_of("Create `libs/w/tsconfig.json` — extends `../../tsconfig.base.json`, `files: []`"),
            vec!["libs/w/tsconfig.json"]
        );
        assert_eq!(
            files_of("Create `apps/site/tailwind.config.js` — content includes `./src/**/*.{ts,tsx}`"),
            vec!["apps/site/tailwind.config.js"]
        );
        // Build outputs a task measures.
        assert_eq!(
            files_of("Medir `dist/index.html` + `dist/assets/app-*.js`; registrar em `docs/research.md`"),
            vec!["docs/research.md"]
        );
        // A folder a command acts on, in an item whose work is the command.
        assert!(files_of("Run `pnpm install` from repo root to link `libs/widgets` into the workspace").is_empty());
        // Files a test exercises.
        assert_eq!(
            files_of("Add reuse tests for an existing `AGENTS.md` and `.mcp.json` in `tests/integration/test_x.py`"),
            vec!["tests/integration/test_x.py"]
        );
        assert_eq!(
            files_of("Criar `tests/unit/icons.spec.ts`: todo id existe em `src/assets/sprite.svg`"),
            vec!["tests/unit/icons.spec.ts"]
        );
        // "ignore" as a noun before a list of files the task works on.
        assert_eq!(
            files_of("Verify the entry point and ignore patterns in `src/x/__main__.py` and `.gitignore`"),
            vec!["src/x/__main__.py", "**/.gitignore"]
        );
        assert_eq!(files_of("Update .gitignore to ignore dist/ and build/"), vec!["**/.gitignore"]);
    }

    #[test]
    fn cited_documents_are_not_files() {
        // Citing words: required by, allowed by, against; and the ones listed after them.
        assert_eq!(
            files_of("Harden `api/settings.py` with the limits required by `db/0003_limits.sql`"),
            vec!["api/settings.py"]
        );
        assert_eq!(
            files_of("Create `api/models/token.py` holding only fields allowed by `contracts/tokens.md`"),
            vec!["api/models/token.py"]
        );
        assert!(files_of("Check the release notes against spec.md and quickstart.md").is_empty());
        // The feature's design documents after "from" / "using", or checked by the item's verb.
        assert_eq!(
            files_of("Walk through Scenario 2 from `specs/004-x/quickstart.md` plus `tests/e2e/tokens.spec.ts`"),
            vec!["tests/e2e/tokens.spec.ts"]
        );
        assert!(files_of("Smoke-test the flow end-to-end using scenarios from quickstart.md").is_empty());
        assert!(files_of("Run quickstart.md validation").is_empty());
        assert!(files_of("Follow the quickstart.md steps on a clean machine").is_empty());
        // Japanese: a citing word after the path.
        assert_eq!(files_of("`src/a.py` を `data-model.md` に従って実装する"), vec!["src/a.py"]);
        // A design document cited by an item that works on other files: followed, not changed.
        assert_eq!(
            files_of(
                "ディレクトリ構造を作成する。plan.md のソースコード構造に従い、`cmd/app/`、`internal/cli/` を作成"
            ),
            vec!["cmd/app/**", "internal/cli/**"]
        );
        assert_eq!(files_of("Comment out a line in `web/.env.example` (research.md R2)."), vec!["web/.env.example"]);
        assert_eq!(files_of("Implement `load()` in `src/x.ts` (contracts/page-data.md)"), vec!["src/x.ts"]);
        // Design documents a task writes stay files.
        assert_eq!(files_of("Update quickstart.md with the new flags"), vec!["**/quickstart.md"]);
        assert_eq!(files_of("Record the results in `specs/004-x/research.md`"), vec!["specs/004-x/research.md"]);
        assert_eq!(
            files_of("Check that the `quickstart.md` links in README.md are right"),
            vec!["**/quickstart.md", "**/README.md"]
        );
    }

    #[test]
    fn name_patterns_and_notes_are_not_files() {
        // Placeholders and wildcards in a bare name: a pattern, not a file.
        assert_eq!(files_of("Write the results to a file (YYYY-MM-DD_{RUN}_out.csv) (jobs/out/)"), vec!["jobs/out/**"]);
        assert_eq!(files_of("Stop writing *.log files in `jobs/run.py`"), vec!["jobs/run.py"]);
        assert_eq!(files_of("Pin `left-pad@1.3.0.txt` in `web/deps.txt`"), vec!["web/deps.txt"]);
        assert_eq!(
            files_of("Annotate name with @NotBlank and @Size(max=80) in `api/Item.java`"),
            vec!["api/Item.java"]
        );
        // A bare name that is the last part of a path the item names: that file.
        assert_eq!(
            files_of("ワークフロー作成（nightly.yml） (.github/workflows/nightly.yml)"),
            vec![".github/workflows/nightly.yml"]
        );
        // A bare name in a note before the final file list is what the text is about.
        assert_eq!(files_of("READMEに使い方を追記（run.sh） (README.md)"), vec!["**/README.md"]);
        assert_eq!(files_of("Add `run.sh` usage to README (README.md)"), vec!["**/run.sh", "**/README.md"]);
    }

    #[test]
    fn inline_orders_in_other_languages() {
        let ids = |t: &str| inline_deps(t).into_iter().map(|r| r.0).collect::<Vec<_>>();
        assert_eq!(ids("Criar `src/a.vue` (depende de T003, T005)"), vec!["T003", "T005"]);
        assert_eq!(ids("Crear el modelo (depende solo de T002)"), vec!["T002"]);
        assert_eq!(ids("Créer la vue (dépend de T004)"), vec!["T004"]);
        assert_eq!(ids("Ansicht bauen (nach T004)"), vec!["T004"]);
        assert_eq!(ids("实现视图（依赖 T004）"), vec!["T004"]);
        assert_eq!(ids("Add the entry once T001–T003 land"), vec!["T001"]);
        assert!(ids("Send a Nachricht to T004").is_empty());
    }

    #[test]
    fn plural_phases() {
        let n = |t: &str| phase_refs(t).into_iter().map(|r| r.0).collect::<Vec<_>>();
        assert_eq!(n("depend on Phases 1 + 2 being merged"), vec!["1", "2"]);
        assert_eq!(n("All (Phases 4-6) depend on Phase 3"), vec!["4", "5", "6", "3"]);
        assert_eq!(n("alongside Phases 1–3"), vec!["1", "2", "3"]);
        assert_eq!(n("Phases 1 and 2, then phase 3"), vec!["1", "2", "3"]);
        assert!(n("multiphase rollout").is_empty());
    }

    #[test]
    fn refs() {
        let r: Vec<(String, Option<String>)> =
            id_refs("Tests (T004-T007) before T008, xT009").into_iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(r, vec![("T004".to_owned(), Some("T007".to_owned())), ("T008".to_owned(), None)]);
    }
}
