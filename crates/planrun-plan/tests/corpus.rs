//! The corpus: plans written the way people and planning tools write them in public repositories,
//! each reproduced in a fixture of our own (`tests/corpus/<format>/<case>/`), with what a careful
//! reader takes from it written by hand in `expect.json`. Every case is also snapshotted.
//!
//! Cases marked `"split": "dev"` were used while writing the readers and must all be read right.
//! Cases marked `"split": "held-out"` were written after the readers and not used to change them;
//! their score (plans read fully right) is printed per format (the aim is 95% or more). A held-out
//! case used to change a reader becomes a dev case.
//! `docs/importers/corpus.md` describes the layout; `docs/importers/README.md` records the score.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use planrun_plan::{Format, Loaded, Status};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// The format planrun should detect.
    format: String,
    /// What to point planrun at, relative to the case's `repo/` folder (`.` for the folder itself).
    path: String,
    /// `dev` or `held-out`.
    split: String,
    /// The variation of real plans this case reproduces, in a sentence.
    shows: String,
    /// `--format` to force, when detection is not what the case is about.
    #[serde(default)]
    forced: Option<String>,
    tasks: Vec<ExpectTask>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectTask {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    verify: Vec<String>,
    #[serde(default)]
    acceptance: Vec<String>,
}

/// `second.json`: the same plan read by a second person who saw neither `expect.json` nor
/// planrun's reading. It measures how far two careful readers agree, which bounds any score.
#[derive(Debug, Deserialize)]
struct Second {
    tasks: Vec<ExpectTask>,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

/// Every case folder, sorted: `(format folder, case name, folder)`.
fn cases() -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(formats) = std::fs::read_dir(corpus()) else { return out };
    for f in formats.filter_map(Result::ok).filter(|e| e.path().is_dir()) {
        for c in std::fs::read_dir(f.path()).unwrap().filter_map(Result::ok).filter(|e| e.path().is_dir()) {
            out.push((
                f.file_name().to_string_lossy().into_owned(),
                c.file_name().to_string_lossy().into_owned(),
                c.path(),
            ));
        }
    }
    out.sort();
    out
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A reading in the shape of an expectation: what planrun took from the plan, field by field.
fn reading(loaded: &Loaded) -> Vec<ExpectTask> {
    loaded
        .plan
        .tasks
        .iter()
        .map(|t| ExpectTask {
            id: t.id.clone(),
            status: Some(if t.status == Status::Done { "done" } else { "pending" }.to_owned()),
            depends_on: t.depends_on.clone(),
            files: t.files.clone(),
            verify: t.verify.clone(),
            acceptance: t.acceptance.clone(),
        })
        .collect()
}

/// Where one reading (`got`) differs from another (`want`); empty when they agree on every field.
fn task_differences(want: &[ExpectTask], got: &[ExpectTask]) -> Vec<String> {
    let mut out = Vec::new();
    let got_ids: Vec<&str> = got.iter().map(|t| t.id.as_str()).collect();
    let want_ids: Vec<&str> = want.iter().map(|t| t.id.as_str()).collect();
    if got_ids != want_ids {
        out.push(format!("task ids {got_ids:?}, expected {want_ids:?}"));
    }
    for w in want {
        let Some(t) = got.iter().find(|t| t.id == w.id) else { continue };
        let status = w.status.as_deref().unwrap_or("pending");
        let got_status = t.status.as_deref().unwrap_or("pending");
        if got_status != status {
            out.push(format!("{}: status {got_status}, expected {status}", w.id));
        }
        let set = |v: &[String]| v.iter().map(|s| norm(s)).collect::<BTreeSet<_>>();
        let list = |v: &[String]| v.iter().map(|s| norm(s)).collect::<Vec<_>>();
        if set(&t.depends_on) != set(&w.depends_on) {
            out.push(format!("{}: depends_on {:?}, expected {:?}", w.id, t.depends_on, w.depends_on));
        }
        if set(&t.files) != set(&w.files) {
            out.push(format!("{}: files {:?}, expected {:?}", w.id, t.files, w.files));
        }
        if list(&t.verify) != list(&w.verify) {
            out.push(format!("{}: verify {:?}, expected {:?}", w.id, t.verify, w.verify));
        }
        if list(&t.acceptance) != list(&w.acceptance) {
            out.push(format!("{}: acceptance {:?}, expected {:?}", w.id, t.acceptance, w.acceptance));
        }
    }
    out
}

/// Where a reading differs from what the case expects; empty when it is fully right.
fn differences(expect: &Expect, loaded: &Loaded) -> Vec<String> {
    let mut out = Vec::new();
    if loaded.format.name() != expect.format {
        out.push(format!("read as {}, expected {}", loaded.format.name(), expect.format));
    }
    out.extend(task_differences(&expect.tasks, &reading(loaded)));
    out
}

fn load(dir: &Path, expect: &Expect) -> Result<Loaded, String> {
    let forced = match &expect.forced {
        Some(name) => Some(name.parse::<Format>()?),
        None => None,
    };
    let path = dir.join("repo").join(&expect.path);
    planrun_plan::load(&path, forced).map_err(|e| e.to_string())
}

/// A path-free rendering of a reading for the snapshot: the plan and the reader's diagnostics.
fn snapshot(dir: &Path, loaded: &Loaded) -> serde_json::Value {
    let repo = dir.join("repo");
    let checked = planrun_plan::check(loaded);
    let diagnostics: Vec<serde_json::Value> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let loc = d.location(&loaded.sources);
            serde_json::json!({
                "severity": d.severity,
                "code": d.code,
                "message": d.message.replace(&repo.display().to_string(), "<repo>"),
                "at": loc.map(|l| format!(
                    "{}:{}",
                    Path::new(&l.file).strip_prefix(&repo).map_or(l.file.clone(), |p| p.display().to_string()),
                    l.line
                )),
            })
        })
        .collect();
    serde_json::json!({ "format": loaded.format.name(), "plan": loaded.plan, "diagnostics": diagnostics })
}

#[test]
fn the_corpus_is_read_right() {
    let cases = cases();
    assert!(!cases.is_empty(), "no corpus cases under {}", corpus().display());
    // format -> (dev right, dev total, held-out right, held-out total)
    let mut score: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let mut dev_wrong = Vec::new();
    let mut held_wrong = Vec::new();
    // format -> (cases read twice, the two readers agree, planrun agrees with the first, with the second)
    let mut agreement: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    for (format, name, dir) in &cases {
        let text = std::fs::read_to_string(dir.join("expect.json"))
            .unwrap_or_else(|e| panic!("{format}/{name}: cannot read expect.json: {e}"));
        let expect: Expect =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{format}/{name}: bad expect.json: {e}"));
        assert!(!expect.shows.trim().is_empty(), "{format}/{name}: say what the case shows");
        let held = match expect.split.as_str() {
            "dev" => false,
            "held-out" => true,
            other => panic!("{format}/{name}: split is `{other}`, expected dev or held-out"),
        };
        let (diffs, read) = match load(dir, &expect) {
            Ok(loaded) => {
                insta::with_settings!({ snapshot_suffix => format!("{format}-{name}"), prepend_module_to_snapshot => false }, {
                    insta::assert_json_snapshot!("corpus", snapshot(dir, &loaded));
                });
                (differences(&expect, &loaded), Some(reading(&loaded)))
            }
            Err(e) => (vec![format!("not read: {e}")], None),
        };
        if let Ok(text) = std::fs::read_to_string(dir.join("second.json")) {
            let mut second: Second =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{format}/{name}: bad second.json: {e}"));
            // The order of tasks is a convention of the format's page, not a reading: the
            // second reading is compared in the first one's order.
            let place = |id: &str| expect.tasks.iter().position(|t| t.id == id).unwrap_or(usize::MAX);
            second.tasks.sort_by_key(|t| place(&t.id));
            let row = agreement.entry(expect.format.clone()).or_default();
            row[0] += 1;
            row[1] += usize::from(task_differences(&expect.tasks, &second.tasks).is_empty());
            row[2] += usize::from(diffs.is_empty());
            row[3] += usize::from(read.is_some_and(|r| task_differences(&second.tasks, &r).is_empty()));
        }
        let row = score.entry(expect.format.clone()).or_default();
        let base = if held { 2 } else { 0 };
        row[base + 1] += 1;
        if diffs.is_empty() {
            row[base] += 1;
        } else if held {
            held_wrong.push(format!("{format}/{name}:\n    {}", diffs.join("\n    ")));
        } else {
            dev_wrong.push(format!("{format}/{name}:\n    {}", diffs.join("\n    ")));
        }
    }
    println!("format        dev right     held-out right");
    let (mut hr, mut ht) = (0, 0);
    for (format, [dr, dt, r, t]) in &score {
        println!("{format:<12}  {dr:>3} / {dt:<3}    {r:>3} / {t:<3}");
        hr += r;
        ht += t;
    }
    println!("held-out: {hr} / {ht} read fully right");
    if !agreement.is_empty() {
        println!("plans read by two people (second.json, written blind; task order aside): where readings agree fully");
        println!("format        people agree   planrun = first   planrun = second");
        for (format, [n, ab, ra, rb]) in &agreement {
            println!("{format:<12}  {ab:>3} / {n:<3}      {ra:>3} / {n:<3}         {rb:>3} / {n:<3}");
        }
    }
    for w in &held_wrong {
        println!("held-out case read wrong: {w}");
    }
    // Held-out cases measure the readers; they are not a gate (a reader changed to pass one would
    // no longer be measured by it). Their snapshots still pin what is read, so any change to how
    // they read shows up in review.
    assert!(dev_wrong.is_empty(), "dev cases read wrong:\n{}", dev_wrong.join("\n"));
}
