//! Unit tests of the spec-kit importer: detection, items, paths, the Dependencies section.

use super::*;

#[test]
fn items() {
    let i = parse_item("T012 [P] [US1] Create model in src/models/x.py");
    assert_eq!(
        i,
        Some(Item { id: "T012", parallel: true, labels: vec!["US1"], title: "Create model in src/models/x.py" })
    );
    let i = parse_item("**T003**: [p] Lint");
    assert_eq!(i.map(|i| (i.id, i.parallel, i.title)), Some(("T003", true, "Lint")));
    assert_eq!(parse_item("T1000ms timeout"), None);
    assert_eq!(parse_item("Task 1"), None);
    assert_eq!(parse_item("T7a [Story 2] Fix").map(|i| (i.id, i.labels)), Some(("T7a", vec!["Story 2"])));
}

#[test]
fn paths() {
    let found: Vec<String> = paths_in(
        "Implement authentication/authorization in src/auth/, see Node.js docs and `README.md`, (quickstart.md).",
    )
    .into_iter()
    .map(|p| p.0)
    .collect();
    // The design document in the parenthesis is what the work follows, not a file it changes.
    assert_eq!(found, vec!["src/auth/**", "**/README.md"]);
    let found: Vec<String> =
        paths_in("User model in src/models/user.py e.g. with backend/src").into_iter().map(|p| p.0).collect();
    assert_eq!(found, vec!["src/models/user.py", "backend/src"]);
}

#[test]
fn imported_sources_and_outputs_checked_after_a_run_are_not_files() {
    assert_eq!(
        files_of("Update App in `src/App.tsx` — import `Word` and the sample from `src/data/sample.ts`"),
        vec!["src/App.tsx"]
    );
    assert!(files_of("Run `npm run build` — verify the build succeeds and `.exe` appears in `output/`").is_empty());
    assert!(files_of("Ejecutar `npm run gen:types` y confirmar que `src/types/db.ts` no cambia").is_empty());
    // A file copied from elsewhere is still not taken; a file written after "from" in prose is.
    assert_eq!(files_of("Remove the fallback from `src/x.ts`"), vec!["src/x.ts"]);
}

#[test]
fn elided_folders_are_globs() {
    assert_eq!(files_of("Create `src/main/java/.../dao/X.java` with the entity"), vec!["src/main/java/**/dao/X.java"]);
    assert_eq!(as_path("src/…/x.rs", true).as_deref(), Some("src/**/x.rs"));
    assert_eq!(as_path(".../x.rs", true), None);
}

fn files_of(text: &str) -> Vec<String> {
    paths_in(text).into_iter().map(|p| p.0).collect()
}

#[test]
fn file_names_brace_lists_and_outputs() {
    assert_eq!(
        files_of("Create the layout: cmd/app/, internal/{cli,config}/, e2e/ and add cobra to go.mod, go.sum"),
        vec!["cmd/app/**", "internal/{cli,config}/**", "e2e/**", "**/go.mod", "**/go.sum"]
    );
    // A comma outside braces still ends a path.
    assert_eq!(as_path("src/a,b", false), None);
    assert_eq!(files_of("Record versions with `npm ls --json > deps-before.json`"), vec!["**/deps-before.json"]);
    assert!(files_of("Run `make lint 2> /dev/null`").is_empty());
}

#[test]
fn files_that_are_not_targets() {
    // A cited design document.
    assert_eq!(
        files_of("Add indexes in firebase/indexes.json (per data-model.md and research.md)"),
        vec!["firebase/indexes.json"]
    );
    // The folder a command runs in.
    assert_eq!(files_of("Run `pnpm install` in web/ to generate web/pnpm-lock.yaml"), vec!["web/pnpm-lock.yaml"]);
    assert!(files_of("Run the tests (`cargo test` in server/)").is_empty());
    // A folder a task creates things in stays a file.
    assert_eq!(files_of("Create models in src/models/"), vec!["src/models/**"]);
    // Entries of an ignore file.
    assert_eq!(files_of("Update .gitignore to ignore dist/, *.test and coverage"), vec!["**/.gitignore"]);
    assert_eq!(files_of("Create .env.example and add .env to `.gitignore`"), vec!["**/.env.example", "**/.gitignore"]);
    // Sub-folders listed relative to the folder just named.
    assert_eq!(
        files_of("Create lib/board/ directory structure: data/models/, presentation/screens/"),
        vec!["lib/board/**"]
    );
}

#[test]
fn dependencies_headings() {
    for h in [
        "Dependencies",
        "Dependencies & Execution Order",
        "Task Dependencies",
        "User Story Dependencies",
        "Dependency Graph",
    ] {
        assert!(is_dependencies_heading(&h.to_ascii_lowercase()), "{h}");
    }
    for h in [
        "Phase 2: User Story 2 - Install core dependencies (Priority: P2)",
        "Phase 3: Dependencies",
        "External Dependencies",
    ] {
        assert!(!is_dependencies_heading(&h.to_ascii_lowercase()), "{h}");
    }
}

#[test]
fn files_cited_subjects_and_config_content() {
    // Citations without a citing word, marked by `§`, and citing words in other languages.
    assert_eq!(
        files_of("Extend `tests/loop.test.ts` with one case per site (data-model.md §Kinds, spec.md §Tests)"),
        vec!["tests/loop.test.ts"]
    );
    assert_eq!(files_of("Agregar `Zona` a `prisma/schema.prisma` según `data-model.md`"), vec!["prisma/schema.prisma"]);
    assert_eq!(
        files_of("Atualizar `src/types/a.ts` a partir de `specs/004-x/contracts/a.schema.ts`"),
        vec!["src/types/a.ts"]
    );
    assert_eq!(files_of("实现存储层 src/db/store.ts（参见 data-model.md）"), vec!["src/db/store.ts"]);
    // A package name is not a path; `path::symbol` is the path.
    assert_eq!(files_of("Add a `.changeset/` entry; bump `@acme/runner` with a patch"), vec![".changeset/**"]);
    assert_eq!(
        files_of("JWT dependency in backend/app/auth/deps.py::get_current_user_id()"),
        vec!["backend/app/auth/deps.py"]
    );
    // Config content in backticks: a relative base config, globs.
    assert_eq!(
        files_of("Create `libs/w/tsconfig.json` — extends `../../tsconfig.base.json`, `files: []`"),
        vec!["libs/w/tsconfig.json"]
    );
    assert_eq!(
        files_of("Create `apps/site/tailwind.config.js` — content includes `./src/**/*.{ts,tsx}`"),
        vec!["apps/site/tailwind.config.js"]
    );
    // Build outputs a task measures.
    assert_eq!(
        files_of("Medir `dist/index.html` + `dist/assets/app-*.js`; registrar em `docs/research.md`"),
        vec!["docs/research.md"]
    );
    // A folder a command acts on, in an item whose work is the command.
    assert!(files_of("Run `pnpm install` from repo root to link `libs/widgets` into the workspace").is_empty());
    // Files a test exercises.
    assert_eq!(
        files_of("Add reuse tests for an existing `AGENTS.md` and `.mcp.json` in `tests/integration/test_x.py`"),
        vec!["tests/integration/test_x.py"]
    );
    assert_eq!(
        files_of("Criar `tests/unit/icons.spec.ts`: todo id existe em `src/assets/sprite.svg`"),
        vec!["tests/unit/icons.spec.ts"]
    );
    // "ignore" as a noun before a list of files the task works on.
    assert_eq!(
        files_of("Verify the entry point and ignore patterns in `src/x/__main__.py` and `.gitignore`"),
        vec!["src/x/__main__.py", "**/.gitignore"]
    );
    assert_eq!(files_of("Update .gitignore to ignore dist/ and build/"), vec!["**/.gitignore"]);
}

#[test]
fn cited_documents_are_not_files() {
    // Citing words: required by, allowed by, against; and the ones listed after them.
    assert_eq!(
        files_of("Harden `api/settings.py` with the limits required by `db/0003_limits.sql`"),
        vec!["api/settings.py"]
    );
    assert_eq!(
        files_of("Create `api/models/token.py` holding only fields allowed by `contracts/tokens.md`"),
        vec!["api/models/token.py"]
    );
    assert!(files_of("Check the release notes against spec.md and quickstart.md").is_empty());
    // The feature's design documents after "from" / "using", or checked by the item's verb.
    assert_eq!(
        files_of("Walk through Scenario 2 from `specs/004-x/quickstart.md` plus `tests/e2e/tokens.spec.ts`"),
        vec!["tests/e2e/tokens.spec.ts"]
    );
    assert!(files_of("Smoke-test the flow end-to-end using scenarios from quickstart.md").is_empty());
    assert!(files_of("Run quickstart.md validation").is_empty());
    assert!(files_of("Follow the quickstart.md steps on a clean machine").is_empty());
    // Japanese: a citing word after the path.
    assert_eq!(files_of("`src/a.py` を `data-model.md` に従って実装する"), vec!["src/a.py"]);
    // A design document cited by an item that works on other files: followed, not changed.
    assert_eq!(
        files_of("ディレクトリ構造を作成する。plan.md のソースコード構造に従い、`cmd/app/`、`internal/cli/` を作成"),
        vec!["cmd/app/**", "internal/cli/**"]
    );
    assert_eq!(files_of("Comment out a line in `web/.env.example` (research.md R2)."), vec!["web/.env.example"]);
    assert_eq!(files_of("Implement `load()` in `src/x.ts` (contracts/page-data.md)"), vec!["src/x.ts"]);
    // Design documents a task writes stay files.
    assert_eq!(files_of("Update quickstart.md with the new flags"), vec!["**/quickstart.md"]);
    assert_eq!(files_of("Record the results in `specs/004-x/research.md`"), vec!["specs/004-x/research.md"]);
    assert_eq!(
        files_of("Check that the `quickstart.md` links in README.md are right"),
        vec!["**/quickstart.md", "**/README.md"]
    );
}

#[test]
fn name_patterns_and_notes_are_not_files() {
    // Placeholders and wildcards in a bare name: a pattern, not a file.
    assert_eq!(files_of("Write the results to a file (YYYY-MM-DD_{RUN}_out.csv) (jobs/out/)"), vec!["jobs/out/**"]);
    assert_eq!(files_of("Stop writing *.log files in `jobs/run.py`"), vec!["jobs/run.py"]);
    assert_eq!(files_of("Pin `left-pad@1.3.0.txt` in `web/deps.txt`"), vec!["web/deps.txt"]);
    assert_eq!(files_of("Annotate name with @NotBlank and @Size(max=80) in `api/Item.java`"), vec!["api/Item.java"]);
    // A bare name that is the last part of a path the item names: that file.
    assert_eq!(
        files_of("ワークフロー作成（nightly.yml） (.github/workflows/nightly.yml)"),
        vec![".github/workflows/nightly.yml"]
    );
    // A bare name in a note before the final file list is what the text is about.
    assert_eq!(files_of("READMEに使い方を追記（run.sh） (README.md)"), vec!["**/README.md"]);
    assert_eq!(files_of("Add `run.sh` usage to README (README.md)"), vec!["**/run.sh", "**/README.md"]);
}

#[test]
fn inline_orders_in_other_languages() {
    let ids = |t: &str| inline_deps(t).into_iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(ids("Criar `src/a.vue` (depende de T003, T005)"), vec!["T003", "T005"]);
    assert_eq!(ids("Crear el modelo (depende solo de T002)"), vec!["T002"]);
    assert_eq!(ids("Créer la vue (dépend de T004)"), vec!["T004"]);
    assert_eq!(ids("Ansicht bauen (nach T004)"), vec!["T004"]);
    assert_eq!(ids("实现视图（依赖 T004）"), vec!["T004"]);
    assert_eq!(ids("Add the entry once T001–T003 land"), vec!["T001"]);
    assert!(ids("Send a Nachricht to T004").is_empty());
}

#[test]
fn plural_phases() {
    let n = |t: &str| phase_refs(t).into_iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(n("depend on Phases 1 + 2 being merged"), vec!["1", "2"]);
    assert_eq!(n("All (Phases 4-6) depend on Phase 3"), vec!["4", "5", "6", "3"]);
    assert_eq!(n("alongside Phases 1–3"), vec!["1", "2", "3"]);
    assert_eq!(n("Phases 1 and 2, then phase 3"), vec!["1", "2", "3"]);
    assert!(n("multiphase rollout").is_empty());
}

#[test]
fn refs() {
    let r: Vec<(String, Option<String>)> =
        id_refs("Tests (T004-T007) before T008, xT009").into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(r, vec![("T004".to_owned(), Some("T007".to_owned())), ("T008".to_owned(), None)]);
}
