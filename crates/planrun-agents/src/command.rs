//! The `command` agent's template: `--agent-command 'my-agent --task {task_id} {prompt_file}'`
//! is split into words the way a shell would split them, but never run by a shell; placeholders
//! are then replaced inside each word. A value (a path with spaces, a task id, anything that came
//! from a plan) therefore always stays one argument and is never interpreted by a shell.

use thiserror::Error;

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 5] = ["prompt_file", "task_id", "workspace", "role", "attempt"];

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("the agent command is empty")]
    Empty,
    #[error("the agent command has an unclosed quote or a trailing backslash: {0}")]
    Unbalanced(String),
    #[error("unknown placeholder `{{{name}}}` in the agent command; known: {}", known())]
    UnknownPlaceholder { name: String },
    #[error("unclosed `{{` in the agent command word `{word}`; write `{{{{` for a literal brace")]
    UnclosedBrace { word: String },
}

fn known() -> String {
    PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(", ")
}

/// The values of the placeholders for one agent run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    pub prompt_file: String,
    pub task_id: String,
    pub workspace: String,
    pub role: String,
    pub attempt: u32,
}

impl Vars {
    fn get(&self, name: &str) -> Option<String> {
        match name {
            "prompt_file" => Some(self.prompt_file.clone()),
            "task_id" => Some(self.task_id.clone()),
            "workspace" => Some(self.workspace.clone()),
            "role" => Some(self.role.clone()),
            "attempt" => Some(self.attempt.to_string()),
            _ => None,
        }
    }
}

/// One piece of a template word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(&'static str),
}

/// A checked template: split once, placeholders validated, ready to render for every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    words: Vec<Vec<Piece>>,
}

impl Template {
    /// Splits and checks a template, so a bad one fails before any task starts.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let words = shlex::split(template).ok_or_else(|| TemplateError::Unbalanced(template.to_owned()))?;
        if words.is_empty() {
            return Err(TemplateError::Empty);
        }
        let words = words.iter().map(|w| pieces(w)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { words })
    }

    /// The argv of one run: the program first, each word with its placeholders replaced.
    pub fn render(&self, vars: &Vars) -> Vec<String> {
        self.words
            .iter()
            .map(|word| {
                word.iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.clone(),
                        Piece::Var(name) => vars.get(name).unwrap_or_default(),
                    })
                    .collect()
            })
            .collect()
    }
}

/// Splits one word into text and placeholders; `{{` and `}}` stand for literal braces.
fn pieces(word: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err(TemplateError::UnclosedBrace { word: word.to_owned() });
                }
                let Some(&known) = PLACEHOLDERS.iter().find(|p| **p == name) else {
                    return Err(TemplateError::UnknownPlaceholder { name });
                };
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Var(known));
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() || out.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            prompt_file: "/tmp/run dir/prompt.md".into(),
            task_id: "auth-model".into(),
            workspace: "/repo/.planrun/work/auth model".into(),
            role: "implement".into(),
            attempt: 2,
        }
    }

    #[test]
    fn words_split_like_a_shell_and_values_stay_one_argument() {
        let t = Template::parse("agent --task {task_id} --prompt={prompt_file} -C '{workspace}' \"a b\"").unwrap();
        assert_eq!(
            t.render(&vars()),
            [
                "agent",
                "--task",
                "auth-model",
                "--prompt=/tmp/run dir/prompt.md",
                "-C",
                "/repo/.planrun/work/auth model",
                "a b"
            ]
        );
    }

    #[test]
    fn values_are_never_shell_syntax() {
        let evil = Vars { task_id: "x; rm -rf / $(reboot) `id`".into(), ..vars() };
        let argv = Template::parse("echo {task_id}").unwrap().render(&evil);
        assert_eq!(argv, ["echo", "x; rm -rf / $(reboot) `id`"]);
    }

    #[test]
    fn attempt_role_and_literal_braces() {
        let t = Template::parse("run {role}-{attempt} '{{json}}'").unwrap();
        assert_eq!(t.render(&vars()), ["run", "implement-2", "{json}"]);
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        assert_eq!(Template::parse("   "), Err(TemplateError::Empty));
        assert!(matches!(Template::parse("agent 'open"), Err(TemplateError::Unbalanced(_))));
        let e = Template::parse("agent {task}").unwrap_err();
        assert_eq!(e, TemplateError::UnknownPlaceholder { name: "task".into() });
        assert!(e.to_string().contains("{prompt_file}, {task_id}"), "{e}");
        assert!(matches!(Template::parse("agent {task_id"), Err(TemplateError::UnclosedBrace { .. })));
    }

    #[test]
    fn an_empty_quoted_word_stays_an_argument() {
        assert_eq!(Template::parse("agent ''").unwrap().render(&vars()), ["agent", ""]);
    }

    proptest::proptest! {
        #[test]
        fn any_value_stays_exactly_one_argument(value in "\\PC*", prefix in "[a-z=-]{0,4}") {
            let t = Template::parse(&format!("prog {prefix}{{task_id}} {{workspace}}")).unwrap();
            let argv = t.render(&Vars { task_id: value.clone(), workspace: value.clone(), ..Vars::default() });
            proptest::prop_assert_eq!(argv, vec!["prog".to_owned(), format!("{prefix}{value}"), value]);
        }

        #[test]
        fn parsing_never_panics(template in "\\PC{0,60}") {
            if let Ok(t) = Template::parse(&template) {
                proptest::prop_assert!(!t.render(&vars()).is_empty());
            }
        }
    }
}
