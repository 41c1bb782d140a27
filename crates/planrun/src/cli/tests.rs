//! Tests of the command line: every command's help, and parsing.

use super::*;
use crate::run::options::{parse_duration, parse_limit};
use std::time::Duration;

#[test]
fn every_command_has_a_short_help_of_at_most_40_lines_ending_with_its_exit_codes() {
    let mut root = command();
    root.build();
    let mut checked = 0;
    for sub in root.get_subcommands() {
        // Rendered as on a terminal 100 columns wide (the width used without a terminal).
        let mut sub = sub.clone().term_width(100);
        let short = sub.render_help().to_string();
        let name = sub.get_name().to_owned();
        assert!(short.lines().count() <= 40, "`planrun {name} -h` has {} lines:\n{short}", short.lines().count());
        if name != "help" {
            assert!(short.contains("Exit codes"), "`planrun {name} -h` says no exit codes:\n{short}");
            let long = sub.render_long_help().to_string();
            assert!(long.contains("Exit codes"), "`planrun {name} --help` says no exit codes:\n{long}");
            checked += 1;
        }
    }
    assert!(checked >= 19, "{checked}");
    let top = root.clone().term_width(100).render_help().to_string();
    assert!(top.lines().count() <= 40, "`planrun -h` has {} lines:\n{top}", top.lines().count());
    assert!(top.contains("Exit codes"), "{top}");
}

#[test]
fn durations_parse_and_bad_ones_say_how_to_write_them() {
    assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("12"), Ok(Duration::from_secs(12)));
    assert_eq!(parse_limit("none"), Ok(None));
    for bad in ["", "5x", "m", "1.5s", "-3s"] {
        let e = parse_duration(bad).unwrap_err();
        assert!(e.contains("not a duration"), "{bad}: {e}");
    }
}
