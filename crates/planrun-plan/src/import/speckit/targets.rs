//! Which of the paths an item names are files its task works on: documents it cites, folders a
//! command runs in, and entries written into an ignore file are dropped.

use super::*;

/// Words (lower case) after which a file is cited, not worked on: `per data-model.md`,
/// `see contracts/api.md`.
pub(super) const REFERENCE_WORDS: [&str; 57] = [
    "per",
    "see",
    "cf.",
    "according to",
    "described in",
    "defined in",
    "documented in",
    "specified in",
    "based on",
    "following",
    "refer to",
    "as in",
    "matching",
    "from the design in",
    "against",
    "required by",
    "allowed by",
    "permitted by",
    "defined by",
    "specified by",
    "described by",
    "mandated by",
    "listed in",
    "outlined in",
    "in accordance with",
    "consistent with",
    "compliant with",
    "conforming to",
    "conform to",
    "aligned with",
    "in line with",
    "as documented in",
    // The source of a translation (`README-ES.md … exact translation of README.md`).
    "translation of",
    "translated from",
    // Spanish, Portuguese, French, German, Chinese, Japanese.
    "según",
    "segun",
    "conforme",
    "ver",
    "véase",
    "consulte",
    "de acuerdo con",
    "a partir de",
    "segundo",
    "selon",
    "voir",
    "d'après",
    "gemäß",
    "gemäss",
    "laut",
    "siehe",
    "参见",
    "参考",
    "根据",
    "按照",
    "参照",
    "详见",
    "見る",
];

/// Japanese words after a path that cite it: `` `data-model.md` に従って `` (following),
/// `に基づいて` (based on), `を参照` (referring to).
pub(super) const REFERENCE_AFTER: [&str; 6] = ["に従", "に基づ", "を参照", "を参考", "に準拠", "のとおり"];

/// Design documents of a spec-kit feature (`spec.md`, `quickstart.md`, `contracts/x.md` …),
/// written bare or under `specs/<feature>/`: what tasks read, not what they change.
pub(super) fn is_design_doc(path: &str) -> bool {
    let rest = path.strip_prefix("**/").unwrap_or(path);
    let rest = match rest.strip_prefix("specs/").and_then(|r| r.split_once('/')) {
        Some((_, inner)) => inner,
        None => rest,
    };
    ["spec.md", "plan.md", "research.md", "data-model.md", "quickstart.md", "tasks.md"].contains(&rest)
        || rest.strip_prefix("contracts/").is_some_and(|c| {
            c.is_empty() || c == "**" || [".md", ".yaml", ".yml", ".json", ".graphql"].iter().any(|e| c.ends_with(e))
        })
}

/// Verbs whose object is checked or followed, not changed (`Run quickstart.md validation`).
pub(super) const CHECK_VERBS: [&str; 11] =
    ["run", "execute", "validate", "verify", "check", "test", "review", "confirm", "walk", "follow", "perform"];

/// The parenthesis a spec-kit item may end with to name its files (`Description (file path)`):
/// its byte offset, when every word in it is a path.
pub(super) fn trailing_file_list(text: &str) -> Option<usize> {
    let t = text.trim_end().trim_end_matches(['.', '。']);
    let inner_end = t.strip_suffix(')')?.len();
    let open = t.get(..inner_end)?.rfind('(')?;
    let inner = t.get(open + 1..inner_end)?;
    let words: Vec<&str> =
        inner.split([',', ' ', '、']).map(|w| w.trim_matches('`')).filter(|w| !w.is_empty()).collect();
    (!words.is_empty() && words.iter().all(|w| *w == "and" || as_path(w, true).is_some())).then_some(open)
}

/// Drops the paths of an item's text that are not files the task works on: documents it cites
/// (`per data-model.md`), the folder a command runs in (`` `pnpm install` in web/ ``), entries
/// written into an ignore file (`add dist/ to .gitignore`, `update .gitignore to ignore dist/`),
/// and sub-folders listed relative to the folder just named (`lib/x/ directory structure:
/// data/models/, …`), which that folder's glob already covers.
pub(super) fn targets_only(
    text: &str,
    spans: &[(&str, usize)],
    found: Vec<(String, usize, usize)>,
) -> Vec<(String, usize, usize)> {
    let lower = text.to_ascii_lowercase();
    if lower.len() != text.len() {
        // Byte positions below are only trusted when lowercasing keeps them.
        return found;
    }
    let ignore_file = found.iter().any(|(p, _, _)| is_ignore_file(p));
    let test_item = found.iter().any(|(p, _, _)| is_test_path(p))
        && {
            let head = lower.get(..found.first().map_or(0, |f| f.1)).unwrap_or("");
            found.first().is_some_and(|(p, _, _)| is_test_path(p))
                || head
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .any(|w| ["test", "tests", "teste", "testes"].contains(&w))
        }
        && !lower.contains("implement");
    let run_item = {
        let t = lower.trim_start();
        ["run ", "execute ", "rodar ", "executar ", "ejecutar ", "lancer ", "exécuter "]
            .iter()
            .any(|w| t.strip_prefix(w).is_some_and(|r| r.starts_with('`')))
    };
    // `Change directory to \`catalog\` and run \`flutter pub get\``: the folder is where the
    // command runs.
    let cd_item = {
        let t = lower.trim_start();
        (t.starts_with("change directory") || t.starts_with("cd ")) && spans.iter().any(|(c, _)| is_command(c))
    };
    // `Implement X … in src/x.rs`: the file named after "in" is the one worked on; paths named
    // before it are what the program handles at run time (`version extraction from Cargo.toml`,
    // `merge for .vscode/settings.json`, `(memory/ → .stencil/memory/)`, `(see X in cli.py)`).
    let implement_target = if lower.trim_start().starts_with("implement") {
        found.iter().find(|(p, off, _)| {
            has_extension(p) && ends_with_word(lower.get(..*off).unwrap_or("").trim_end_matches(['`', ' ']), &["in"])
        })
    } else {
        None
    }
    .map(|(_, off, _)| *off);
    // Paths in a parenthesis that follows a folder are its sub-folders: `在 notes-svc/ 下创建
    // 目录骨架（cmd/server/, internal/{auth,notes}）`.
    let sub_folders: Option<(usize, usize)> =
        found.first().filter(|(p, _, _)| p.ends_with("/**")).and_then(|(_, off, len)| {
            let rest = text.get(off + len..)?;
            let open = rest.find(['(', '（'])?;
            let gap = rest.get(..open)?;
            if gap.contains(['.', ';', '。']) || gap.contains('/') {
                return None;
            }
            let close = rest.get(open..)?.find([')', '）'])?;
            Some((off + len + open, off + len + open + close))
        });
    // `Description (file path)`: the final parenthesis names the files.
    let file_list = trailing_file_list(text);
    // An item whose work is checking something (`Verify …`, `Contrôler …`).
    let checking_item = lower.split_whitespace().next().is_some_and(|w| {
        CHECK_VERBS.contains(&w)
            || ["contrôler", "vérifier", "valider", "exécuter", "lancer", "verificar", "validar", "ejecutar", "prüfen"]
                .contains(&w)
    });
    // Where the first ignore file is named: entries in a parenthesis after it are its
    // patterns (`Create .gitignore with Rails patterns (.env, log/, tmp/)`).
    let ignore_at = found.iter().find(|(p, _, _)| is_ignore_file(p)).map(|(_, o, _)| *o);
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut previous_cited = false;
    let mut previous_ignored = false;
    let mut parent: Option<(usize, String)> = None; // end of a folder followed by `:`, its glob
    let mut previous_end = 0;
    let all_found = found.clone();
    for (path, off, len) in found {
        let before = lower.get(..off).unwrap_or("").trim_end_matches(['`', '(', '"', '\'', '[', ' ']);
        if implement_target.is_some_and(|t| off < t) || cd_item && path.ends_with("/**") {
            continue;
        }
        // Files with an extension there are files made in the folder (`(bug.yml, idea.yml)`).
        if sub_folders.is_some_and(|(o, c)| off > o && off < c) && !has_extension(&path) {
            continue;
        }
        // A parenthesis open before this path (not closed yet).
        let raw_before = lower.get(..off).unwrap_or("");
        let open_paren = raw_before.rfind(['(']).filter(|p| !raw_before.get(*p..).unwrap_or("").contains(')'));
        if let (Some(p), Some(i)) = (open_paren, ignore_at) {
            // The ignore file is the last path before the parenthesis.
            // … and nothing else is named between them (`Add .gitignore and the settings (x.yml)`).
            let gap = lower.get(i..p).unwrap_or("");
            let between = all_found.iter().any(|(_, o, _)| *o > i && *o < p)
                || gap.contains(" and ")
                || gap.contains(',')
                || gap.contains(" & ");
            if i < p && !between && !is_ignore_file(&path) {
                continue;
            }
        }
        // `in \`test/\` source set`: a Gradle source set, not a folder of the repository.
        if path.ends_with("/**")
            && lower.get(off + len..).is_some_and(|r| r.trim_start_matches('`').trim_start().starts_with("source set"))
        {
            continue;
        }
        // In a parenthesis that starts with "see": cited (`(see \`LIMIT\` in cli.py)`).
        let paren = before.rfind('(').filter(|p| !before.get(*p..).unwrap_or("").contains(')'));
        if paren.is_some_and(|p| before.get(p + 1..).unwrap_or("").trim_start().starts_with("see ")) {
            continue;
        }
        // A sentence that keeps paths as they are (`Keep .github/, Dockerfile, README.md.`).
        let sentence = before.rfind(". ").map_or(before, |p| before.get(p + 2..).unwrap_or(""));
        let sentence = format!("{} ", sentence.trim_start());
        if ["keep ", "leave ", "preserve ", "do not touch "].iter().any(|w| sentence.starts_with(w)) {
            continue;
        }
        // A folder a command written without backticks acts on (`helm lint charts/x/`).
        if !has_extension(&path) && !path.starts_with("**/") {
            let words: Vec<&str> = before.split_whitespace().collect();
            if words.len() >= 2 {
                let cmd = words.get(words.len() - 2..).map(|w| w.join(" ")).unwrap_or_default();
                if is_command(&cmd) && !text.get(..off).unwrap_or("").trim_end().ends_with('`') {
                    continue;
                }
            }
        }
        // The item's final file list (`Description (file path)`) names its files: a folder
        // named before it that holds one of them is where that file is.
        let heads_list = lower.get(off + len..).is_some_and(|rest| {
            let rest = rest.trim_start_matches('`');
            rest.starts_with(':') || rest.split(':').next().is_some_and(|g| g.trim().len() <= 24 && rest.contains(':'))
        });
        // Unless that parenthesis lists the folder's own sub-folders (`docker/ 디렉토리 구조 생성
        // (docker/scripts/, docker/config/)`).
        let lists_sub_folders = sub_folders.is_some_and(|(o, _)| {
            file_list.is_some_and(|f| lower.get(f..o).is_some_and(|g| g.trim().is_empty()) || f == o)
        });
        if file_list.is_some_and(|open| off < open) && path.ends_with("/**") && !heads_list && !lists_sub_folders {
            let folder = path.trim_end_matches("**");
            if all_found
                .iter()
                .any(|(q, o, _)| file_list.is_some_and(|open| *o > open) && q.starts_with(folder) && *q != path)
            {
                continue;
            }
        }
        let between = lower.get(previous_end.min(off)..off).unwrap_or("");
        let joined = previous_end > 0 && is_list_joint(between);
        previous_end = off + len;
        // Cited documents, and the ones listed right after a cited one.
        // A section sign after the path cites a part of it: `(data-model.md §Kinds)`.
        let section = lower.get(off + len..).is_some_and(|r| r.trim_start_matches(['`', ' ']).starts_with('§'));
        let after = text.get(off + len..).unwrap_or("").trim_start_matches(['`', ' ', ')', '）']);
        let cited_after = REFERENCE_AFTER.iter().any(|w| after.starts_with(w));
        // A design document of the feature is read, not changed: after "from" or "using"
        // (`scenarios from quickstart.md`), and as the object of a checking verb (`Run
        // quickstart.md validation`, `Follow the quickstart.md steps`).
        // `Run quickstart.md validation and update if needed`: it is written too.
        let updated = lower.get(off + len..).is_some_and(|a| a.contains(" and update") || a.contains(", update"));
        let design_doc = is_design_doc(&path)
            && !updated
            && (ends_with_word(before, &["from", "using"])
                || ends_with_word(before.strip_suffix(" the").unwrap_or(before), &CHECK_VERBS));
        // A file the program parses or reads (`解析 configs/app.yaml 到结构体`).
        let read = ends_with_word(before, &["parse", "parses", "parsing", "reads", "解析", "读取", "読み込み"]);
        // The source a file is copied or moved from (`Copy x.yaml from config/ to src/`).
        // Also what a task installs or migrates from (`Install dependencies from
        // requirements.txt`, `Migrate x.py from old/utils/ to common/x.py`).
        let source = ["copy ", "move ", "copia ", "mover ", "install ", "migrate ", "import ", "load "]
            .iter()
            .any(|w| lower.trim_start().starts_with(w))
            && ends_with_word(before, &["from"]);
        // What a file imports (`import \`Word\` and the text from \`src/data/text.ts\``).
        let imported = ends_with_word(before, &["from"])
            && before.rsplit([';', '—']).next().is_some_and(|c| {
                c.split(|ch: char| !ch.is_ascii_alphabetic()).any(|w| w == "import" || w == "imports")
            });
        // In an item whose work is running a command, what is checked after it (`Run \`npm run
        // build\` — verify \`.exe\` appears in \`output/\``, `Ejecutar \`x\` y confirmar que
        // \`src/t.ts\` no cambia`): the command writes it, the task does not.
        let checked_after_run = run_item
            && before.split(|ch: char| !ch.is_ascii_alphabetic()).any(|w| {
                ["verify", "confirm", "check", "ensure", "confirmar", "verificar", "comprobar", "vérifier"].contains(&w)
            });
        // A script a checking task runs (`Verify A matches B using \`tools/check.rb\``,
        // `Contrôler la structure avec \`check.ps1\``): used, not changed.
        let tool = checking_item
            && is_script(&path)
            && ends_with_word(before, &["using", "with", "via", "avec", "mit", "con", "com", "usando"]);
        let cited = ends_with_word(before, &REFERENCE_WORDS)
            || read
            || source
            || previous_cited && joined
            || section
            || cited_after
            || design_doc
            || imported
            || checked_after_run
            || tool;
        previous_cited = cited;
        if !cited {
            previous_ignored = previous_ignored && joined;
        }
        if cited {
            continue;
        }
        // A bare name in a parenthetical note before the item's final file list
        // (`READMEに起動手順追記（start.ps1） (README.md)`) is what the text is about.
        let in_note = text.get(..off).is_some_and(|b| b.trim_end_matches('`').ends_with(['(', '（']))
            && text.get(off + len..).is_some_and(|a| a.trim_start_matches('`').starts_with([')', '）']));
        if file_list.is_some_and(|open| off < open) && path.starts_with("**/") && in_note {
            continue;
        }
        // Files a test item exercises or checks: in an item about writing tests, only the test
        // files are worked on (`Add tests for an existing AGENTS.md in tests/test_init.py`).
        if test_item && !is_test_path(&path) {
            continue;
        }
        // What a command acts on, in an item whose work is running it (`Run \`pnpm install\`
        // to link \`libs/widgets\``): a folder named there is not written by the task.
        if run_item && !path.ends_with("/**") && !has_extension(&path) && !path.starts_with("**/") {
            continue;
        }
        // The folder a command runs in.
        if path.ends_with("/**") && runs_in(text, spans, before) {
            continue;
        }
        // Entries of an ignore file.
        if ignore_file && !is_ignore_file(&path) {
            let after = lower.get(off + len..).unwrap_or("").trim_start_matches(['`', ' ']);
            let clause_start = before.rfind(['.', ';', '(']).map_or(0, |p| p + 1);
            let clause = before.get(clause_start..).unwrap_or("");
            // `Verify .env is in .gitignore`, `.env is listed in .gitignore`.
            let after = ["is listed ", "are listed ", "is ", "are "]
                .iter()
                .find_map(|w| after.strip_prefix(w))
                .unwrap_or(after);
            let to_ignore_file = ["to ", "in ", "into "].iter().any(|w| {
                after.strip_prefix(w).is_some_and(|rest| {
                    let next =
                        rest.trim_start_matches(['`', ' ']).split(|c: char| c.is_whitespace() || c == '`').next();
                    next.is_some_and(|n| is_ignore_file(n.trim_end_matches(['.', ',', ';', ')'])))
                })
            });
            // `ignore dist/ and build/`: the entries follow the verb, in a list
            // ("ignore patterns in src/x.py" names no entry).
            let after_ignore = ["ignore", "exclude"].iter().any(|w| {
                clause.rfind(w).is_some_and(|p| {
                    // Only entries (words with `/`, `.` or `*`) and list words between.
                    let gap = clause.get(p + w.len()..).unwrap_or("");
                    gap.split_whitespace()
                        .map(|g| g.trim_matches(['`', ',', ':']))
                        .all(|g| g.is_empty() || ["and", "or", "&", "+"].contains(&g) || g.contains(['/', '.', '*']))
                })
            }) || previous_ignored && joined;
            if to_ignore_file || after_ignore && !path.starts_with("**/.") {
                previous_ignored = true;
                continue;
            }
        }
        // Sub-folders relative to the folder just named.
        if let Some((end, glob)) = &parent {
            let gap = lower.get(*end..off).unwrap_or("");
            let relative = !path.starts_with("**/")
                && !path.starts_with(glob.trim_end_matches("**"))
                && !path.split('/').next().is_some_and(|f| SOURCE_DIRS.contains(&f) || f.starts_with('.'));
            if relative && !gap.contains(['.', ';']) {
                continue;
            }
            parent = None;
        }
        if path.ends_with("/**")
            && lower.get(off + len..).is_some_and(|rest| {
                let rest = rest.trim_start_matches('`');
                rest.starts_with(':')
                    || rest.split(':').next().is_some_and(|g| {
                        g.trim().len() <= 24 && !g.contains(['.', ',', '/', ';']) && rest.contains(':')
                    })
            })
        {
            parent = Some((off + len, path.clone()));
        }
        previous_ignored = false;
        out.push((path, off, len));
    }
    // A design document of the feature named in an item that works on other files is what the
    // work follows (`plan.md のソースコード構造に従い`, `(research.md R2)`, `per data-model.md`).
    // Named by its short name, the feature's own document is cited; a document the item
    // changes is written with its path (`補充 notes-svc/README.md 与 specs/001-x/quickstart.md`).
    // Not in an item whose work is checking (`Check that the quickstart.md links in README.md …`).
    let cited_doc = |p: &str| is_design_doc(p) && !p.starts_with("specs/") && !p.contains("/specs/");
    if !checking_item && out.iter().any(|(p, _, _)| !is_design_doc(p)) {
        out.retain(|(p, _, _)| !cited_doc(p));
    }
    out
}

/// Whether `text` ends with one of `words` as whole words.
pub(super) fn ends_with_word(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        text.strip_suffix(w).is_some_and(|rest| rest.is_empty() || rest.ends_with(|c: char| !c.is_ascii_alphanumeric()))
    })
}

/// The text between two paths of one list: `, `, ` and `, ` or `.
pub(super) fn is_list_joint(between: &str) -> bool {
    let t = between.trim_matches(|c: char| c.is_whitespace() || c == '`');
    ["", ",", "and", ", and", "or", ", or", "/", "&"].contains(&t)
}

/// `.gitignore`, `.dockerignore` …, with or without a folder.
pub(super) fn is_ignore_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with('.') && name.ends_with("ignore")
}

/// Whether a folder named right after `before` is where a command runs: `` `pnpm install` in
/// web/ ``, ``Run `cargo test` from server/``.
pub(super) fn runs_in(text: &str, spans: &[(&str, usize)], before: &str) -> bool {
    let Some(head) = ["in", "from", "inside", "within"]
        .iter()
        .find_map(|w| before.strip_suffix(w).filter(|r| r.is_empty() || r.ends_with(' ')))
    else {
        return false;
    };
    let head = head.trim_end();
    // Right after a backticked command.
    if head.ends_with('`') {
        let end = head.len();
        return spans.iter().any(|(c, off)| {
            let close = off + c.len();
            text.get(close..end).is_some_and(|s| s.chars().all(|ch| ch == '`')) && is_command(c.trim())
        });
    }
    false
}
