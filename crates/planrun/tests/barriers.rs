//! Barriers the plan declares (seed 003's waves here, as planpipe writes them): a wave's tasks
//! start only once the wave before is done, even without a stated dependency; `--barriers off`
//! lets them start at once; a `--batch` never crosses a wave.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::text;

fn subtask(i: u32, wave: u32) -> String {
    format!(
        "# ST-{i}: Write file {i}\n\n**Wave:** {wave}\n\n## Change area\n- `out/st-{i}.txt`\n\n## Dependencies\nnone\n"
    )
}

/// ST-1 takes a while; every agent notes which files exist when it starts.
const AGENT: &str = r#"mkdir -p out
echo "$PLANRUN_TASK_ID saw:$(ls out | tr '\n' ' ')" >> .git/starts
[ "$PLANRUN_TASK_ID" = ST-1 ] && sleep 1
echo ok > "out/$(echo "$PLANRUN_TASK_ID" | tr A-Z a-z).txt"
"#;

fn repo() -> support::Repo {
    let files: Vec<(String, String)> = [(1, 1), (2, 1), (3, 2)]
        .iter()
        .map(|&(i, w)| (format!(".planpipe/demo/stage-5/subtasks/st-{i}.md"), subtask(i, w)))
        .collect();
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
    support::committed("# unused\n", AGENT, &extra)
}

fn run(repo: &support::Repo, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        ".planpipe/demo",
        "--agent-command",
        "./agent.sh",
        "--workspace",
        "shared",
        "-j",
        "3",
        "--reviews",
        "none",
    ];
    args.extend_from_slice(extra);
    repo.cmd(&args).output().unwrap()
}

fn starts(repo: &support::Repo) -> Vec<String> {
    repo.read(".git/starts").lines().map(str::to_owned).collect()
}

#[test]
fn a_wave_starts_once_the_wave_before_is_done() {
    let repo = repo();
    let out = run(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = starts(&repo);
    let third = s.iter().find(|l| l.starts_with("ST-3 ")).unwrap();
    assert!(third.contains("st-1.txt") && third.contains("st-2.txt"), "ST-3 started before wave 1 was done: {s:?}");

    // Without barriers the three start together.
    let repo = self::repo();
    let out = run(&repo, &["--barriers", "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = starts(&repo);
    let third = s.iter().find(|l| l.starts_with("ST-3 ")).unwrap();
    assert!(!third.contains("st-1.txt"), "with --barriers off ST-3 need not wait for ST-1: {s:?}");
}

#[test]
fn a_batch_ends_with_its_wave() {
    let repo = repo();
    let out = run(&repo, &["--batch", "5"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("is done (a batch ends with its milestone)"), "{}", text(&out));
    assert_eq!(starts(&repo).len(), 2, "wave 2 waits: {:?}", starts(&repo));
    let out = repo.cmd(&["continue"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(starts(&repo).len(), 3);
}
