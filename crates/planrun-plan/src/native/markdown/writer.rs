//! The native markdown writer: a plan written so that the reader reads it back unchanged, with
//! whatever the reader would take for structure escaped.

use super::*;

/// Writes a plan in the native markdown format.
pub fn write(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}", model::one_line(&plan.title));
    if !plan.context.trim().is_empty() {
        out.push('\n');
        push_block(&mut out, &plan.context, false);
    }
    if !plan.verify.is_empty() {
        out.push_str("\n## Verify\n\n");
        push_commands(&mut out, &plan.verify);
    }
    for task in &plan.tasks {
        let done = if task.status == Status::Done { "Status: done\n" } else { "" };
        // `Task : title` would read as id `title`; `Task :: title` keeps the id empty.
        let sep = if task.id.is_empty() { "::" } else { ":" };
        let _ = writeln!(out, "\n## Task {}{sep} {}\n", task.id, model::one_line(&task.title));
        if !task.depends_on.is_empty() {
            let _ = writeln!(out, "Depends on: {}", code_list(&task.depends_on));
        }
        if !task.files.is_empty() {
            let _ = writeln!(out, "Files: {}", code_list(&task.files));
        }
        for (key, value) in [("Agent", &task.agent), ("Persona", &task.persona), ("Milestone", &task.milestone)] {
            if let Some(v) = value {
                let v = model::one_line(v);
                let v = if v.contains('`') { code(&v) } else { v };
                let _ = writeln!(out, "{key}: {v}");
            }
        }
        if let Some(p) = task.priority {
            let _ = writeln!(out, "Priority: {}", p.as_str());
        }
        out.push_str(done);
        if !task.description.trim().is_empty() {
            out.push('\n');
            push_block(&mut out, &task.description, true);
        }
        if !task.acceptance.is_empty() {
            out.push_str("\n### Acceptance\n\n");
            for a in &task.acceptance {
                let _ = writeln!(out, "- [ ] {}", model::one_line(a));
            }
        }
        if !task.verify.is_empty() {
            out.push_str("\n### Verify\n\n");
            push_commands(&mut out, &task.verify);
        }
        for (name, text) in [
            ("Build instructions", &task.instructions.build),
            ("Review instructions", &task.instructions.review),
            ("Verify instructions", &task.instructions.verify),
        ] {
            if let Some(text) = text {
                let _ = writeln!(out, "\n### {name}\n");
                push_block(&mut out, text, false);
            }
        }
    }
    out
}

/// Writes a markdown block, escaping lines the reader would take for structure.
pub(super) fn push_block(out: &mut String, text: &str, first_line_may_be_field: bool) {
    let text = model::block(text);
    let lines = md::lines(&text);
    let mut first = first_line_may_be_field;
    for l in &lines {
        let needs = !l.in_fence && structural(l.text, first);
        first = false;
        if needs {
            out.push('\\');
        }
        out.push_str(l.text);
        out.push('\n');
    }
}

pub(super) fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    if longest > 0 { format!("{ticks} {text} {ticks}") } else { format!("`{text}`") }
}

pub(super) fn code_list(items: &[String]) -> String {
    items.iter().map(|i| code(i.trim())).collect::<Vec<_>>().join(", ")
}

pub(super) fn push_commands(out: &mut String, commands: &[String]) {
    for c in commands {
        let c = c.trim();
        if c.contains('\n') {
            let longest = c.lines().filter_map(|l| md::fence_of(l).map(|f| f.1)).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            let _ = writeln!(out, "{fence}sh\n{c}\n{fence}");
        } else {
            let _ = writeln!(out, "- {}", code(c));
        }
    }
}
