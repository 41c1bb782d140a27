//! Folder plans: numbered milestone folders or files read in order, their names turned into
//! titles, and the context files beside them.

use super::*;

pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

pub(super) fn no_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The number a name starts with: `01_milestone_auth` -> 1.
pub(super) fn number_prefix(name: &str) -> Option<u64> {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// A step number as a sort key: `12` -> (12, ""), `11.5` -> (11, ".5"), `1A` -> (1, "a").
pub(super) fn step_key(number: &str) -> Option<(u64, String)> {
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    let n = digits.parse().ok()?;
    Some((n, number.get(digits.len()..).unwrap_or("").to_ascii_lowercase()))
}

/// The number of a step file named after its step: `step-2-seeds.md`, `Step_10.md` -> 2, 10.
pub(super) fn step_name_number(name: &str) -> Option<u64> {
    let rest = name.get(..4).filter(|p| p.eq_ignore_ascii_case("step")).and_then(|_| name.get(4..))?;
    number_prefix(rest.trim_start_matches([' ', '_', '-', '.']))
}

/// The milestone number a name carries: its leading number, or the one after `milestone`.
pub(super) fn milestone_number(name: &str) -> Option<u64> {
    number_prefix(name).or_else(|| {
        let lower = name.to_ascii_lowercase();
        let at = lower.find("milestone")?;
        let rest = lower.get(at + "milestone".len()..)?.trim_start_matches([' ', '_', '-', '.']);
        number_prefix(rest)
    })
}

/// A readable name from a file or folder name: `01_milestone_auth.md` -> `auth`.
pub(super) fn humanize(name: &str) -> String {
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

pub(super) fn read_folder(b: &mut PlanBuilder, acc: &mut Acc, dir: &Path) -> Result<(), LoadError> {
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
pub(super) fn folder_title(dir: &Path) -> String {
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
pub(super) fn plain_name(name: &str) -> String {
    let rest = name.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches([' ', '_', '-', '.']);
    let words = model::one_line(&rest.replace(['_', '-'], " "));
    if words.is_empty() { model::one_line(&name.replace(['_', '-'], " ")) } else { words }
}

/// A milestone folder: numbered files (or files with steps) are its steps, in name order; a
/// README or other unnumbered notes are context.
pub(super) fn read_milestone_dir(b: &mut PlanBuilder, acc: &mut Acc, dir: &Path) -> Result<(), LoadError> {
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
pub(super) fn read_context_file(b: &mut PlanBuilder, acc: &mut Acc, path: &Path) -> Result<(), LoadError> {
    let src = b.read(path)?;
    read_file(b, acc, src, FileMode { milestone: None, h1_is_title: true, single_step: false }, "", None);
    Ok(())
}
