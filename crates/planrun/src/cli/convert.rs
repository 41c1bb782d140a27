//! The parsed arguments turned into the runtime's plain options, field by field.

use super::args::{ContinueArgs, ExplainArgs, GcArgs, LogArgs, PlanArgs, ReportArgs, StateArgs, StatusArgs, TaskArgs};
use super::run::{CostArgs, PipelineArgs, RunArgs};
use crate::run::options as opts;

// The runtime takes plain options; these turn the parsed arguments into them field by field.

impl From<PlanArgs> for opts::PlanOptions {
    fn from(a: PlanArgs) -> Self {
        Self { plan: a.plan, format: a.format }
    }
}

impl From<StateArgs> for opts::StateOptions {
    fn from(a: StateArgs) -> Self {
        Self { state_dir: a.state_dir }
    }
}

impl From<RunArgs> for opts::RunOptions {
    fn from(a: RunArgs) -> Self {
        Self {
            plan: match &a.resume_session {
                Some(id) => {
                    opts::PlanOptions { plan: planrun_plan::ccw_session(&a.plan.plan, id), format: a.plan.format }
                }
                None => a.plan.into(),
            },
            jobs: a.jobs,
            agent: a.agent,
            model: a.model,
            agent_command: a.agent_command,
            config: a.config,
            pass_env: a.pass_env,
            resume_rounds: a.resume_rounds,
            max_rework: a.max_rework,
            only: a.only,
            skip: a.skip_tasks,
            no_barriers: a.barriers == "off",
            no_detect: a.no_detect,
            state: a.state.into(),
            json: a.json,
            no_status_files: a.no_status_files,
            timeout: a.timeout,
            stall_timeout: a.stall_timeout,
            verify_timeout: a.verify_timeout,
            grace: a.grace,
            drain_timeout: a.drain_timeout,
            pipeline: a.pipeline.into(),
            cost: a.cost.into(),
        }
    }
}

impl From<Box<RunArgs>> for opts::RunOptions {
    fn from(a: Box<RunArgs>) -> Self {
        (*a).into()
    }
}

impl From<CostArgs> for opts::CostOptions {
    fn from(a: CostArgs) -> Self {
        Self {
            yes: a.yes,
            budget_usd: a.budget_usd,
            budget_tokens: a.budget_tokens,
            task_budget_usd: a.task_budget_usd,
            task_budget_tokens: a.task_budget_tokens,
            soft_budget: a.soft_budget,
            rate_limit_wait: a.rate_limit_wait,
            watchdog: a.watchdog,
            on_no_progress: a.on_no_progress.map(Into::into),
            on_repeat: a.on_repeat.map(Into::into),
        }
    }
}

impl From<PipelineArgs> for opts::PipelineOptions {
    fn from(a: PipelineArgs) -> Self {
        Self {
            workspace: a.workspace.map(Into::into),
            into: a.into,
            include_uncommitted: a.include_uncommitted,
            update_base: a.update_base,
            sparse: a.sparse,
            sparse_dirs: a.sparse_dir,
            commit: a.commit.map(Into::into),
            on_fail: a.on_fail.map(Into::into),
            review_order: a.review_order.map(Into::into),
            batch: a.batch,
            scope: a.scope.map(Into::into),
            reviews: a.reviews.map(|r| r.into_iter().map(Into::into).collect()),
            review_agent: a.review_agent,
            review_model: a.review_model,
            review_command: a.review_command,
            take: a.take,
            tester: a.tester,
            plan_ahead: a.pipeline,
        }
    }
}

impl From<ContinueArgs> for opts::ContinueOptions {
    fn from(a: ContinueArgs) -> Self {
        Self { state: a.state.into() }
    }
}

impl From<ReportArgs> for opts::ReportOptions {
    fn from(a: ReportArgs) -> Self {
        Self { run: a.run, state: a.state.into(), json: a.json }
    }
}

impl From<GcArgs> for opts::GcOptions {
    fn from(a: GcArgs) -> Self {
        Self { yes: a.yes, json: a.json }
    }
}

impl From<StatusArgs> for opts::StatusOptions {
    fn from(a: StatusArgs) -> Self {
        Self { plan: a.plan, state: a.state.into(), json: a.json, watch: a.watch }
    }
}

impl From<TaskArgs> for opts::TaskOptions {
    fn from(a: TaskArgs) -> Self {
        Self { task: a.task, plan: a.plan, state: a.state.into(), note: None }
    }
}

impl From<super::args::RetryArgs> for opts::TaskOptions {
    fn from(a: super::args::RetryArgs) -> Self {
        Self { note: a.note, ..a.task.into() }
    }
}

impl From<ExplainArgs> for opts::ExplainOptions {
    fn from(a: ExplainArgs) -> Self {
        Self { task: a.task.into(), json: a.json }
    }
}

impl From<LogArgs> for opts::LogOptions {
    fn from(a: LogArgs) -> Self {
        Self { task: a.task.into(), attempt: a.attempt, summary: a.summary, follow: a.follow, json: a.json }
    }
}
