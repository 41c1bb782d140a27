//! The paths named in an item's text: backticked paths, words that look like paths, file names
//! with a known extension, and the word lists that tell a path from a word.

use super::*;

/// File extensions that make a bare word (`user.py`) a file name.
pub(super) const EXTENSIONS: [&str; 87] = [
    "rules",
    "gherkin",
    "props",
    "targets",
    "kql",
    "csproj",
    "sln",
    "svg",
    "png",
    "jpg",
    "ico",
    "webp",
    "lockb",
    "hcl",
    "nix",
    "plist",
    "arb",
    "properties",
    "sbt",
    "cmake",
    "mk",
    "tmpl",
    "feature",
    "py",
    "rs",
    "ts",
    "tsx",
    "js",
    "jsx",
    "mjs",
    "cjs",
    "go",
    "java",
    "kt",
    "kts",
    "swift",
    "rb",
    "php",
    "cs",
    "c",
    "h",
    "cc",
    "cpp",
    "hpp",
    "m",
    "mm",
    "md",
    "mdx",
    "json",
    "yaml",
    "yml",
    "toml",
    "sql",
    "sh",
    "bash",
    "ps1",
    "html",
    "css",
    "scss",
    "sass",
    "less",
    "vue",
    "svelte",
    "txt",
    "xml",
    "proto",
    "graphql",
    "gql",
    "env",
    "ini",
    "cfg",
    "conf",
    "lock",
    "gradle",
    "dart",
    "ex",
    "exs",
    "scala",
    "lua",
    "r",
    "tf",
    "csv",
    "ipynb",
    "rst",
    "astro",
    "prisma",
    "zig",
];

/// File names without a known extension (`go.mod`, `Makefile`).
pub(super) const BARE_FILES: [&str; 22] = [
    "Dockerfile",
    "Makefile",
    "Justfile",
    "Procfile",
    "Gemfile",
    "Rakefile",
    "Containerfile",
    "Podfile",
    "Brewfile",
    "Vagrantfile",
    "Jenkinsfile",
    "Taskfile",
    "Pipfile",
    "Caddyfile",
    "CODEOWNERS",
    "LICENSE",
    "go.mod",
    "go.sum",
    "go.work",
    "Gemfile.lock",
    "Podfile.lock",
    "Pipfile.lock",
];

/// Words shaped like file names that name technologies or abbreviations instead.
pub(super) const NOT_FILES: [&str; 14] = [
    "node.js",
    "vue.js",
    "next.js",
    "nuxt.js",
    "express.js",
    "react.js",
    "d3.js",
    "three.js",
    "chart.js",
    "nest.js",
    "e.g",
    "i.e",
    "etc",
    "solid.js",
];

/// First folders of repository paths, which make a one-slash word (`src/models`) a path.
pub(super) const SOURCE_DIRS: [&str; 24] = [
    "src",
    "lib",
    "test",
    "tests",
    "app",
    "apps",
    "backend",
    "frontend",
    "api",
    "docs",
    "scripts",
    "cmd",
    "pkg",
    "internal",
    "packages",
    "crates",
    "ios",
    "android",
    "web",
    "server",
    "client",
    "components",
    "specs",
    "config",
];

/// Paths named in an item's text, with their offsets: backticked paths, words with a `/` that
/// look like paths, and file names with a known extension (matched anywhere in the repository as
/// `**/<name>`). Full-width punctuation and other non-ASCII letters end a word that is not
/// backticked.
pub(super) fn paths_in(text: &str) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let spans = md::code_spans(text);
    // Text outside code spans, as (offset, slice) pieces.
    let mut pieces: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    for (inner, off) in &spans {
        let w = inner.trim();
        let woff = md::offset_in(text, w).unwrap_or(*off);
        if let Some(p) = as_path(w.trim_end_matches([':', ',', ';']), true) {
            out.push((p, woff, w.len()));
        } else if is_command(w) {
            // A command's output file: `npm ls --json > baseline.json`.
            if let Some((p, o, l)) = redirect_target(w) {
                out.push((p, woff + o, l));
            }
        }
        // Everything from the opening backticks to the closing ones is the span.
        let open = text.get(..*off).map_or(*off, |s| s.trim_end_matches('`').len());
        let close = text.get(off + inner.len()..).map_or(0, |s| s.len() - s.trim_start_matches('`').len());
        if let Some(before) = text.get(at..open) {
            pieces.push((at, before));
        }
        at = off + inner.len() + close;
    }
    if let Some(rest) = text.get(at..) {
        pieces.push((at, rest));
    }
    for (base, piece) in pieces {
        for word in piece.split(|c: char| c.is_whitespace() || !c.is_ascii() || c == '`') {
            let w = word
                .trim_start_matches(['(', '"', '\'', '['])
                .trim_end_matches([')', ',', ';', ':', '"', '\'', ']', '.', '!', '?']);
            let w = w.trim_end_matches(['(', ')', ',', ';', ':', '.']);
            let Some(off) = md::offset_in(piece, w) else {
                continue;
            };
            if let Some(p) = as_path(w, false) {
                out.push((p, base + off, w.len()));
            } else if one_slash_folder(w) {
                // A folder without a trailing slash where the task works: `exists at
                // web/app and web/api`, `in services/auth`.
                let head = piece.get(..off).unwrap_or("").trim_end().to_ascii_lowercase();
                let after_place = ends_with_word(&head, &["at", "in", "under", "into"]);
                let listed = ends_with_word(&head, &["and"])
                    && out.last().is_some_and(|(q, o, l)| !q.is_empty() && o + l + 5 >= base + off && !q.contains('*'));
                if after_place || listed {
                    out.push((w.to_owned(), base + off, w.len()));
                }
            }
        }
    }
    out.sort_by_key(|(_, off, _)| *off);
    let kept = targets_only(text, &spans, out);
    let mut unique: Vec<(String, usize, usize)> = Vec::new();
    for f in &kept {
        // A bare name the item also writes with its folder (`（daily.yml）
        // (.github/workflows/daily.yml)`) is that file.
        let covered = f.0.strip_prefix("**/").is_some_and(|name| {
            kept.iter().any(|(q, _, _)| !q.starts_with("**/") && q.rsplit('/').next() == Some(name))
        });
        // A folder written without a slash before the file the item makes in it (`Create
        // apps/api package.json at \`/apps/api/package.json\``) says where that file is.
        let folder_of_file = !f.0.ends_with("/**")
            && !f.0.starts_with("**/")
            && !has_extension(&f.0)
            && kept.iter().any(|(q, _, _)| q.strip_prefix(f.0.as_str()).is_some_and(|r| r.starts_with('/')));
        // `Dockerfile` and `Dockerfile.ci` in one item: the kind of file, then the one made.
        let variant_named = f.0.strip_prefix("**/").is_some_and(|name| {
            BARE_FILES.contains(&name)
                && kept.iter().any(|(q, _, _)| {
                    q.rsplit('/').next().and_then(|l| l.strip_prefix(name)).is_some_and(|r| r.starts_with('.'))
                })
        });
        if !covered && !folder_of_file && !variant_named && !unique.iter().any(|(q, _, _)| *q == f.0) {
            unique.push(f.clone());
        }
    }
    unique
}

/// `sunny-recipes/web`: two lower-case names joined by one slash, one of them with a `-` or `_`
/// (unlike `and/or`, `read/write`).
pub(super) fn one_slash_folder(word: &str) -> bool {
    let Some((a, b)) = word.split_once('/') else { return false };
    let name = |s: &str| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    name(a) && name(b) && (a.contains(['-', '_']) || b.contains(['-', '_']))
}

/// The file a command writes with `>` or `>>` (`npm ls --json > deps.json`): (path, offset in
/// the command, length). Redirections of a numbered stream (`2>`) and `/dev/null` are not files.
pub(super) fn redirect_target(command: &str) -> Option<(String, usize, usize)> {
    let mut found = None;
    let mut words = command.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let target = match w {
            ">" | ">>" => words.peek().copied(),
            _ if w.starts_with('>') => Some(w.trim_start_matches('>')),
            _ => None,
        };
        let Some(t) = target.filter(|t| !t.is_empty() && !t.starts_with(['&', '/', '$'])) else { continue };
        let t = t.trim_matches(['"', '\'']);
        if let (Some(p), Some(off)) = (as_path(t, true), md::offset_in(command, t)) {
            found = Some((p, off, t.len()));
        }
    }
    found
}

/// A test file or a file in a test folder (`tests/unit/x.py`, `src/a.test.ts`, `x_test.go`,
/// `__tests__/`, `test_x.py`, `x.spec.ts`).
pub(super) fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    lower.split('/').any(|d| ["test", "tests", "__tests__", "spec", "e2e", "fixtures"].contains(&d))
        || name.starts_with("test_")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.contains("_test.")
        || name.starts_with("conftest")
}

/// Whether the last part of a path has a known file extension or is a known file name.
pub(super) fn has_extension(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    BARE_FILES.contains(&last)
        || is_dotfile(last)
        || last
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// Hidden files named without a folder (`.env.local`, `.prettierrc`): `.env` and its variants,
/// `rc` files and the usual tool files.
pub(super) fn is_dotfile(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else { return false };
    if rest.is_empty() || !rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    if !rest.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return false;
    }
    let stem = rest.split('.').next().unwrap_or("");
    stem == "env"
        || stem.ends_with("rc")
        || stem.ends_with("ignore")
        || ["editorconfig", "gitattributes", "nvmrc", "tool-versions", "python-version", "node-version", "gitmodules"]
            .contains(&stem)
}

/// `a/**init**.py` → `a/__init__.py`: a path part written `**name**` (bold in markdown) with
/// a word between the stars is a Python dunder name whose underscores became bold markers.
pub(super) fn unmangle_dunder(word: &str) -> String {
    word.split('/')
        .map(|part| {
            let Some(inner) = part.strip_prefix("**") else { return part.to_owned() };
            let Some((name, rest)) = inner.split_once("**") else { return part.to_owned() };
            if !name.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && (rest.is_empty() || rest.starts_with('.'))
            {
                format!("__{name}__{rest}")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A script a task may run (`tools/check.rb`, `check-prerequisites.ps1`).
pub(super) fn is_script(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    last.rsplit_once('.').is_some_and(|(_, e)| ["rb", "py", "sh", "ps1", "pl", "bash", "js", "mjs", "ts"].contains(&e))
}

/// Brackets in a path written in a plan are literal folder names (Next.js `[id]`,
/// `[...slug]`), not glob classes: they are escaped so that the file pattern matches that
/// exact path.
pub(super) fn escape_brackets(path: &str) -> String {
    if !path.contains(['[', ']']) {
        return path.to_owned();
    }
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c == '[' || c == ']' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn as_path(word: &str, ticked: bool) -> Option<String> {
    // A word starting with `/` is an API route (`GET /albums`), not a repository path, unless it
    // starts with a usual source folder other than `api` (`/frontend/app`), or is a backticked
    // file with a known extension (`/package.json`, `/.env.example`: the repository root).
    let word = match word.strip_prefix('/') {
        Some(rest) => {
            let first = rest.split('/').next().unwrap_or("");
            let root_file = ticked && first != "api" && !rest.starts_with('/') && has_extension(rest);
            if !root_file && (first == "api" || !SOURCE_DIRS.contains(&first) || !rest.contains('/')) {
                return None;
            }
            if root_file && !rest.contains('/') {
                return as_path(rest, true).map(|p| p.strip_prefix("**/").map(str::to_owned).unwrap_or(p));
            }
            rest
        }
        None => word,
    };
    // `./requirements.txt`: a file at the repository root.
    if let Some(rest) = word.strip_prefix("./").filter(|r| !r.contains(['/', '*']) && !r.is_empty()) {
        return as_path(rest, ticked).map(|p| p.strip_prefix("**/").map(str::to_owned).unwrap_or(p));
    }
    // A package (`@acme/runner`), not a path; nor a home-folder path (`~/.config/x`), which the
    // program reads or writes at run time, outside the repository.
    if word.is_empty() || word.contains("://") || word.starts_with('@') || word.starts_with('~') {
        return None;
    }
    // A Go module (`modernc.org/sqlite`, `github.com/spf13/cobra`): its first part is a domain.
    if let Some((first, _)) = word.split_once('/') {
        if let Some((host, tld)) = first.rsplit_once('.') {
            if !host.is_empty()
                && ["org", "com", "io", "net", "dev", "in", "co", "cc", "me", "xyz"].contains(&tld)
                && !word.starts_with('.')
            {
                return None;
            }
        }
    }
    // Words such as `p50/p95/p99` or `v1/v2`: a letter and a number in every part.
    if word.contains('/')
        && word.split('/').all(|part| {
            let mut c = part.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.as_str().len() <= 3
                && !c.as_str().is_empty()
                && c.as_str().chars().all(|d| d.is_ascii_digit())
        })
    {
        return None;
    }
    // `deps.py::get_user()`: the path, without the symbol.
    let word = word.split_once("::").map_or(word, |(p, _)| p);
    // `src/main/java/.../dao/X.java`: an ellipsis folder stands for the folders left out.
    if word.contains('/') && word.split('/').any(|part| part == "..." || part == "…") {
        let parts: Vec<&str> =
            word.split('/').map(|part| if part == "..." || part == "…" { "**" } else { part }).collect();
        if parts.first().is_some_and(|f| *f != "**") {
            return as_path(&parts.join("/"), ticked);
        }
        return None;
    }
    // A path under a run-time placeholder (`{WORKING_DIR}/database.sqlite`) is where the
    // program writes when it runs, not a repository file.
    if word.strip_prefix('{').and_then(|r| r.split_once('}')).is_some_and(|(name, rest)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && rest.starts_with('/')
    }) {
        return None;
    }
    // `settings/**init**.py`: markdown ate the underscores of `__init__.py`.
    if word.contains("/**") && word.contains("**.") {
        let fixed = unmangle_dunder(word);
        if fixed != word {
            return as_path(&fixed, ticked);
        }
    }
    // Paths relative to some other file (`extends ../../tsconfig.base.json`) and globs of
    // config content (`content: ./src/**/*.{ts,tsx}`) are not repository paths.
    if word.starts_with("../") || word.starts_with("./") && word.contains('*') {
        return None;
    }
    // Build outputs are produced, not written: `dist/index.html`, `node_modules/x`.
    if ["dist", "node_modules", ".next"].contains(&word.split('/').next().unwrap_or("")) && word.contains('/') {
        return None;
    }
    let path_char = |c: char| c.is_alphanumeric() || "/._-*[]{}@+~()".contains(c);
    // Commas only inside a brace list (`internal/{cli,config}/`).
    let mut depth = 0usize;
    let mut commas_ok = true;
    for c in word.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => commas_ok = false,
            _ => {}
        }
    }
    if !commas_ok
        || !word.chars().all(|c| path_char(c) || c == ',')
        || task_id_len(word).is_some_and(|l| l == word.len())
    {
        return None;
    }
    // Parentheses only as whole folder names (Next.js route groups: `app/(auth)/login`).
    if word.contains(['(', ')'])
        && !word.split('/').all(|part| !part.contains(['(', ')']) || part.starts_with('(') && part.ends_with(')'))
    {
        return None;
    }
    let clean = word.trim_start_matches("./");
    let last = clean.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let has_ext = last.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
            && !NOT_FILES.contains(&last.to_ascii_lowercase().as_str())
    });
    // License and notice files: `LICENSE-MIT`, `LICENSE-APACHE`, `LICENSE.txt`.
    let license = ["LICENSE-", "LICENCE-", "COPYING-"].iter().any(|p| {
        last.strip_prefix(p).is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    });
    // `Dockerfile.ci`, `Makefile.local`: a variant of a known bare file.
    let variant = last.split_once('.').is_some_and(|(stem, rest)| {
        BARE_FILES.contains(&stem) && !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
    });
    let bare_file = BARE_FILES.contains(&last) || is_dotfile(last) || license || variant;
    if clean.contains('/') {
        let first = clean.split('/').next().unwrap_or("");
        let slashes = clean.matches('/').count();
        let dot_dir = first.len() > 1 && first.starts_with('.') && first != "..";
        let pathy = has_ext
            || bare_file
            || clean.ends_with('/')
            || SOURCE_DIRS.contains(&first)
            || ticked
            || slashes >= 2
            || dot_dir;
        // Files are globs: a folder stands for everything below it.
        let literal = escape_brackets(clean);
        let glob = if clean.ends_with('/') { format!("{literal}**") } else { literal };
        return pathy.then_some(glob);
    }
    // A bare name with placeholders or wildcards (`YYYY-MM-DD_{MODEL}_result.txt`, `*.log`,
    // `<name>.md`) or an `@` (`pkg@1.2.0.tgz`) is a pattern or a version, not a file.
    if clean.contains(['{', '}', '*', '?', '<', '>', '@']) || clean.contains("YYYY") {
        return None;
    }
    (has_ext || bare_file).then(|| format!("**/{}", escape_brackets(clean)))
}
