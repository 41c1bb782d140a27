//! Unit tests of the planpipe importer: subtask headings, bodies, the dependency graph, raw lists.

use super::*;

#[test]
fn ids_are_found() {
    let ids: Vec<String> =
        st_ids("ST-1 (x) ──→ st-4, ST 5 and ST_6; FAST-7 ST-1.2 STx").into_iter().map(|x| x.0).collect();
    assert_eq!(ids, vec!["ST-1", "ST-4", "ST-5", "ST-6", "ST-1.2"]);
}

#[test]
fn headings() {
    assert_eq!(
        subtask_heading("ST-3: Add limits").map(|h| (h.0, h.1, h.3)),
        Some((false, "ST-3".into(), "Add limits".into()))
    );
    assert_eq!(
        subtask_heading("✅ ST-10 — Done thing").map(|h| (h.0, h.1, h.3)),
        Some((true, "ST-10".into(), "Done thing".into()))
    );
    assert_eq!(subtask_heading("Wave 1 — ST-1").map(|h| h.1), None);
    assert_eq!(subtask_heading("ST-2:").map(|h| h.3), Some(String::new()));
}

#[test]
fn graph_forms() {
    let mut s = crate::source::Sources::default();
    let id = s.add("g", String::new());
    let text = "ST-1 (a) ──→ ST-4\n         ──→ ST-5\nST-7 + ST-8 → ST-9\nST-3 ← ST-2\n- ST-6: depends on ST-2\nST-2 blocks ST-10\nWave 1: ST-1, ST-2\nST-3 → ST-6 [soft]\n";
    let edges: Vec<(String, String)> = parse_graph(text, id, 0).into_iter().map(|(a, b, _)| (a, b)).collect();
    let want = [
        ("ST-4", "ST-1"),
        ("ST-5", "ST-1"),
        ("ST-9", "ST-7"),
        ("ST-9", "ST-8"),
        ("ST-3", "ST-2"),
        ("ST-6", "ST-2"),
        ("ST-10", "ST-2"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    assert_eq!(edges, want);
}
