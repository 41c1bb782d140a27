//! The keys cm writes in plans and task entries, by field, and those planrun knowingly ignores.

pub(super) const TITLE_KEYS: &[&str] = &["title", "name", "plan_title", "project", "initiative"];
pub(super) const GOAL_KEYS: &[&str] = &["goal", "objective", "purpose"];
pub(super) const SUMMARY_KEYS: &[&str] = &["summary", "overview", "description", "context", "background"];
/// Plan-level lists shown to every agent under a label.
pub(super) const CONTEXT_LISTS: &[(&str, &str)] = &[
    ("constraints", "Constraints"),
    ("assumptions", "Assumptions"),
    ("non_goals", "Non-goals"),
    ("out_of_scope", "Out of scope"),
    ("risks", "Risks"),
    ("notes", "Notes"),
];
pub(super) const PLAN_VERIFY_KEYS: &[&str] =
    &["verify", "verify_commands", "test_command", "test_commands", "tests", "verification", "checks"];
pub(super) const TASK_LIST_KEYS: &[&str] = &["tasks", "steps", "items", "todos", "backlog"];
pub(super) const PHASE_KEYS: &[&str] = &["phases", "milestones", "groups", "waves"];
/// Plan-level bookkeeping that says nothing about the work.
pub(super) const PLAN_IGNORED: &[&str] = &[
    "stats",
    "updated",
    "updated_at",
    "created",
    "created_at",
    "version",
    "schema",
    "$schema",
    "id",
    "status",
    "approved",
    "approved_by",
    "approved_at",
    "author",
    "date",
    "mode",
    "source",
    "generated_by",
    "generated_at",
    "session",
];

pub(super) const ID_KEYS: &[&str] = &["id", "task_id", "taskId", "step", "number", "key"];
pub(super) const TASK_TITLE_KEYS: &[&str] = &["title", "name", "task", "subject", "summary"];
pub(super) const DESCRIPTION_KEYS: &[&str] = &[
    "description",
    "details",
    "desc",
    "body",
    "instructions",
    "prompt",
    "summary",
    "implementation",
    "approach",
    "how",
];
pub(super) const STEP_KEYS: &[&str] = &["steps", "subtasks", "substeps", "checklist", "todo"];
pub(super) const NOTE_KEYS: &[&str] = &["notes", "hints", "context", "rationale"];
pub(super) const FILE_KEYS: &[&str] = &[
    "files",
    "file",
    "paths",
    "file_paths",
    "affected_files",
    "files_to_modify",
    "files_to_create",
    "modified_files",
    "touches",
    "targets",
];
pub(super) const DEP_KEYS: &[&str] =
    &["depends_on", "dependencies", "dependsOn", "deps", "after", "blocked_by", "blockedBy", "requires", "needs"];
pub(super) const ACCEPTANCE_KEYS: &[&str] = &[
    "acceptance",
    "acceptance_criteria",
    "acceptanceCriteria",
    "success_criteria",
    "successCriteria",
    "criteria",
    "done_when",
    "definition_of_done",
    "expected",
    "expected_outcome",
    "outcome",
];
pub(super) const VERIFY_KEYS: &[&str] = &[
    "verify",
    "verification",
    "verify_command",
    "verify_commands",
    "test",
    "tests",
    "test_command",
    "test_commands",
    "testCommand",
    "validation",
    "check",
    "checks",
    "commands",
];
pub(super) const PERSONA_KEYS: &[&str] =
    &["persona", "agent_type", "agentType", "subagent_type", "subagentType", "role"];
pub(super) const SKILL_KEYS: &[&str] = &["skill", "skills", "cm_skill"];
pub(super) const MILESTONE_KEYS: &[&str] = &["milestone", "phase", "group", "wave", "epic"];
pub(super) const PRIORITY_KEYS: &[&str] = &["priority", "prio", "urgency"];
pub(super) const STATUS_KEYS: &[&str] = &["status", "state"];
pub(super) const DONE_FLAGS: &[&str] = &["done", "completed", "complete"];
/// Per-task bookkeeping of the RARV loop and of planning tools: read by nobody here.
pub(super) const TASK_IGNORED: &[&str] = &[
    "logs",
    "log",
    "rarv_cycles",
    "created_at",
    "started_at",
    "completed_at",
    "updated_at",
    "created",
    "updated",
    "blocked_at",
    "blocked_reason",
    "error",
    "errors",
    "attempts",
    "retries",
    "result",
    "output",
    "commit",
    "branch",
    "pr",
    "assignee",
    "owner",
    "tags",
    "labels",
    "type",
    "estimate",
    "complexity",
    "est_complexity",
];
/// Agent backends planrun can run; any other `agent` value names a persona.
pub(super) const BACKENDS: &[&str] =
    &["claude", "claude-code", "codex", "gemini", "opencode", "aider", "cursor", "copilot", "amp", "qwen"];
