//! The orders the "Dependencies" section states (English clauses, Korean, Chinese and Japanese
//! sentences) and how they are added to the plan.

use super::*;

/// The orders one line of the Dependencies section states; `None` when it states none that
/// can be read.
pub(super) fn order_of(src: SourceId, line: &Line<'_>, names: &mut Names) -> Option<Vec<Order>> {
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
pub(super) const PARALLEL_ASCII: [&str; 7] = [
    "in parallel with",
    "parallel to",
    "parallel with",
    "alongside",
    "concurrently with",
    "overlap with",
    "independent of",
];

/// The refs listed right after byte `from` of a clause (`with US1 and US2 after …`: US1, US2).
pub(super) fn listed_from(refs: &[Ref], lower: &str, from: usize, at: usize) -> Vec<usize> {
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
pub(super) fn has_order_word(lower: &str) -> bool {
    AFTER_WORDS.iter().chain(BEFORE_WORDS.iter()).any(|w| lower.contains(w.trim()))
}

/// The clauses of a line, with their byte offsets: a parenthesis that states an order of its
/// own (`T001 → T002 (T003 depends on T002)`) and parts separated by `;` are read one by one.
pub(super) fn clauses(text: &str) -> Vec<(usize, &str)> {
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

pub(super) fn clause_orders(
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
pub(super) fn korean_orders(
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
pub(super) fn cjk_orders(
    src: SourceId,
    line: &Line<'_>,
    text: &str,
    base: usize,
    names: &mut Names,
) -> Option<Vec<Order>> {
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
pub(super) fn warn_unread_order(b: &mut PlanBuilder, src: SourceId, line: &Line<'_>) {
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

/// The tasks one side of an order names. A phase stands for its first tasks (those waiting for
/// no other task of it) when it waits, and for its last ones when it is waited for.
pub(super) fn names_of(r: &Ref, waiting: bool, tasks: &[Task]) -> Vec<String> {
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
pub(super) fn expand_phases(refs: Vec<Ref>, dependents: &[Vec<(String, Span)>], tasks: &[Task]) -> Vec<Ref> {
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
pub(super) type Named = Vec<(String, Span)>;

/// Adds the orders of the "Dependencies" section; ranges take the tasks whose numbers they span.
pub(super) fn apply_orders(b: &mut PlanBuilder, mut orders: Vec<Order>, implicit: &HashMap<String, Vec<String>>) {
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
