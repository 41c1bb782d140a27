//! Unit tests of the OpenSpec importer.

use super::*;

#[test]
fn numbers() {
    assert_eq!(number_prefix("1.1 Add x"), Some(("1.1", "Add x")));
    assert_eq!(number_prefix("1.1. Add x"), Some(("1.1", "Add x")));
    assert_eq!(number_prefix("2. Backend"), Some(("2", "Backend")));
    assert_eq!(number_prefix("**1.2** Bold"), Some(("1.2", "Bold")));
    assert_eq!(number_prefix("3.4"), Some(("3.4", "")));
    assert_eq!(number_prefix("3 retries"), None);
    assert_eq!(number_prefix("1.a thing"), None);
    assert_eq!(number_prefix("T001 spec-kit"), None);
    assert_eq!(number_prefix(".5 x"), None);
    assert_eq!(number_prefix("1.3a Generate"), Some(("1.3a", "Generate")));
    assert_eq!(number_prefix("2.10b. Later"), Some(("2.10b", "Later")));
    assert_eq!(number_prefix("1.3ab x"), None);
    assert_eq!(number_prefix("3a x"), None);
}

#[test]
fn items() {
    let t = task_line("- [ ]1.3 Migrate").map(|t| (t.checkbox, t.done, t.id, t.title));
    assert_eq!(t, Some((true, Some(false), Some("1.3".to_owned()), "Migrate")));
    let t = task_line("* [~] 2.2 Conflicts").map(|t| (t.done, t.mark));
    assert_eq!(t, Some((None, "~")));
    let t = task_line("- 1.4 No box").map(|t| (t.checkbox, t.id));
    assert_eq!(t, Some((false, Some("1.4".to_owned()))));
    let line = "  - [x] 1.2 Title";
    let t = task_line(line).map(|t| (t.indent, &line[t.id_off..t.id_off + 3], &line[t.title_off..]));
    assert_eq!(t, Some((2, "1.2", "Title")));
}

#[test]
fn titles() {
    assert_eq!(proposal_title("# Change: Add 2FA\n").as_deref(), Some("Add 2FA"));
    assert_eq!(proposal_title("## Why\n"), None);
    assert_eq!(humanise("offline-sync_queue"), "Offline sync queue");
}
