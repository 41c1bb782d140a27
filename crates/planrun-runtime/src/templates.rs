//! The prompt templates: one per role (`implement`, `take`, `plan`, `review`, `test`), the short `resume`
//! message a resumed session gets on rework, and one per persona (`architect`, `engineer`,
//! `reviewer`, `security`, `pm`), built into the binary and overridable by a file of the same
//! name in `.planrun/prompts/` (e.g. `.planrun/prompts/implement.md`,
//! `.planrun/prompts/security.md`). Placeholders are `{{name}}`; values are inserted once and
//! never expanded again, so plan text that contains `{{brief}}` stays as written.

use planrun_plan::model::Task;
use std::collections::BTreeMap;
use std::path::Path;

/// The templates and their built-in texts.
const BUILT_IN: [(&str, &str); 11] = [
    ("implement", include_str!("../prompts/implement.md")),
    ("take", include_str!("../prompts/take.md")),
    ("plan", include_str!("../prompts/plan.md")),
    ("review", include_str!("../prompts/review.md")),
    ("test", include_str!("../prompts/test.md")),
    ("resume", include_str!("../prompts/resume.md")),
    ("architect", include_str!("../prompts/personas/architect.md")),
    ("engineer", include_str!("../prompts/personas/engineer.md")),
    ("reviewer", include_str!("../prompts/personas/reviewer.md")),
    ("security", include_str!("../prompts/personas/security.md")),
    ("pm", include_str!("../prompts/personas/pm.md")),
];

/// Whether `file_name` (in `prompts/`) is the name of a template a user may replace.
pub(crate) fn is_template(file_name: &str) -> bool {
    BUILT_IN.iter().any(|(name, _)| file_name.strip_suffix(".md") == Some(name))
}

/// The personas, and the words in a task that call for each (the first persona with the most
/// matches wins; `engineer` on a tie or when none match).
pub(crate) const PERSONAS: [(&str, &[&str]); 5] = [
    ("security", &["secret", "auth", "input validation", "deploy", "credential", "permission", "vulnerab"]),
    ("architect", &["design", "architecture", "trade-off", "tradeoff"]),
    ("reviewer", &["review", "audit", "verify"]),
    ("pm", &["scope", "intent", "user story", "user stories"]),
    ("engineer", &["implement", "fix", "refactor"]),
];

/// The placeholders a template may use.
pub(crate) const PLACEHOLDERS: [&str; 11] = [
    "persona",
    "plan_title",
    "task_id",
    "task_title",
    "attempt",
    "brief",
    "feedback",
    "notes_file",
    "review_focus",
    "changed_files",
    "diff",
];

/// The persona for `task`: its own `persona` field if it names a known one, else the one its
/// title and description call for.
pub(crate) fn persona_for(task: &Task) -> &'static str {
    if let Some(p) = task.persona.as_deref().map(str::to_ascii_lowercase) {
        if let Some((name, _)) = PERSONAS.iter().find(|(n, _)| *n == p) {
            return name;
        }
        // The agent roles CCW names in `meta.agent` (or infers from `meta.type`).
        match p.trim_start_matches('@') {
            "code-developer" | "test-fix-agent" | "universal-executor" => return "engineer",
            "doc-generator" => return "pm",
            _ => {}
        }
    }
    let text = format!("{} {}", task.title, task.description).to_lowercase();
    let hits = |words: &[&str]| words.iter().map(|w| text.matches(w).count()).sum::<usize>();
    // The engineer wins ties: most tasks are implementation work.
    let mut best = ("engineer", PERSONAS.iter().find(|(n, _)| *n == "engineer").map_or(0, |(_, w)| hits(w)));
    for (name, words) in PERSONAS {
        let hits = hits(words);
        if hits > best.1 {
            best = (name, hits);
        }
    }
    best.0
}

/// The templates of one run.
#[derive(Debug, Clone)]
pub(crate) struct Templates {
    texts: BTreeMap<&'static str, String>,
}

impl Templates {
    /// The built-in templates, each replaced by `dir/NAME.md` if that file exists. A template
    /// with an unknown placeholder is an error naming the file.
    pub(crate) fn load(dir: &Path) -> Result<Self, String> {
        let mut texts = BTreeMap::new();
        for (name, text) in BUILT_IN {
            let file = dir.join(format!("{name}.md"));
            let text = if file.is_file() {
                let t = std::fs::read_to_string(&file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
                check(&t).map_err(|e| format!("the prompt template `{}`: {e}", file.display()))?;
                t
            } else {
                text.to_owned()
            };
            texts.insert(name, text);
        }
        Ok(Self { texts })
    }

    /// The text of template `name` (empty if there is none).
    pub(crate) fn text(&self, name: &str) -> &str {
        self.texts.get(name).map_or("", String::as_str)
    }

    /// Template `name` with its placeholders replaced by `vars` (missing ones become empty).
    pub(crate) fn render(&self, name: &str, vars: &[(&str, &str)]) -> String {
        render(self.text(name), vars)
    }
}

/// Every `{{name}}` in `text` must be a known placeholder.
fn check(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = rest.get(start + 2..).unwrap_or("");
        let Some(end) = after.find("}}") else { return Err("an unclosed `{{`".into()) };
        let name = after.get(..end).unwrap_or("").trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!("unknown placeholder `{{{{{name}}}}}`; known: {}", PLACEHOLDERS.join(", ")));
        }
        rest = after.get(end + 2..).unwrap_or("");
    }
    Ok(())
}

/// One pass over `text`: each `{{name}}` becomes its value; values are not scanned again.
fn render(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len() + vars.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or(""));
        let after = rest.get(start + 2..).unwrap_or("");
        match after.find("}}") {
            Some(end) => {
                let name = after.get(..end).unwrap_or("").trim();
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None if PLACEHOLDERS.contains(&name) => {}
                    None => out.push_str(rest.get(start..start + 2 + end + 2).unwrap_or("")),
                }
                rest = after.get(end + 2..).unwrap_or("");
            }
            None => {
                out.push_str(rest.get(start..).unwrap_or(""));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    // Blank lines left by empty placeholders (no persona) collapse.
    while out.starts_with('\n') {
        out.remove(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_persona_follows_the_task_wording_or_its_own_field() {
        let t = |title: &str, desc: &str| {
            let mut t = Task::new("x", title);
            t.description = desc.into();
            t
        };
        assert_eq!(persona_for(&t("Add login", "Store the auth token and check the secret")), "security");
        assert_eq!(persona_for(&t("Design the storage layer", "Weigh the trade-off")), "architect");
        assert_eq!(persona_for(&t("Audit the parser", "")), "reviewer");
        assert_eq!(persona_for(&t("Write user stories", "")), "pm");
        assert_eq!(persona_for(&t("Add a button", "")), "engineer");
        let mut own = t("Design the storage layer", "");
        own.persona = Some("Security".into());
        assert_eq!(persona_for(&own), "security");
    }

    #[test]
    fn values_are_inserted_once_and_never_expanded() {
        let out = render(
            "{{persona}}\n\nA {{brief}} B {{ attempt }} {{other}}",
            &[("brief", "has {{attempt}} inside"), ("attempt", "2")],
        );
        assert_eq!(out, "A has {{attempt}} inside B 2 {{other}}");
    }

    #[test]
    fn overrides_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("security.md"), "Be paranoid.").unwrap();
        let t = Templates::load(dir.path()).unwrap();
        assert_eq!(t.text("security"), "Be paranoid.");
        assert!(t.text("implement").contains("{{brief}}"));
        std::fs::write(dir.path().join("implement.md"), "{{brief}} {{task}}").unwrap();
        let e = Templates::load(dir.path()).unwrap_err();
        assert!(e.contains("implement.md") && e.contains("unknown placeholder `{{task}}`"), "{e}");
    }

    #[test]
    fn every_built_in_template_uses_known_placeholders() {
        for (name, text) in BUILT_IN {
            assert!(check(text).is_ok(), "{name}");
        }
    }
}
