//! The steps' unit tests.

use super::*;

#[test]
fn durations_read_like_people_write_them() {
    assert_eq!(human(Duration::from_millis(250)), "250ms");
    assert_eq!(human(Duration::from_secs(90)), "1m30s");
    assert_eq!(human(Duration::from_secs(300)), "5m");
    assert_eq!(human(Duration::from_secs(5400)), "1h30m");
    assert_eq!(human(Duration::from_secs(7200)), "2h");
}

#[test]
fn the_tail_is_bounded_and_starts_after_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    std::fs::write(&p, format!("header\n{}end\n", "x".repeat(10_000))).unwrap();
    let t = tail(&p, 0);
    assert!(t.len() <= TAIL && t.ends_with("end"));
    assert_eq!(tail(&p, 10_005), "xxend");
    assert_eq!(tail(&dir.path().join("missing"), 0), "");
}
