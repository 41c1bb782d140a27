//! The project's own build and test commands, for a plan that names none: what a careful person
//! would run before calling the work done (Cargo.toml → `cargo build`, `cargo test`;
//! package.json's `build` and `test` scripts → `npm run build`, `npm test`; go.mod → `go build
//! ./...`, `go test ./...`; pytest's configuration → `pytest`; a Makefile's `build` and `test`
//! targets → `make build`, `make test`). Run once as the final check after the last task.

use std::path::Path;

/// One detected command and the file it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub command: String,
    pub from: &'static str,
}

fn found(command: &str, from: &'static str) -> Detected {
    Detected { command: command.to_owned(), from }
}

/// For a plan without a final check of its own: the commands of the project the plan at `plan`
/// is in (its git top level, else its folder).
pub fn for_plan(plan: &Path) -> Vec<Detected> {
    project_commands(&crate::layout::Layout::for_plan(plan, None).workspace)
}

/// The build commands, then the test commands, of the project at `root`, in the order above.
pub fn project_commands(root: &Path) -> Vec<Detected> {
    let read = |name: &str| std::fs::read_to_string(root.join(name)).ok();
    let mut build = Vec::new();
    let mut test = Vec::new();
    if root.join("Cargo.toml").is_file() {
        build.push(found("cargo build", "Cargo.toml"));
        test.push(found("cargo test", "Cargo.toml"));
    }
    if let Some(pkg) = read("package.json").and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()) {
        let script = |name: &str| pkg.get("scripts").and_then(|s| s.get(name)).and_then(serde_json::Value::as_str);
        if script("build").is_some_and(|s| !s.trim().is_empty()) {
            build.push(found("npm run build", "package.json"));
        }
        // npm's placeholder (`echo "Error: no test specified" && exit 1`) is not a test suite.
        if script("test").is_some_and(|s| !s.trim().is_empty() && !s.contains("no test specified")) {
            test.push(found("npm test", "package.json"));
        }
    }
    if root.join("go.mod").is_file() {
        build.push(found("go build ./...", "go.mod"));
        test.push(found("go test ./...", "go.mod"));
    }
    let pytest = read("pyproject.toml").is_some_and(|t| t.contains("[tool.pytest"))
        || root.join("pytest.ini").is_file()
        || read("setup.cfg").is_some_and(|t| t.contains("[tool:pytest]"))
        || read("tox.ini").is_some_and(|t| t.contains("[pytest]"))
        || root.join("conftest.py").is_file();
    if pytest {
        test.push(found("pytest", "the pytest configuration"));
    }
    if let Some(make) = ["Makefile", "makefile", "GNUmakefile"].into_iter().find_map(read) {
        let target = |name: &str| make.lines().any(|l| l.strip_prefix(name).is_some_and(|r| r.starts_with(':')));
        if target("build") {
            build.push(found("make build", "the Makefile"));
        }
        if target("test") {
            test.push(found("make test", "the Makefile"));
        }
    }
    build.extend(test);
    build
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn commands(files: &[(&str, &str)]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        project_commands(dir.path()).into_iter().map(|d| d.command).collect()
    }

    #[test]
    fn each_ecosystem_gives_its_build_then_its_tests() {
        assert!(commands(&[]).is_empty());
        assert_eq!(commands(&[("Cargo.toml", "[package]\n")]), ["cargo build", "cargo test"]);
        assert_eq!(
            commands(&[("package.json", r#"{"scripts": {"build": "tsc", "test": "vitest run"}}"#)]),
            ["npm run build", "npm test"]
        );
        assert_eq!(commands(&[("go.mod", "module x\n")]), ["go build ./...", "go test ./..."]);
        assert_eq!(commands(&[("pyproject.toml", "[tool.pytest.ini_options]\n")]), ["pytest"]);
        assert_eq!(
            commands(&[("Makefile", "all: build\nbuild:\n\tcc x.c\ntest: build\n\t./t\n")]),
            ["make build", "make test"]
        );
        // A Rust crate with a web front end: both, builds first.
        assert_eq!(
            commands(&[("Cargo.toml", ""), ("package.json", r#"{"scripts": {"test": "jest"}}"#)]),
            ["cargo build", "cargo test", "npm test"]
        );
    }

    #[test]
    fn placeholders_and_lookalikes_are_not_commands() {
        let npm_init = r#"{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}"#;
        assert!(commands(&[("package.json", npm_init)]).is_empty());
        assert!(commands(&[("package.json", "not json")]).is_empty());
        assert!(commands(&[("pyproject.toml", "[project]\nname = \"x\"\n")]).is_empty());
        assert!(commands(&[("Makefile", "tests:\n\tx\nbuilder: y\n")]).is_empty());
    }
}
