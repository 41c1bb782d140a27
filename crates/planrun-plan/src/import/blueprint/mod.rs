//! Blueprint plans: one markdown file of `### Step N: Title` sections (objective, acceptance
//! criteria, Phase 1 build / Phase 2 review / Phase 3 verification, a checklist) with a plan-level
//! Tool Chain table, or a folder of numbered milestone folders/files holding such steps.
//!
//! A ✅ before `Step` marks a step done. Checklist items whose code spans are commands become the
//! step's verify commands; the other items become acceptance criteria. Steps run in order unless a
//! step says `Depends on: Step 2` (or `none`).

mod detection;
mod folder;
mod headings;
mod sections;
pub(crate) mod status;
mod steps;
mod toolchain;

pub(crate) use detection::detect;
use detection::*;
use folder::*;
use headings::*;
use sections::*;
use steps::*;
use toolchain::*;

use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder, natural_cmp, sorted_entries};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

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
mod tests;
