//! Unit tests of the CCW importer: TODO items and notes, task JSON, prose orders and diagrams.

use super::*;

#[test]
fn targets_lose_function_and_lines() {
    assert_eq!(clean_target("src/auth/service.ts:validateToken:45-80").as_deref(), Some("src/auth/service.ts"));
    assert_eq!(clean_target("./src/new.ts (new)").as_deref(), Some("src/new.ts"));
    assert_eq!(clean_target("  "), None);
}

#[test]
fn verification_commands() {
    assert_eq!(commands("`npm test -- auth`"), Some(vec!["npm test -- auth".to_owned()]));
    assert_eq!(commands("cargo test -p auth"), Some(vec!["cargo test -p auth".to_owned()]));
    assert_eq!(commands("npm test passes with no failures"), None);
    assert_eq!(commands("Manually log in and check the dashboard"), None);
    assert_eq!(commands("Run `npm test` and check output"), None);
}

#[test]
fn diagram_edges_of_box_drawings() {
    let known: HashSet<String> = ["A-1", "A-2", "A-3", "A-4"].iter().map(|s| (*s).to_owned()).collect();
    let lines =
        ["A-1 (数据库) ──┬──> A-2 ───> A-3", "               │              │", "               └──> A-4 <─────┘"];
    let mut edges: Vec<(String, String)> =
        diagram_edges(&lines, &known).0.into_iter().map(|(_, d, p)| (d, p)).collect();
    edges.sort();
    let want: Vec<(String, String)> = [("A-2", "A-1"), ("A-3", "A-2"), ("A-4", "A-1"), ("A-4", "A-3")]
        .iter()
        .map(|(d, p)| ((*d).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(edges, want);
    let tree = ["A-1 (schema)", "    ↓", "A-2 (users)", "    ├──→ A-3 (guards)", "    └──→ A-4 (tokens)"];
    let mut edges: Vec<(String, String)> = diagram_edges(&tree, &known).0.into_iter().map(|(_, d, p)| (d, p)).collect();
    edges.sort();
    let want: Vec<(String, String)> = [("A-2", "A-1"), ("A-3", "A-2"), ("A-4", "A-2")]
        .iter()
        .map(|(d, p)| ((*d).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(edges, want);
}

fn edges_of(lines: &[&str], ids: &[&str]) -> (Vec<(String, String)>, Vec<usize>) {
    let known: HashSet<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    let (edges, unread) = diagram_edges(lines, &known);
    let mut edges: Vec<(String, String)> = edges.into_iter().map(|(_, d, p)| (d, p)).collect();
    edges.sort();
    edges.dedup();
    (edges, unread)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(d, p)| ((*d).to_owned(), (*p).to_owned())).collect()
}

#[test]
fn diagonal_arrows_and_backslash_branches() {
    let ids = ["A-1", "A-2", "A-3", "A-4", "A-5"];
    let diag = ["A-1 → A-2 → A-3", "              ↘", "A-4 ──────────→ A-5"];
    let (edges, unread) = edges_of(&diag, &ids);
    assert_eq!(edges, pairs(&[("A-2", "A-1"), ("A-3", "A-2"), ("A-5", "A-3"), ("A-5", "A-4")]));
    assert!(unread.is_empty());
    let slash = ["A-1 -> A-2 -> A-3", "        \\", "         -> A-4"];
    let (edges, unread) = edges_of(&slash, &ids);
    assert_eq!(edges, pairs(&[("A-2", "A-1"), ("A-3", "A-2"), ("A-4", "A-2")]));
    assert!(unread.is_empty());
    let curve = ["A-1 → A-2 → A-3", "    ↘       ↗"];
    assert_eq!(edges_of(&curve, &ids).0, pairs(&[("A-2", "A-1"), ("A-3", "A-1"), ("A-3", "A-2")]));
    // A diagonal leading nowhere is reported, not dropped.
    let lost = ["A-1 → A-2", "        ↘"];
    assert_eq!(edges_of(&lost, &ids).1, [1]);
}

#[test]
fn tree_under_a_down_arrow_and_bracket_joins() {
    let ids = ["A-1", "A-2", "A-3", "A-4", "A-5", "A-6"];
    let tree =
        ["A-1 (base)", "    ↓", "    ├─→ A-2 → A-3", "    ├─→ A-4 ──┐", "    ├─→ A-5   ├─→ A-6", "    └─→ A-3 ──┘"];
    let (edges, unread) = edges_of(&tree, &ids);
    assert_eq!(
        edges,
        pairs(&[
            ("A-2", "A-1"),
            ("A-3", "A-1"),
            ("A-3", "A-2"),
            ("A-4", "A-1"),
            ("A-5", "A-1"),
            ("A-6", "A-3"),
            ("A-6", "A-4"),
            ("A-6", "A-5")
        ])
    );
    assert!(unread.is_empty());
    // Corners one column off from the branch.
    let off = ["A-1 (x) ──┐", "           ├──> A-2 ──> A-3", "A-4 (y) ──┘"];
    assert_eq!(edges_of(&off, &ids).0, pairs(&[("A-2", "A-1"), ("A-2", "A-4"), ("A-3", "A-2")]));
    // An arrow into a task from nothing planrun can trace is reported.
    let loose = ["   ?", "   └──> A-2"];
    assert_eq!(edges_of(&loose, &ids).1, [1]);
    // An arrow to the end of the drawing is not.
    assert!(edges_of(&["A-1 ──> Done"], &ids).1.is_empty());
}

#[test]
fn chinese_verify_leads() {
    assert_eq!(
        verify_in_criterion("测试通过: 验证 pytest tests/a.py -v 退出码 0").as_deref(),
        Some("pytest tests/a.py -v")
    );
    assert_eq!(verify_in_criterion("无残留: 验证 grep -r 'utcnow()' app/ 无结果"), None);
}

#[test]
fn a_place_named_in_words_is_no_argument() {
    assert_eq!(verify_in_criterion("covers tags — verify by grep 'tags\\|links' in test"), None);
    assert_eq!(
        verify_in_criterion("All pass — verify by npx vitest run src/a (exit code 0)").as_deref(),
        Some("npx vitest run src/a")
    );
    assert_eq!(commands("grep 'x' in the tests"), None);
    assert_eq!(commands("grep -rn \"used in tests\" src/").map(|c| c.len()), Some(1));
}

#[test]
fn todo_lines() {
    let mut s = crate::source::Sources::default();
    let src = s.add("t", String::new());
    let line = Line {
        start: 0,
        text: "  - [x] **IMPL-1.2**: Add JWT → [📋](./.task/IMPL-1.2.json) | [✅](./.summaries/IMPL-1.2.md)",
        in_fence: false,
    };
    let item = todo_item(&line, src).map(|f| f.item);
    assert_eq!(
        item.as_ref().map(|i| (i.id.as_str(), i.title.as_str(), i.checked)),
        Some(("IMPL-1.2", "Add JWT", Some(true)))
    );
    assert_eq!(item.and_then(|i| i.link).as_deref(), Some(".task/IMPL-1.2.json"));
    let line = Line { start: 0, text: "▸ **IMPL-1**: Group", in_fence: false };
    assert_eq!(todo_item(&line, src).map(|i| (i.item.container, i.item.checked)), Some((true, None)));
    let line = Line { start: 0, text: "- [ ] plain text", in_fence: false };
    assert!(todo_item(&line, src).is_none());
    // A plain bullet naming a task is prose about it, not a task.
    let line = Line { start: 0, text: "- IMPL-7 can start after IMPL-2", in_fence: false };
    assert!(todo_item(&line, src).is_none());
}
