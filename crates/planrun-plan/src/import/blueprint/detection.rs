//! Detection of blueprint plans: a markdown file with step headings near its top, or a folder of
//! numbered milestone folders or files.

use super::*;

/// Detection reads at most this much of a file: step headings sit near the top of real plans.
pub(super) const PEEK_BYTES: u64 = 256 * 1024;
/// Detection looks at no more entries than this in one folder, so it stays cheap.
pub(super) const MAX_ENTRIES: usize = 200;
/// Files that document a repository or folder rather than hold a plan, even when they mention steps.
pub(super) const NOT_PLANS: [&str; 9] =
    ["readme", "changelog", "contributing", "license", "code_of_conduct", "security", "agents", "claude", "index"];
/// Where a repository keeps blueprint plans, relative to its root.
pub(super) const REPO_DIRS: [&str; 5] = ["plans", ".blueprint", ".blueprint/plans", "docs/plans", "blueprints"];

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
pub(super) struct FolderScan {
    pub(super) members: Vec<PathBuf>,
    pub(super) others: Vec<PathBuf>,
    pub(super) has_dirs: bool,
}

pub(super) fn scan(dir: &Path) -> FolderScan {
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

pub(super) fn scan_folder(dir: &Path) -> Option<Detection> {
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
pub(super) fn is_milestone_dir(dir: &Path) -> bool {
    if !is_milestone_name(&file_name(dir)) {
        return false;
    }
    sorted_entries(dir)
        .into_iter()
        .take(MAX_ENTRIES)
        .any(|f| is_markdown(&f) && (number_prefix(&file_name(&f)).is_some() || is_plan_file(&f)) && !is_doc_name(&f))
}

pub(super) fn is_milestone_name(name: &str) -> bool {
    number_prefix(name).is_some() || name.to_ascii_lowercase().contains("milestone")
}

pub(super) fn is_markdown(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// README, CHANGELOG and the like: never a plan when found by scanning a folder.
pub(super) fn is_doc_name(path: &Path) -> bool {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_ascii_lowercase();
    NOT_PLANS.contains(&stem.as_str())
}

pub(super) fn is_plan_file(path: &Path) -> bool {
    is_markdown(path) && !is_doc_name(path) && peek(path).is_some_and(|t| has_steps(&t))
}

pub(super) fn peek(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    file.take(PEEK_BYTES).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// A numbered `Step N` heading outside code fences.
pub(super) fn has_steps(text: &str) -> bool {
    md::lines(text).iter().any(|l| {
        !l.in_fence && md::heading(no_bom(l.text)).and_then(|(_, t)| step_head(t)).is_some_and(|h| h.number.is_some())
    })
}
