//! Telling shell commands from prose in plans written for people: the programs a verify line may
//! start with. One list for every importer, so that the same line counts as a command in every
//! format. Decides nothing else.

/// Programs whose name starting a line makes it a shell command rather than a file name or prose.
pub(crate) const PROGRAMS: &[&str] = &[
    "./gradlew",
    "./mvnw",
    "actionlint",
    "bash",
    "bazel",
    "biome",
    "black",
    "bun",
    "bundle",
    "bunx",
    "cabal",
    "cargo",
    "cmake",
    "composer",
    "ctest",
    "curl",
    "cypress",
    "dart",
    "deno",
    "diff",
    "docker",
    "docker-compose",
    "dotnet",
    "eslint",
    "flake8",
    "flutter",
    "git",
    "go",
    "gofmt",
    "golangci-lint",
    "gotestsum",
    "gradle",
    "grep",
    "hadolint",
    "hatch",
    "helm",
    "isort",
    "java",
    "jest",
    "just",
    "kubectl",
    "lefthook",
    "ls",
    "lein",
    "make",
    "markdownlint",
    "mdbook",
    "meson",
    "mix",
    "mocha",
    "mvn",
    "mypy",
    "ninja",
    "node",
    "nox",
    "npm",
    "npx",
    "nx",
    "php",
    "phpstan",
    "phpunit",
    "pip",
    "pipenv",
    "playwright",
    "pnpm",
    "poetry",
    "pre-commit",
    "prettier",
    "psql",
    "pwsh",
    "py",
    "pylint",
    "pyright",
    "pytest",
    "python",
    "python3",
    "rake",
    "rg",
    "rspec",
    "rubocop",
    "ruby",
    "ruff",
    "rustc",
    "rustfmt",
    "sbt",
    "sh",
    "shellcheck",
    "sqlx",
    "stack",
    "staticcheck",
    "stylelint",
    "swift",
    "terraform",
    "test",
    "tox",
    "tsc",
    "turbo",
    "uv",
    "uvx",
    "vitest",
    "wasm-pack",
    "xcodebuild",
    "yarn",
    "zig",
];

/// The program a command line starts with: leading environment assignments (`CI=1 npm test`)
/// and a shell prompt (`$ `) are skipped.
pub(crate) fn first_program(line: &str) -> Option<&str> {
    let line = line.trim().trim_start_matches("$ ");
    line.split_whitespace().find(|w| !w.contains('=') || w.starts_with('-'))
}

/// Whether `word` names a known program or a script in the repository (`./x`, `bin/x`, `scripts/x`).
pub(crate) fn is_program(word: &str) -> bool {
    PROGRAMS.contains(&word) || word.starts_with("./") || word.starts_with("bin/") || word.starts_with("scripts/")
}

/// A development server, watcher or foreground container run (`npm run dev`, `yarn start`,
/// `npx vite`, `docker compose up` without `-d`): it never exits, so it cannot be a check.
/// `words` are the command's words, environment assignments left out.
pub(crate) fn never_exits(words: &[&str]) -> bool {
    let script = match words {
        ["npm" | "pnpm" | "yarn" | "bun", "run", s, ..] => *s,
        ["npm" | "pnpm" | "yarn" | "bun", s, ..] => *s,
        ["docker" | "docker-compose", ..] => return words.contains(&"up") && !words.contains(&"-d"),
        ["npx" | "bunx" | "pnpx", tool, rest @ ..] | [tool, rest @ ..]
            if ["vite", "next", "nuxt", "astro", "remix"].contains(tool) =>
        {
            rest.first().copied().unwrap_or("dev")
        }
        _ => return false,
    };
    matches!(script, "dev" | "start" | "serve" | "preview" | "watch" | "develop")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_never_exit() {
        fn w(c: &str) -> Vec<&str> {
            c.split_whitespace().collect()
        }
        for c in ["npm run dev", "yarn start", "pnpm preview", "npx vite", "next dev", "docker compose up"] {
            assert!(never_exits(&w(c)), "{c}");
        }
        for c in ["npm test", "pnpm run build", "npx vite build", "next build", "docker compose up -d", "cargo run"] {
            assert!(!never_exits(&w(c)), "{c}");
        }
    }

    #[test]
    fn programs_after_assignments_and_prompts() {
        assert_eq!(first_program("CI=1 RUST_LOG=debug cargo test"), Some("cargo"));
        assert_eq!(first_program("$ npm test"), Some("npm"));
        assert!(is_program("pytest") && is_program("./run.sh") && is_program("scripts/check"));
        assert!(!is_program("src/lib.rs") && !is_program("The"));
    }
}
