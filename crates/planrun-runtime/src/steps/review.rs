//! The review and test stages: each reviewer (or the tester) as an agent with the diff, and their
//! structured verdicts.

use super::*;
use crate::journal_event::{ReviewDetail, StepDetail};

/// The diff a reviewer reads is cut at this size; it reads the files for the rest.
pub(super) const DIFF_LIMIT: usize = 48 * 1024;

/// The agent stages: the tester, or the reviews side by side. Each ends with a verdict; an
/// unreadable one gets one retry with a reminder.
pub(super) async fn agent_stage(ctx: &Arc<Ctx>, run: &CheckRun, log: &Path, cancel: watch::Receiver<bool>) -> Staged {
    let agent = if run.stage == Stage::Test { ctx.tester.as_ref() } else { ctx.reviewer.as_ref() };
    let Some(agent) = agent.cloned() else {
        return (Err("no reviewer agent is configured".into()), false, None, None);
    };
    let changed = changed_paths(ctx, run).await.unwrap_or_default();
    let files: Vec<&str> = changed.iter().map(|c| c.path.as_str()).collect();
    let files = if files.is_empty() { "(none found by git)".to_owned() } else { files.join(", ") };
    let (c, id) = (Arc::clone(ctx), run.id.clone());
    let diff = tokio::task::spawn_blocking(move || c.ws.patch(&id, DIFF_LIMIT)).await.unwrap_or_default();
    let kinds: Vec<(&'static str, &'static str, String)> = match run.stage {
        Stage::Test => vec![("test", "test", String::new())],
        _ => ctx
            .reviews
            .iter()
            .map(|k| {
                let (name, focus) = match k {
                    crate::pipeline::ReviewKind::Code => (
                        "code-review",
                        "the code review: is the change correct, clear, consistent with the code around it, tested \
                         by tests that can fail, and safe (no secrets, no injection, inputs checked)?",
                    ),
                    _ => (
                        "task-review",
                        "the task review: does the change do everything the task asks and meet each acceptance \
                         criterion, without doing things the task did not ask for?",
                    ),
                };
                ("review", name, focus.to_owned())
            })
            .collect(),
    };
    // Beside the reviewers, the tester: both must pass (its agent may differ from theirs).
    let beside = run.stage == Stage::Review && ctx.tester_beside && ctx.tester.is_some();
    let mut kinds = kinds;
    if beside {
        kinds.push(("test", "test", String::new()));
    }
    let mut calls = Vec::new();
    for (template, name, focus) in &kinds {
        let tester = *template == "test";
        let mut vars: Vec<(&str, &str)> = run
            .vars
            .iter()
            .filter(|(k, _)| !(beside && *k == if tester { "persona" } else { "tester_persona" }))
            .map(|(k, v)| (if *k == "tester_persona" { "persona" } else { *k }, v.as_str()))
            .collect();
        vars.extend([("review_focus", focus.as_str()), ("changed_files", files.as_str()), ("diff", diff.as_str())]);
        let text = ctx.templates.render(template, &vars);
        let prompt = ctx.layout.dir.join("prompts").join(format!("{}.{}.{name}.md", run.id, run.attempt));
        if let Err(e) = std::fs::write(&prompt, &text) {
            return (Err(format!("cannot write the prompt file `{}`: {e}", prompt.display())), false, None, None);
        }
        let log = if kinds.len() == 1 { log.to_owned() } else { ctx.layout.attempt_log(&run.id, run.attempt, name) };
        let role = if tester { "test" } else { "review" };
        let agent = match (tester, ctx.tester.as_ref()) {
            (true, Some(t)) => t.clone(),
            _ => agent.clone(),
        };
        calls.push((
            *name,
            AgentCall {
                task: run.task,
                not_before: if tester { run.tester_not_before } else { run.not_before },
                id: run.id.clone(),
                role,
                attempt: run.attempt,
                agent,
                prompt,
                text,
                resume: None,
                cwd: ctx.ws.path(&run.id),
                log,
            },
        ));
    }
    // Reviewers read; they must not change the work they judge.
    let watch = run.stage == Stage::Review;
    let before = if watch {
        let (c, id) = (Arc::clone(ctx), run.id.clone());
        tokio::task::spawn_blocking(move || c.ws.worktree_state(&id)).await.ok().flatten()
    } else {
        None
    };
    // A shared tree has no snapshot (other tasks write in it too): the tester's new files are
    // the task's changed paths that were not there before.
    let shared_before: Option<std::collections::HashSet<String>> = if beside && before.is_none() {
        Some(changed_paths(ctx, run).await.unwrap_or_default().into_iter().map(|c| c.path).collect())
    } else {
        None
    };
    let tester_call = if beside { calls.pop() } else { None };
    let tester_runs = async {
        match &tester_call {
            Some((name, call)) => Some(verdict_of(ctx, name, call, cancel.clone()).await),
            None => None,
        }
    };
    let reviews_run = review_calls(ctx, &calls, cancel.clone());
    let (mut results, tested) = tokio::join!(reviews_run, tester_runs);
    results.extend(tested);
    let mut touched = Vec::new();
    if let Some(before) = before {
        let (c, id) = (Arc::clone(ctx), run.id.clone());
        touched = tokio::task::spawn_blocking(move || {
            c.ws.worktree_state(&id).map(|after| c.ws.differences(&id, &before, &after)).unwrap_or_default()
        })
        .await
        .unwrap_or_default();
    }
    let shared = shared_before.is_some();
    if let Some(before) = shared_before {
        let after = changed_paths(ctx, run).await.unwrap_or_default();
        touched = after.into_iter().map(|c| c.path).filter(|p| !before.contains(p)).collect();
    }
    let mut run_total = None;
    let mut blocking_lines = Vec::new();
    let mut failures = Vec::new();
    let mut reviews = Vec::new();
    let mut interrupted = false;
    for (name, got) in results {
        interrupted |= got.interrupted;
        run_total = merge_runs(run_total, got.run);
        match got.verdict {
            Ok(v) => {
                for f in v.blocking() {
                    blocking_lines.push(format!("- [{name}] {}", finding_line(f)));
                }
                if v.blocks() && v.blocking().next().is_none() {
                    let asked: Vec<String> = v.advisory().map(finding_line).collect();
                    let asked = if asked.is_empty() { "(it gave no findings)".to_owned() } else { asked.join("; ") };
                    blocking_lines.push(format!("- [{name}] requested changes: {asked}"));
                }
                reviews.push(ReviewDetail {
                    review: name,
                    verdict: Some(v.verdict),
                    findings: v.findings,
                    error: None,
                });
            }
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                reviews.push(ReviewDetail { review: name, verdict: None, findings: Vec::new(), error: Some(e) });
            }
        }
    }
    let detail = StepDetail { reviews: Some(reviews), ..StepDetail::default() };
    if interrupted {
        return (Err("interrupted".into()), true, run_total, Some(detail));
    }
    if let Some(e) = run_total.as_ref().and_then(|r| r.provider_error.as_ref().map(|p| p.message.clone())) {
        return (
            Err(format!("a reviewer stopped on an error from its model provider: {e}")),
            false,
            run_total,
            Some(detail),
        );
    }
    // Beside the reviewers, the tester writes tests: what changed during the stage is its work
    // when it stays within the task's files (reviewers are told to change nothing).
    let (tested, stray): (Vec<String>, Vec<String>) = if beside {
        let declared = patterns(&run.files);
        touched.into_iter().partition(|p| declared.iter().any(|g| g.matches(p)))
    } else {
        (Vec::new(), touched)
    };
    if !stray.is_empty() {
        let reason = if beside {
            format!(
                "files outside the task's files changed during the review: {}; a reviewer must change nothing and \
                 the tester only the task's files. The changes are left in the task's worktree: keep what belongs \
                 to the task, undo the rest",
                stray.join(", ")
            )
        } else {
            format!(
                "a reviewer changed files, which a review must not do: {}. The changes are left in the task's \
                 worktree: keep what belongs to the task, undo the rest",
                stray.join(", ")
            )
        };
        return (Err(reason), false, run_total, Some(detail));
    }
    if !failures.is_empty() {
        return (Err(failures.join("\n")), false, run_total, Some(detail));
    }
    if !blocking_lines.is_empty() {
        let who = match run.stage {
            Stage::Test => "The tester",
            _ if beside => "The reviewers and the tester",
            _ => "The reviewers",
        };
        let reason = format!("{who} found blocking problems; fix each:\n{}", blocking_lines.join("\n"));
        return (Err(reason), false, run_total, Some(detail));
    }
    // In a shared tree a file the tester changed again cannot be told from the task's own.
    if !beside || (tested.is_empty() && !shared) || (run.verify.is_empty() && ctx.plan_verify.is_empty()) {
        return (Ok(()), false, run_total, Some(detail));
    }
    // The tester's new tests are checked as the task's work was: every verify command again.
    let log = ctx.layout.attempt_log(&run.id, run.attempt, "verify-after-test");
    let (result, interrupted, _, checked) = super::stages::verify_stage(ctx, run, &log, cancel).await;
    let detail = StepDetail {
        changed: Some(tested),
        checks: checked.as_ref().and_then(|c| c.checks),
        passed: checked.as_ref().and_then(|c| c.passed),
        made_by_checks: checked.and_then(|c| c.made_by_checks),
        ..detail
    };
    let result = result.map_err(|e| format!("after the tester's changes, {e}"));
    (result, interrupted, run_total, Some(detail))
}

/// The reviews of one stage: side by side, or (`--review-order sequential`) the task review
/// first and the code review only when it passed.
async fn review_calls(
    ctx: &Arc<Ctx>,
    calls: &[(&str, AgentCall)],
    cancel: watch::Receiver<bool>,
) -> Vec<(String, Judged)> {
    if !(ctx.reviews_in_turn && calls.len() > 1) {
        return futures_join(calls.iter().map(|(name, call)| verdict_of(ctx, name, call, cancel.clone())).collect())
            .await;
    }
    // Reviews are listed task first.
    let mut results = Vec::new();
    for (name, call) in calls {
        let got = verdict_of(ctx, name, call, cancel.clone()).await;
        let judged = &got.1;
        let passed =
            !judged.interrupted && judged.verdict.as_ref().is_ok_and(|v| !v.blocks() && v.blocking().next().is_none());
        results.push(got);
        if !passed {
            break;
        }
    }
    results
}

/// The task's globs, parsed (each was checked when the plan was read).
pub(crate) fn patterns(globs: &[String]) -> Vec<Pattern> {
    globs.iter().filter_map(|g| Pattern::parse(g).ok()).collect()
}

/// `file:line: message`.
pub(super) fn finding_line(f: &planrun_agents::verdict::Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line}: {}", f.message),
        (Some(file), None) => format!("{file}: {}", f.message),
        _ => f.message.clone(),
    }
}

/// Runs futures side by side and returns their outputs in order.
pub(super) async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// What one reviewer (or the tester) said.
pub(super) struct Judged {
    interrupted: bool,
    run: Option<AgentRun>,
    verdict: Result<planrun_agents::verdict::Verdict, String>,
}

/// Runs one reviewer and reads its verdict; an unreadable verdict gets one retry with the
/// reminder (in the same session when the CLI has one), then fails with the reason.
pub(super) async fn verdict_of(
    ctx: &Arc<Ctx>,
    name: &str,
    call: &AgentCall,
    cancel: watch::Receiver<bool>,
) -> (String, Judged) {
    let first = call_agent(ctx, call, cancel.clone()).await;
    let stop = |c: &Called| c.interrupted || c.run.as_ref().is_some_and(|r| r.provider_error.is_some());
    if stop(&first) || first.result.is_err() {
        let verdict = Err(first.result.clone().err().unwrap_or_default());
        return (name.to_owned(), Judged { interrupted: first.interrupted, run: first.run, verdict });
    }
    let err = match planrun_agents::verdict::parse(&first.answer) {
        Ok(v) => return (name.to_owned(), Judged { interrupted: false, run: first.run, verdict: Ok(v) }),
        Err(e) => e,
    };
    let session = first.run.as_ref().and_then(|r| r.record.session.clone());
    let mut retry = call.clone();
    match (&session, call.agent.kind) {
        (Some(s), kind) if kind != AgentKind::Command => {
            retry.text = planrun_agents::verdict::REMINDER.to_owned();
            retry.resume =
                Some((s.clone(), first.run.as_ref().and_then(|r| r.record.session_usage).unwrap_or_default()));
        }
        _ => {
            retry.text = format!("{}\n\n{}", call.text, planrun_agents::verdict::REMINDER);
            let _ = std::fs::write(&retry.prompt, &retry.text);
        }
    }
    let second = call_agent(ctx, &retry, cancel).await;
    let run = merge_runs(first.run, second.run.clone());
    if stop(&second) || second.result.is_err() {
        let verdict = Err(second.result.clone().err().unwrap_or_default());
        return (name.to_owned(), Judged { interrupted: second.interrupted, run, verdict });
    }
    let verdict = planrun_agents::verdict::parse(&second.answer)
        .map_err(|e2| format!("gave no verdict planrun can read, even after a reminder ({err}; then {e2})"));
    (name.to_owned(), Judged { interrupted: false, run, verdict })
}
