//! Unit tests of the superpowers importer: task headings, Files lists, verify steps, shell commands.

use super::*;

#[test]
fn headings() {
    let parts = |t: &'static str| task_heading(t).map(|h| (h.done, h.number, h.title));
    assert_eq!(parts("Task 3: Rate limiter"), Some((false, "3", "Rate limiter")));
    assert_eq!(parts("✅ task 4b — Export (done)"), Some((true, "4b", "Export")));
    assert_eq!(parts("Task: nothing"), Some((false, "", "nothing")));
    assert_eq!(parts("Task 2.1. Sub ✅"), Some((true, "2.1", "Sub")));
    assert!(task_heading("Tasks").is_none());
    assert!(task_heading("Task list").is_none());
    assert!(task_heading("Tas").is_none());
}

#[test]
fn paths() {
    assert_eq!(clean_path("`src/a.py:12-40`").as_deref(), Some("src/a.py"));
    assert_eq!(clean_path("./src/b.rs (new)").as_deref(), Some("src/b.rs"));
    assert_eq!(clean_path("src/c.rs:L10-L20").as_deref(), Some("src/c.rs"));
    assert_eq!(clean_path("none needed"), None);
    assert_eq!(clean_path("`src/limiter/`").as_deref(), Some("src/limiter/**"));
    // Names from the code in a note are not files; extensionless file names are.
    assert_eq!(clean_path("`ADVISOR_PROMPT`"), None);
    assert_eq!(clean_path("`TurnDeps`"), None);
    assert_eq!(clean_path("`Makefile`").as_deref(), Some("Makefile"));
}

#[test]
fn brace_groups() {
    assert_eq!(expand_braces("crates/{a, b}/Cargo.toml"), ["crates/a/Cargo.toml", "crates/b/Cargo.toml"]);
    assert_eq!(expand_braces("{x,y}/{1,2}.rs"), ["x/1.rs", "x/2.rs", "y/1.rs", "y/2.rs"]);
    assert_eq!(expand_braces("src/{lib}.rs"), ["src/{lib}.rs"]);
    assert_eq!(expand_braces("src/{a,b"), ["src/{a,b"]);
    assert_eq!(brace_base("crates/{a,b}/src/lib.rs").as_deref(), Some("crates/{a,b}/"));
    assert_eq!(brace_base("src/lib.rs"), None);
}

#[test]
fn entry_keys() {
    assert!(is_entry_key("Create or Modify"));
    assert!(is_entry_key("Create/Update"));
    assert!(is_entry_key("**Modify**"));
    assert!(!is_entry_key("Create or explain"));
    assert!(!is_entry_key("Notes"));
}

#[test]
fn folders_of_run_lines() {
    assert_eq!(run_in_folder("Run from `desktop/`:"), Some(("", 20, Some("desktop"))));
    assert_eq!(
        run_in_folder("Run in `web/app`: `npm test`").map(|r| (r.0, r.2)),
        Some(("`npm test`", Some("web/app")))
    );
    assert_eq!(run_in_folder("In `src/app.ts`: add the handler"), None);
    assert_eq!(run_in_folder("在 `server` 目录下运行：").map(|r| r.2), Some(Some("server")));
    assert_eq!(run_in_folder("Run from the root:"), None);
    assert_eq!(run_in_folder("In `a.rs` we add a very long explanation: here"), None);
}

#[test]
fn wrappers_do_not_hide_setup() {
    assert!(is_setup("rtk git add src/a.rs"));
    assert!(is_setup("sudo time git commit -m x"));
    assert!(!is_setup("rtk cargo test"));
    assert_eq!(without_wrapper("env git status"), "git status");
    assert_eq!(without_wrapper("FOO=1 git add ."), "FOO=1 git add .");
}

#[test]
fn prose_commands_joined_and_noted() {
    let src = crate::source::Sources::default().add("plan.md", String::new());
    let cmds = |t: &str| prose_in(src, 0, t).into_iter().map(|(c, _)| c).collect::<Vec<_>>();
    assert_eq!(
        cmds("Run `cargo xtask test dev` + `cargo xtask test system`."),
        ["cargo xtask test dev", "cargo xtask test system"]
    );
    assert_eq!(cmds("(verify with `cargo check -p q` — a wrong path fails to compile)"), ["cargo check -p q"]);
    assert_eq!(cmds("Voltar a correr `npm test` e confirmar que passa"), ["npm test"]);
    assert!(cmds("run `npm test` to see it fail").is_empty());
    // A list with a comma before its last "and"; tools named after "inspect" are not run.
    assert_eq!(
        cmds(
            "Run `scripts/check.sh`, `scripts/build.sh 1.0.0`, and `scripts/dmg.sh 1.0.0`; inspect `file`, `codesign`."
        ),
        ["scripts/check.sh", "scripts/build.sh 1.0.0", "scripts/dmg.sh 1.0.0"]
    );
}

#[test]
fn notes_in_entries() {
    let notes = |v: &str| without_notes(v).split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(notes("`a.ts` (`X`), `b.ts`(`Y` 内)"), "`a.ts` , `b.ts`");
    assert_eq!(notes("`src/app/(auth)/page.tsx` (new)"), "`src/app/(auth)/page.tsx`");
    assert_eq!(notes("src/app/(auth)/page.tsx"), "src/app/(auth)/page.tsx");
    assert_eq!(notes("`a.rs` — mirrors `b.rs`"), "`a.rs`");
    assert_eq!(without_notes("`a` (ü)").len(), "`a` (ü)".len());
}

#[test]
fn migrations_and_generators_are_setup() {
    assert!(is_setup("npx prisma migrate dev --name x"));
    assert!(is_setup("npx prisma generate"));
    assert!(is_setup("python manage.py makemigrations"));
    assert!(is_setup("bin/rails db:migrate"));
    assert!(!is_setup("npx prisma validate"));
    assert!(!is_setup("python manage.py test"));
    assert!(is_setup("psql \"$DATABASE_URL\" -f migrations/012_runs.sql"));
    assert!(is_setup("set -a; source .env.local; set +a"));
    assert!(is_setup("dotnet csharpier format ."));
    assert!(is_setup("mix phx.gen.auth Accounts User users"));
    assert!(is_setup("$env:ASPNETCORE_ENVIRONMENT='Development'"));
    assert!(is_setup("vendor/bin/pint --dirty --format agent"));
    assert!(!is_setup("vendor/bin/pint --test"));
    assert!(!is_setup("rustfmt --check src/main.rs"));
    assert!(!is_setup("clang-format --dry-run -Werror a.c"));
    assert!(is_setup("mix ecto.gen.migration create_orgs"));
    assert!(is_setup("mix deps.get && mix ecto.migrate"));
    assert!(is_setup("php artisan migrate --seed"));
    assert!(is_setup("dotnet ef database update"));
    assert!(!is_setup("mix ecto.migrate && mix test test/a_test.exs"));
    assert!(!is_setup("mix test"));
    assert!(is_setup("dotnet format"));
    assert!(is_setup("mix format"));
    assert!(!is_setup("dotnet format --verify-no-changes"));
    assert!(!is_setup("just format"), "a recipe may only check");
    assert!(!is_setup("mix format --check-formatted"));
    assert!(!is_setup("dart format --set-exit-if-changed ."));
    assert!(!is_setup("psql \"$DATABASE_URL\" -c 'select count(*) from runs'"));
}

#[test]
fn the_plan_itself() {
    let p = Path::new("/x/repo/docs/superpowers/plans/2026-01-01-a.md");
    assert_eq!(plan_in_repo(p).as_deref(), Some("docs/superpowers/plans/2026-01-01-a.md"));
    assert_eq!(plan_in_repo(Path::new("/nowhere/plan.md")), None);
}

#[test]
fn outcome_first_then_instructions() {
    assert!(!expects_failure("BUILD SUCCESSFUL。修复所有编译错误。"));
    assert!(!expects_failure("PASS. Fix any lint errors it reports."));
    assert!(expects_failure("either it succeeds, or it fails with errors to fix. Then fix them."));
}

#[test]
fn hedged_expectations() {
    assert!(!expects_failure("compiles and PASSES. If a compile error mentions `thiserror`, add it."));
    assert!(!expects_failure("all `flow` tests PASS (info, backoff, error, context)"));
    assert!(expects_failure("FAIL (ModuleNotFoundError)"));
    assert!(expects_failure("FAIL with `ImportError`. If it passes, the test is wrong."));
    assert!(!expects_failure("PASS。如果报错，检查依赖"));
    // Other languages: Spanish, Korean.
    assert!(expects_failure("FALLA (las etiquetas nuevas aún no existen)."));
    assert!(!expects_failure("PASA."));
    assert!(!expects_failure("sin errores (ya no se referencia `vMin`/`V_MIN`)."));
    assert!(!expects_failure("typecheck OK; todas las pruebas PASAN (las ~40 previas)."));
    assert!(!expects_failure("실패 0. `wiring.test.mjs`가 버튼 제거를 확인해 준다."));
    assert!(!expects_failure("PASS, 실패 0"));
    assert!(expects_failure("실패 — `rowsOf`가 정의되지 않았다"));
}

#[test]
fn exit_codes_and_known_errors() {
    assert!(expects_failure("non-zero exit because the method does not exist."));
    assert!(expects_failure("exit code nonzero"));
    assert!(!expects_failure("exit 0, including a save round trip."));
    assert!(!expects_failure("same pre-existing errors only, no new ones."));
    assert!(!expects_failure("same 64 pre-existing errors, no new ones."));
    assert!(expects_failure("new type errors in `routes.ts`"));
}

#[test]
fn fail_words_inside_commands_do_not_count() {
    assert!(!says_fail("Run: `ctest --test-dir build --output-on-failure -R x`"));
    assert!(!says_fail("Run: `mvn -q test -Dtest=A -DfailIfNoTests=false`"));
    assert!(says_fail("Run `pytest -q` to see it fail"));
    assert!(says_fail("Step 2: Run test to verify it fails"));
    assert!(!says_fail("Step 4: Run `make check-failures` again"));
}

#[test]
fn steps_that_run_the_last_command_again() {
    assert!(runs_again("Run both scenes again. Expected: exit 0."));
    assert!(runs_again("동일 명령으로 테스트가 통과하는지 확인한다."));
    assert!(runs_again("Re-run the suite"));
    assert!(runs_again("用相同的命令再验证一次"));
    assert!(!runs_again("Run `pytest -q` again"), "a line with its own command says it");
    assert!(!runs_again("Add the handler again to the router"), "no word for running");
}

#[test]
fn alternatives_replace_a_chain_they_end() {
    assert_eq!(
        alternative("(The first is a noop. Or run directly: `flutter test a_test.dart`.)"),
        Some("flutter test a_test.dart")
    );
    assert_eq!(alternative("Run `make test`."), None);
    assert!(chain_ends_with("melos bootstrap 2>/dev/null; flutter test a_test.dart", "flutter test a_test.dart"));
    assert!(chain_ends_with("npm ci && npm test", "npm test"));
    assert!(!chain_ends_with("cargo test", "test"));
    assert!(!chain_ends_with("xnpm test", "npm test"));
}

#[test]
fn files_run_by_an_earlier_command() {
    let src = crate::source::Sources::default().add("plan.md", String::new());
    let godot = "& 'C:\\Godot.exe' --headless --scene res://tests/RelicTest.tscn".to_owned();
    let all = vec![("pytest -q".to_owned(), Span::new(src, 0, 1)), (godot.clone(), Span::new(src, 2, 3))];
    assert_eq!(named_run("Run `RelicTest.tscn`. Expected: exit 0.", &all).map(|(c, _)| c), Some(godot));
    assert_eq!(named_run("Open `RelicTest.tscn` in the editor", &all), None, "not run");
    assert_eq!(named_run("Run `Other.tscn`.", &all), None, "no command runs it");
}
