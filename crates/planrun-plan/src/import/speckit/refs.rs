//! The refs a line of the "Dependencies" section makes: task ids, id ranges, `Phase N`, and
//! phases named by name, by story, or as `all prior phases`.

use super::*;

/// Every task id mentioned in `text`, with ranges (`T004-T007`) expanded later: (first, last,
/// byte offset, byte length).
pub(super) fn id_refs(text: &str) -> Vec<(String, Option<String>, usize, usize)> {
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
pub(super) fn id_number(id: &str) -> Option<u64> {
    id.get(1..)?.trim_end_matches(|c: char| c.is_ascii_lowercase()).parse().ok()
}

/// One side of an order: a task id or range (`T004`, `T004-T007`), or a phase (`Phase 3`).
#[derive(Debug, Clone)]
pub(super) struct Ref {
    pub(super) first: String,
    pub(super) last: Option<String>,
    pub(super) span: Span,
    pub(super) phase: bool,
    /// A phase named by its heading (`Polish`, `US1`, `Final Phase`) rather than its number;
    /// `<prior>` / `<other>` in `first` stand for all phases before / other than the dependents'.
    pub(super) milestone: Option<String>,
}

/// An explicit order from the "Dependencies" section, applied once every task is known.
pub(super) struct Order {
    pub(super) dependents: Vec<Ref>,
    pub(super) prerequisites: Vec<Ref>,
    /// "T010 and T011 depend on T004 and T005 respectively": the n-th dependent waits for the
    /// n-th prerequisite only.
    pub(super) paired: bool,
    /// "T002 and T003 can run in parallel with T001": neither side waits for the other, so the
    /// orders the list implied between them are dropped.
    pub(super) parallel: bool,
    /// "US3 depends on Phase 2 only": the dependents wait for nothing the list's order implied
    /// besides what is named.
    pub(super) only: bool,
}

/// Words that say two sides run together (`T002とT003はT001と並行可能`).
pub(super) const PARALLEL_WORDS: [&str; 7] =
    ["in parallel with", "parallel to", "alongside", "concurrently with", "と並行", "と同時", "并行"];

/// Japanese and Chinese words written after what they wait for: `Phase 1完了後` (after phase 1
/// completes), `T004を通す` (make T004 pass), `T003に依存` (depends on T003), `T003 完成后`.
pub(super) const AFTER_SUFFIXES: [&str; 10] =
    ["完了後", "の完了後", "の後", "のあと", "以降", "を通す", "に依存", "完成后", "完成後", "之后"];

/// The ids (and phases) written right before byte `pos` of `text`, as a list (`T005、T007`,
/// `T002とT003`, `Phase 1`): (first, last, offset, length) of each.
pub(super) fn refs_just_before(text: &str, pos: usize) -> Vec<(String, Option<String>, usize, usize, bool)> {
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
pub(super) const AFTER_WORDS: [&str; 26] = [
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
pub(super) const BEFORE_WORDS: [&str; 9] =
    [" blocks ", " block ", " before ", " → ", " -> ", " then ", " unblocks ", " precedes ", "阻塞"];

/// `Phase 3` mentions in `text`, and plural ones (`Phases 1 + 2`, `Phases 1–3`, `Phases 4-9`,
/// `Phases 1 and 2`): (number, byte offset, byte length), one per phase.
pub(super) fn phase_refs(text: &str) -> Vec<(String, usize, usize)> {
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

pub(super) fn refs_of(src: SourceId, line: &Line<'_>, text: &str, base: usize) -> Vec<Ref> {
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
pub(super) struct PhaseInfo {
    pub(super) milestone: String,
    pub(super) number: Option<String>,
    /// The words of its title (`Polish`, `Core`, `Foundational`), lowercased.
    pub(super) words: Vec<String>,
    /// The user story it holds (`User Story 3` → `3`).
    pub(super) story: Option<String>,
}

/// What the Dependencies section can name besides ids and `Phase N`: phases by their names and
/// stories, and words it defined with ids in parentheses (`implementation (T006-T008)`).
#[derive(Default)]
pub(super) struct Names {
    pub(super) phases: Vec<PhaseInfo>,
    pub(super) aliases: HashMap<String, Vec<(String, Option<String>)>>,
    /// Words defined with phase numbers (`**基盤（Phase 2）**`, `ユーザーストーリー（Phase 3-4）`).
    pub(super) phase_aliases: HashMap<String, Vec<String>>,
}

/// Words of phase titles that name no phase of their own.
pub(super) const TITLE_STOP: [&str; 24] = [
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
pub(super) fn story_number(lower: &str) -> Option<String> {
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
pub(super) fn phase_infos(tasks: &[Task]) -> Vec<PhaseInfo> {
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
pub(super) fn phase_named<'p>(phases: &'p [PhaseInfo], word: &str) -> Option<&'p PhaseInfo> {
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
pub(super) fn refs_named(src: SourceId, line: &Line<'_>, text: &str, base: usize, names: &mut Names) -> Vec<Ref> {
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
