//! Reading shell text: commands written in prose, the lines of a shell block that are commands,
//! setup and migration steps, wrappers, and whether a command is expected to fail.

use super::*;

/// `Run \`cmd\`` written in a step's prose (`- [ ] Run `pytest -q`.`, `运行 `npm test` 以验证`):
/// backticked commands of known programs after a word for "run", unless the line says the
/// check must fail.
pub(super) fn prose_commands(src: SourceId, line: &Line<'_>) -> Vec<(String, Span)> {
    let text = line.text;
    if !text.contains('`') {
        return Vec::new();
    }
    // `Run:` and `Expected:` lines are read on their own.
    if field(text).is_some_and(|(k, _, _)| key_in(k, RUN_KEYS) || key_in(k, EXPECTED_KEYS)) {
        return Vec::new();
    }
    prose_in(src, line.start, text)
}

/// The backticked commands of known programs in `text` (which starts at byte `start` of the
/// source), each right after a word for "run": a span after "or" or "then" is an alternative or
/// a follow-up (`rm -rf x`), not a check.
pub(super) fn prose_in(src: SourceId, start: usize, text: &str) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let mut prev_end = 0;
    let mut prev_taken = false;
    for (cmd, off) in md::code_spans(text) {
        let between = text.get(prev_end..off).unwrap_or("").to_lowercase();
        prev_end = off + cmd.len();
        // "Run `a` + `b`", "run `a` and `b`": the second is run too.
        let joined = prev_taken
            && matches!(
                between.trim_matches(['`', ' ']),
                "+" | "and"
                    | ","
                    | "&"
                    | "&&"
                    | "和"
                    | "、"
                    | "e"
                    | "y"
                    | "und"
                    | ", and"
                    | ", y"
                    | ", e"
                    | ", und"
                    | "，和"
            );
        let said_run = joined || PROSE_RUN.iter().any(|w| between.contains(w));
        prev_taken = false;
        // The clause around the command says whether it must fail ("run `x` to see it fail").
        let delims = [',', ';', '(', ')', '，', '；', '（', '）', '。'];
        let clause_start = text.get(..off).and_then(|t| t.rfind(delims)).map_or(0, |d| d + 1);
        let after = off + cmd.len();
        // A note after a dash ("`cargo check` — a wrong path fails to compile") is not the clause.
        let clause_end = text
            .get(after..)
            .and_then(|t| {
                t.find(delims).into_iter().chain([" — ", " – ", " - "].iter().filter_map(|m| t.find(m))).min()
            })
            .map_or(text.len(), |d| after + d);
        let clause =
            format!("{} {}", text.get(clause_start..off).unwrap_or(""), text.get(after..clause_end).unwrap_or(""));
        if !said_run || contains_any(&clause, FAIL_WORDS) {
            continue;
        }
        let after_cd = cmd.trim().strip_prefix("cd ").and_then(|r| r.split_once("&&")).map_or(cmd, |(_, c)| c);
        let known = commands::first_program(after_cd).is_some_and(|p| commands::is_program(p) || p == "git");
        if known && !is_setup(cmd) && !is_setup(after_cd) {
            out.push((cmd.trim().to_owned(), Span::new(src, start + off, start + off + cmd.len())));
            prev_taken = true;
        }
    }
    out
}

/// The commands of a fenced shell block, one per logical line (`\` continuations and heredocs
/// joined), with a `cd dir` line carried into the commands after it and setup commands left out.
pub(super) fn shell_commands(src: SourceId, inner: &[Line<'_>]) -> Vec<(String, Span)> {
    let prompts = inner.iter().any(|l| l.text.trim_start().starts_with("$ "));
    let mut out = Vec::new();
    let mut cd: Option<String> = None;
    let mut j = 0;
    while let Some(line) = inner.get(j) {
        j += 1;
        let mut t = line.text.trim();
        if prompts {
            match t.strip_prefix("$ ") {
                Some(rest) => t = rest.trim(),
                None => continue,
            }
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut cmd = t.to_owned();
        let mut end = line.start + line.text.len();
        // `\` continues a line; so do PowerShell's backtick and cmd's caret after a space.
        while cmd.ends_with('\\') || cmd.ends_with(" `") || cmd.ends_with(" ^") {
            cmd.pop();
            let Some(next) = inner.get(j) else { break };
            j += 1;
            cmd = format!("{} {}", cmd.trim_end(), next.text.trim());
            end = next.start + next.text.len();
        }
        if let Some(delim) = heredoc_delimiter(&cmd) {
            while let Some(next) = inner.get(j) {
                j += 1;
                cmd.push('\n');
                cmd.push_str(next.text);
                end = next.start + next.text.len();
                if next.text.trim() == delim {
                    break;
                }
            }
        }
        let span = Span::new(src, line.start + md::offset_in(line.text, t).unwrap_or(0), end);
        if let Some(dir) = cd_only(&cmd) {
            cd = Some(match cd.take() {
                Some(prev) if !dir.starts_with('/') => format!("{prev} && cd {dir}"),
                _ => format!("cd {dir}"),
            });
            continue;
        }
        if is_setup(&cmd) {
            continue;
        }
        let full = match &cd {
            Some(prefix) => format!("{prefix} && {cmd}"),
            None => cmd,
        };
        out.push((full, span));
    }
    out
}

/// The delimiter of a heredoc the command opens (`cat <<'EOF'`), if any.
pub(super) fn heredoc_delimiter(cmd: &str) -> Option<String> {
    let at = cmd.find("<<")?;
    let rest = cmd.get(at + 2..)?.trim_start_matches(['-', '~']).trim_start();
    let word: String =
        rest.trim_start_matches(['\'', '"']).chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!word.is_empty()).then_some(word)
}

/// The folder of a command that only changes directory (`cd web`).
pub(super) fn cd_only(cmd: &str) -> Option<&str> {
    let rest = cmd.trim().strip_prefix("cd ")?.trim();
    (!rest.is_empty() && !rest.contains(['&', ';', '|', ' '])).then_some(rest)
}

/// Whether a command prepares rather than checks: version control, creating or moving files,
/// changing directory, writing a file with `echo … >`, and installing dependencies.
pub(super) fn is_setup(cmd: &str) -> bool {
    // A chain of setup steps (`cd backend; python -m venv .venv; pip install …`) sets up.
    let parts: Vec<&str> = cmd.split(" && ").flat_map(|p| p.split("; ")).map(str::trim).collect();
    if parts.len() > 1 {
        return parts.iter().all(|p| p.is_empty() || is_setup(p));
    }
    let cmd = without_wrapper(cmd.trim().trim_start_matches('(').trim_start());
    let words: Vec<&str> = cmd.split_whitespace().filter(|w| !w.contains('=') || w.starts_with('-')).collect();
    // A line of assignments only (`$env:APP_ENV='Development'`, `FOO=1`) sets the environment.
    if words.is_empty() {
        return true;
    }
    // A program named by its path (`.venv/bin/pip`, `.\.venv\Scripts\python`) by its name.
    let first = words.first().copied().unwrap_or("");
    let first = first.rsplit(['/', '\\']).next().unwrap_or(first);
    let first = first.strip_suffix(".exe").unwrap_or(first);
    let second = words.get(1).copied().unwrap_or("");
    let third = words.get(2).copied().unwrap_or("");
    if cd_only(cmd).is_some() {
        return true;
    }
    let setup = match first {
        "git" => !(second == "diff" && words.iter().any(|w| matches!(*w, "--check" | "--exit-code"))),
        "mkdir" | "touch" | "cp" | "mv" | "rm" | "ln" | "chmod" | "chown" | "export" | "source" | "." | "unset"
        | "set" | "apt" | "apt-get" | "brew" | "dnf" | "yum" | "apk" => true,
        "echo" | "printf" | "cat" | "tee" => cmd.contains('>') || first == "tee",
        "npm" | "pnpm" | "yarn" | "bun" => {
            matches!(second, "install" | "i" | "ci" | "add" | "init" | "create" | "link" | "remove" | "uninstall")
                || (first == "yarn" && second.is_empty())
        }
        "pip" | "pip3" | "pipx" => matches!(second, "install" | "uninstall"),
        "python" | "python3" | "py" => second == "-m" && matches!(third, "pip" | "venv"),
        "uv" => matches!(second, "add" | "sync" | "venv" | "init" | "lock") || (second == "pip" && third == "install"),
        "poetry" | "pipenv" | "bundle" | "composer" | "hatch" => {
            matches!(second, "add" | "install" | "require" | "init" | "lock" | "update")
        }
        "cargo" => matches!(second, "add" | "install" | "new" | "init" | "remove"),
        "go" => {
            matches!(second, "get" | "install") || (second == "mod" && matches!(third, "init" | "tidy" | "download"))
        }
        "gem" => second == "install",
        "npx" | "bunx" | "pnpx" => second.starts_with("create-") || second.starts_with("degit"),
        "dotnet" => matches!(second, "new" | "add" | "restore"),
        "flutter" | "dart" => second == "pub" || second == "create",
        "mix" => second == "deps.get",
        _ => false,
    };
    setup || commands::never_exits(&words) || rewrites(&words) || migrates(&words)
}

/// A database migration or a code generator (`npx prisma migrate dev`, `prisma generate`,
/// `python manage.py migrate`, `rails db:migrate`, `alembic upgrade head`): it changes the work
/// or the database rather than checking it.
pub(super) fn migrates(words: &[&str]) -> bool {
    let name = |w: &str| w.rsplit(['/', '\\']).next().unwrap_or(w).to_owned();
    // A SQL client fed a migration file (`psql "$DB" -f migrations/012_x.sql`) applies it.
    let client = words
        .first()
        .is_some_and(|w| matches!(name(w).as_str(), "psql" | "mysql" | "mariadb" | "sqlite3" | "sqlcmd" | "cockroach"));
    if client && words.iter().any(|w| w.to_lowercase().contains("migration")) {
        return true;
    }
    words.windows(2).any(|pair| {
        let [tool, sub] = pair else { return false };
        let (tool, sub) = (name(tool), *sub);
        match tool.as_str() {
            "prisma" => matches!(sub, "migrate" | "generate" | "db"),
            "drizzle-kit" => matches!(sub, "generate" | "push" | "migrate"),
            "manage.py" => matches!(sub, "migrate" | "makemigrations"),
            "rails" | "rake" => sub.starts_with("db:") || sub == "generate",
            "alembic" => matches!(sub, "upgrade" | "downgrade" | "revision"),
            "sqlx" | "knex" | "diesel" => matches!(sub, "migrate" | "migration"),
            "sequelize" => sub.starts_with("db:migrate"),
            "supabase" => matches!(sub, "db" | "migration"),
            // `mix ecto.migrate`, `mix ecto.create`, generators (`mix phx.gen.auth`,
            // `mix ecto.gen.migration`).
            "mix" => {
                matches!(
                    sub,
                    "ecto.migrate" | "ecto.rollback" | "ecto.create" | "ecto.drop" | "ecto.reset" | "ecto.setup"
                ) || sub.contains(".gen")
            }
            "artisan" => sub.starts_with("migrate") || sub.starts_with("make:"),
            "ef" => matches!(sub, "database" | "migrations"),
            _ => false,
        }
    })
}

/// A command without the program that only wraps it: `sudo`, `time`, `nice`, `env`, or a word
/// planrun does not know in front of `git` (`rtk git add …`, a tool that shortens output).
pub(super) fn without_wrapper(cmd: &str) -> &str {
    let mut cmd = cmd;
    loop {
        let (first, rest) = cmd.split_once(' ').unwrap_or((cmd, ""));
        let rest = rest.trim_start();
        let wraps = matches!(first, "sudo" | "doas" | "time" | "nice" | "nohup" | "command" | "exec" | "env")
            || (!commands::is_program(first) && rest.starts_with("git ") && !first.contains('='));
        if !wraps || rest.is_empty() {
            return cmd;
        }
        cmd = rest;
    }
}

/// A formatter or fixer that rewrites files (`gofumpt -w`, `prettier --write`, `eslint --fix`,
/// `cargo fmt`): it changes the work rather than checking it.
pub(super) fn rewrites(words: &[&str]) -> bool {
    let first = words.first().copied().unwrap_or("");
    // A program named by its path (`vendor/bin/pint`, `./node_modules/.bin/prettier`).
    let first = first.rsplit(['/', '\\']).next().unwrap_or(first);
    let second = words.get(1).copied().unwrap_or("");
    let has = |w: &str| words.contains(&w);
    let checks = [
        "--check",
        "-check",
        "--test",
        "--lint",
        "--dry-run",
        "--verify-no-changes",
        "--check-formatted",
        "--check-only",
        "--set-exit-if-changed",
        "--diff",
    ];
    if checks.iter().any(|w| has(w)) {
        return false;
    }
    // A `format`/`fmt` subcommand (`dotnet format`, `dotnet csharpier format .`, `mix format`,
    // `dart format .`, `terraform fmt`) rewrites the files it is given; a task runner's recipe
    // of that name (`just format`, `npm run format`) may as well only check, so it stays.
    const TASK_RUNNERS: &[&str] = &["npm", "pnpm", "yarn", "bun", "git", "just", "make", "task", "mise", "nx", "turbo"];
    let subcommand = words.iter().skip(1).take(2).any(|w| matches!(*w, "format" | "fmt"));
    has("--write")
        || has("--fix")
        || (subcommand && !TASK_RUNNERS.contains(&first))
        || (matches!(first, "gofmt" | "gofumpt" | "goimports") && has("-w"))
        || (first == "cargo" && second == "fmt")
        || (first == "ruff" && second == "format")
        || first == "black"
        // Formatters that rewrite unless told to only check (`pint --test`, `rustfmt --check`).
        || (matches!(first, "pint" | "rustfmt" | "swiftformat" | "isort" | "stylua"))
        || (matches!(first, "clang-format" | "autopep8") && (has("-i") || has("--in-place")))
        || (first == "php-cs-fixer" && second == "fix")
}

/// Whether an `Expected:` value announces a failure: it mentions failing or an error, and not
/// only to say there is none ("No errors", "0 failed", "PASS").
pub(super) fn expects_failure(value: &str) -> bool {
    // Also in Spanish, Portuguese, French and Korean ("FALLA", "falha", "échec", "실패").
    const FAILING: &[&str] = &[
        "fail",
        "error",
        "失败",
        "错误",
        "报错",
        "失敗",
        "エラー",
        "panic",
        "exception",
        "falla",
        "fallo",
        "falha",
        "échec",
        "실패",
        "오류",
        "에러",
    ];
    // A "non-zero exit" fails, though "zero" alone says there is none.
    let v = value
        .trim()
        .trim_start_matches(['*', '`', ' '])
        .to_lowercase()
        .replace("non-zero", "failing")
        .replace("nonzero", "failing");
    // What to do if it goes otherwise ("If a compile error mentions `x`, add it") hedges the
    // expectation and does not change it; nor do notes in parentheses ("all tests PASS (info,
    // error, context)") when the rest of the line decides.
    let v = without_hedges(&v);
    let bare = without_parentheses(&v);
    const DECIDES: &[&str] = &[
        "pass", "ok", "succe", "green", "fail", "error", "通过", "成功", "失败", "错误", "失敗", "pasa", "falla",
        "실패", "통과",
    ];
    let v = if contains_any(&bare, DECIDES) { bare } else { v };
    // An outcome stated first ("BUILD SUCCESSFUL. Fix any compile errors.") is not undone by an
    // instruction after it.
    let first =
        [". ", "。", "！", "! "].iter().filter_map(|m| v.find(m)).min().and_then(|at| v.get(..at)).unwrap_or(&v);
    const PASSING: &[&str] = &["pass", "success", "succeed", "green", "ok", "成功", "通过", "成功し", "pasa", "통과"];
    if first.len() < v.trim_end_matches(['.', '。']).len()
        && contains_any(first, PASSING)
        && !contains_any(first, FAILING)
    {
        return false;
    }
    if !FAILING.iter().any(|w| v.contains(w)) {
        return false;
    }
    if [
        "pass",
        "ok",
        "success",
        "succeeds",
        "green",
        "成功",
        "通过",
        "全部通过",
        "all pass",
        "all tests pass",
        "pasa",
        "통과",
    ]
    .iter()
    .any(|w| v.starts_with(w))
    {
        return false;
    }
    let mut v = v;
    for negated in [
        "no errors",
        "no error",
        "0 errors",
        "zero errors",
        "without errors",
        "without error",
        "no failures",
        "no failure",
        "0 failures",
        "0 failed",
        "no failing",
        "not fail",
        "doesn't fail",
        "does not fail",
        "no type errors",
        "no lint errors",
        "无错误",
        "没有错误",
        "无报错",
        "エラーなし",
        "エラーがない",
        // "sin errores", "sem erros", "sans erreur", "실패 0" (zero failures), "오류 없음".
        "sin errores",
        "sin error",
        "sin fallos",
        "sem erros",
        "sem falhas",
        "sans erreur",
        "aucune erreur",
        "실패 0",
        "0 실패",
        "실패 없",
        "오류 없",
        "에러 없",
    ] {
        v = v.replace(negated, "");
    }
    if FAILING.iter().any(|w| v.trim_start().starts_with(w)) {
        return true;
    }
    // Each clause that mentions failing or errors must say there are none
    // ("`errors` 为空", "预期没有编译错误", "no type errors").
    const NONE: &[&str] = &[
        "no ",
        "0 ",
        "zero",
        "without",
        "none",
        "empty",
        "clean",
        "pre-existing",
        "preexisting",
        "无",
        "没有",
        "为空",
        "なし",
        "ない",
        "sin ",
        "sem ",
        "sans ",
        "없",
    ];
    v.split([',', ';', '，', '；', '。']).any(|clause| contains_any(clause, FAILING) && !contains_any(clause, NONE))
}

/// An expectation without its conditional sentences ("If it does not compile, …", "Otherwise …",
/// "如果…"): they say what to do when the check goes otherwise, not what it should show.
pub(super) fn without_hedges(v: &str) -> String {
    const HEDGES: &[&str] = &["if ", "otherwise", "else ", "in case", "should it ", "如果", "若", "否则", "もし"];
    let mut kept = String::new();
    let mut rest = v;
    while !rest.is_empty() {
        let end = [". ", "。", "; ", "；", "\n"]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| at + m.len()))
            .min()
            .unwrap_or(rest.len());
        let (sentence, tail) = rest.split_at(end);
        if !HEDGES.iter().any(|h| sentence.trim_start().starts_with(h)) {
            kept.push_str(sentence);
        }
        rest = tail;
    }
    if kept.trim().is_empty() { v.to_owned() } else { kept }
}

/// The text without what stands in parentheses, ASCII or full-width.
pub(super) fn without_parentheses(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut depth = 0usize;
    for c in v.chars() {
        match c {
            '(' | '（' => depth += 1,
            ')' | '）' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}
