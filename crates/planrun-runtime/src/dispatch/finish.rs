//! How a run ends: its outcome recorded, the report and status files written, and the summary.

use super::*;

impl Runner<'_> {
    pub(super) async fn finish(&mut self, outcome: RunOutcome, interrupted: bool) -> u8 {
        self.reporter.finish();
        let ending = self.policy.ending(
            &outcome,
            policy::Halts { interrupted, final_interrupted: self.final_interrupted, paused: self.pause.is_some() },
        );
        let (name, code) = (ending.name(), ending.code());
        let record = [(None, JournalEvent::Finished(journal_event::FinishedRecord { outcome: name.to_owned() }))];
        if let Err(message) = self.submit(&record, Vec::new(), Vec::new()) {
            return self.abort(&message).await;
        }
        while !self.pending.is_empty() {
            let ack = self.acks.recv().await;
            if let Err(message) = self.acknowledged(ack) {
                return self.abort(&message).await;
            }
        }
        if let Some(w) = self.writer.take() {
            self.s.journal = w.stop();
        }
        // The worktrees waiting for a task go with the invocation.
        let ctx = Arc::clone(&self.ctx);
        let pool = tokio::task::spawn_blocking(move || ctx.ws.drain_pool()).await.unwrap_or_default();
        let summary = views::summary(&self.s);
        let used = crate::totals::Totals::of(&self.s);
        let report = report::write(&self.s, &self.run_id, name);
        estimate::record(&self.s, &self.s.layout.dir.join("history.jsonl"));
        self.settle_live();
        let status_files = if self.status_files { Some(report::status_files(&self.s)) } else { None };
        let mut fields = ev::Finished {
            outcome: name.to_owned(),
            exit_code: code,
            counts: summary.counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            usage: used.event(),
            final_check: None,
            reason: None,
            class: None,
            help: None,
            integration: None,
            report: None,
            status_files: None,
            worktrees: (pool.created + pool.reused > 0).then_some(ev::Worktrees {
                checkouts: pool.created as u64,
                reused: pool.reused as u64,
                peak: pool.peak as u64,
                checkout_bytes: pool.checkout_bytes,
            }),
            summary: String::new(),
        };
        if let RunOutcome::FinalCheckFailed { reason } = &outcome {
            fields.final_check = Some(reason.clone());
        }
        let halted = |kind: Halt| self.policy.halted().filter(|(k, _)| *k == kind).map(|(_, r)| r.to_owned());
        let provider_stop = halted(Halt::Provider);
        let advice = provider_stop.as_deref().map(|r| provider::advice(r, &self.ctx.ws.root));
        if let (Some(reason), Some(a), "provider_error") = (&provider_stop, &advice, name) {
            fields.reason = Some(reason.clone());
            fields.class = Some(a.class.name().to_owned());
            fields.help = Some(a.help.clone());
        }
        let mut text = format!("planrun: {}", summary.line);
        match &outcome {
            RunOutcome::Done => {
                text.push_str("; all done");
                if self.commit == CommitMode::Manual
                    && self.ctx.ws.mode == WorkspaceMode::Shared
                    && self.ctx.ws.repo.is_some()
                    && !self.passed_ids.is_empty()
                {
                    text.push_str(&format!(
                        "\n  not committed (--commit manual): the work of {}; inspect with `git status` and `git diff`, commit what you accept",
                        self.passed_ids.join(", ")
                    ));
                }
            }
            _ if name == "budget" || name == "watchdog" => {
                let why = self.policy.stopped().map(|(_, w)| w.to_owned()).or_else(|| {
                    self.policy.soft().map(|w| format!("{w}: nothing new was started and the steps in flight finished"))
                });
                text.push_str(&format!("; stopped: {}", why.unwrap_or_default()));
                text.push_str(&spent_lines(&self.s));
                if name == "budget" {
                    text.push_str("\n  nothing was lost: raise the budget (--budget-usd, --budget-tokens; what was spent still counts) and run the same command to resume");
                } else {
                    text.push_str("\n  nothing was lost: `planrun log TASK` shows where the agents stopped; run the same command to resume");
                }
                fields.reason = Some(why_json(&self.policy));
            }
            _ if name == "agent_unavailable" => {
                let reason = halted(Halt::Unstartable).unwrap_or_default();
                text.push_str(&format!("; stopped: {reason}\n  {UNSTARTABLE_HELP}"));
                fields.reason = Some(reason);
                fields.help = Some(UNSTARTABLE_HELP.to_owned());
            }
            _ if code == PROVIDER => text.push_str(&format!(
                "; stopped by {}:\n  {}\n  {}",
                advice.as_ref().map_or("the model provider", |a| a.what),
                provider_stop.as_deref().unwrap_or("the model provider failed"),
                advice.as_ref().map_or("", |a| a.help.as_str())
            )),
            _ if code == INTERRUPTED => text.push_str("; interrupted: run the same command again to resume"),
            _ if code == PAUSED => {
                text.push_str(&format!("; paused: {}", self.pause.as_deref().unwrap_or("")));
                if !self.passed_ids.is_empty() {
                    text.push_str(&format!("\n  done since the last pause: {}", self.passed_ids.join(", ")));
                }
                if !self.held.is_empty() {
                    for id in &self.held {
                        let path = self.ctx.ws.path(id);
                        let shown = path.strip_prefix(&self.ctx.ws.root).unwrap_or(&path).display().to_string();
                        text.push_str(&format!("\n  {id} waits for your commit in `{shown}`"));
                    }
                    text.push_str("\n  commit what you accept in each (`git -C DIR add -A && git -C DIR commit`),");
                    text.push_str(" discard the rest,");
                } else if self.commit == CommitMode::Manual && self.asked.is_empty() {
                    text.push_str("\n  inspect with `git status` and `git diff`, commit (or edit) what you accept,");
                }
                for (id, reason) in &self.asked {
                    let path = self.ctx.ws.path(id);
                    let shown = path.strip_prefix(&self.ctx.ws.root).unwrap_or(&path).display().to_string();
                    let shown = if shown.is_empty() { ".".to_owned() } else { shown };
                    text.push_str(&format!("\n  task {id} waits for you; its checks or reviews found:"));
                    for line in reason.lines().filter(|l| !l.trim().is_empty()).take(40) {
                        text.push_str(&format!("\n    {line}"));
                    }
                    text.push_str(&format!(
                        "\n  its work is in `{shown}`; choose:\n    planrun retry {id} --note \"…\"   rework it with your instructions\n    planrun review {id}              you fixed it by hand: run only its checks and reviews again\n    planrun skip {id}                go on without it (its dependents start)\n  or stop here: nothing is lost, the work stays where it is"
                    ));
                }
                text.push_str("\n  then `planrun continue` goes on");
            }
            RunOutcome::Interrupted => {}
            RunOutcome::Blocked { .. } => {
                for line in if self.reporter.verbosity() == Verbosity::Verbose {
                    &summary.blocked_full
                } else {
                    &summary.blocked_lines
                } {
                    text.push_str(&format!("\n  {line}"));
                }
                text.push_str(
                    "\n  `planrun explain TASK` says why and what to do, `planrun log TASK` shows each attempt; after fixing, `planrun retry TASK` and run again",
                );
            }
            RunOutcome::FinalCheckFailed { reason } => {
                text.push_str(&format!(
                    "; every task is done, but the final check failed:\n  {}",
                    reason.replace('\n', "\n  ")
                ));
            }
        }
        if let Some(line) = used.line() {
            text.push_str(&format!("\n  used {line}"));
        }
        if let Some(line) = pool.line() {
            text.push_str(&format!("\n  worktrees: {line}"));
        }
        if let Some(branch) = &self.ctx.ws.integration {
            let current = self.ctx.ws.repo.as_ref().and_then(|r| r.current_branch().ok().flatten());
            // Commits on the integration branch that the checked-out branch lacks.
            let ahead = self
                .ctx
                .ws
                .repo
                .as_ref()
                .and_then(|r| r.run(&["rev-list", "--count", &format!("HEAD..refs/heads/{branch}")]).ok())
                .and_then(|n| n.trim().parse::<u64>().ok());
            if current.as_deref() != Some(branch.as_str()) && ahead == Some(0) {
                text.push_str(&format!("\n  `{branch}` holds no commit that your branch lacks: nothing to merge"));
            } else if current.as_deref() == Some(branch.as_str()) {
                text.push_str(&format!("\n  the tasks' commits are on `{branch}`"));
            } else {
                text.push_str(&format!(
                    "\n  the tasks' commits are on `{branch}`: review it (`git log -p {branch}`), then merge it (`git merge {branch}`)"
                ));
            }
            fields.integration = Some(branch.clone());
        }
        match &report {
            Ok(path) => {
                text.push_str(&format!("\n  report: {}", path.display()));
                fields.report = Some(path.display().to_string());
            }
            Err(e) => text.push_str(&format!("\n  (the run's report could not be written: {e})")),
        }
        match &status_files {
            Some(Ok(paths)) if !paths.is_empty() => {
                text.push_str(&format!("\n  progress marked in {} file(s) of the plan", paths.len()));
                fields.status_files = Some(paths.iter().map(|p| p.display().to_string()).collect());
            }
            Some(Err(e)) => text.push_str(&format!("\n  (the plan's status marks could not be written: {e})")),
            _ => {}
        }
        fields.summary = text;
        let finished = RunEvent::Finished(fields);
        self.reporter.result(Event(&finished));
        code
    }
}

/// `12.3k tokens, $0.0400` for the live lines.
pub(super) fn spend_text(s: budget::Spend) -> String {
    let tokens = if s.tokens >= 10_000 { format!("{:.1}k", s.tokens as f64 / 1000.0) } else { s.tokens.to_string() };
    format!("{tokens} tokens, ${:.4}", s.usd)
}

fn why_json(p: &planrun_engine::Policy) -> String {
    p.stopped().map(|(_, w)| w.to_owned()).or_else(|| p.soft().map(str::to_owned)).unwrap_or_default()
}

/// What was spent on what: each task that used anything, most first, and its stages.
fn spent_lines(s: &Session) -> String {
    let mut rows: Vec<(String, costs::Breakdown)> = s
        .loaded
        .plan
        .tasks
        .iter()
        .map(|t| (t.id.clone(), costs::Breakdown::of_task(s, &t.id)))
        .filter(|(_, b)| b.total.used.steps > 0)
        .collect();
    rows.sort_by(|a, b| {
        let (x, y) = (&a.1.total.used, &b.1.total.used);
        y.cost_usd.total_cmp(&x.cost_usd).then(y.usage.total().cmp(&x.usage.total()))
    });
    let mut out = String::from("\n  spent:");
    if rows.is_empty() {
        out.push_str(" nothing recorded yet");
    }
    for (id, b) in rows.iter().take(20) {
        let parts: Vec<String> = b
            .stages
            .iter()
            .filter(|(_, g)| g.used.steps > 0)
            .map(|(step, g)| format!("{step} {}", spend_text(g.used.spend())))
            .collect();
        out.push_str(&format!("\n    {id}: {} ({})", spend_text(b.total.used.spend()), parts.join(", ")));
    }
    out
}
