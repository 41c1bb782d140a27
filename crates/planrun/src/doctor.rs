//! `planrun doctor`: its arguments, and the findings of `planrun_runtime::doctor` shown for
//! people (a block per agent CLI, what to fix for each problem) or as one JSON object.

use crate::exit;
use crate::run::doctor::Finding;
use crate::run::options::DoctorOptions;
use planrun_agents::adapter::AgentKind;
use serde_json::{Value, json};
use std::path::PathBuf;

/// Arguments of `planrun doctor`.
#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// Check only this agent (repeatable): claude, codex, gemini or opencode. Default: all four.
    #[arg(long, value_name = "NAME", value_parser = parse_cli_agent)]
    pub(crate) agent: Vec<AgentKind>,
    /// Also run each installed CLI once, headless, on a one-line prompt, exactly as `planrun
    /// run` would: proves it starts, reaches its endpoint, is authorised and that planrun reads
    /// its events. Costs a few tokens.
    #[arg(long)]
    pub(crate) probe: bool,
    /// The model for --probe (as `planrun run --model`).
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: Option<String>,
    /// Let the probed CLI see this environment variable too (as `planrun run --pass-env`).
    #[arg(long = "pass-env", value_name = "NAME")]
    pub(crate) pass_env: Vec<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

fn parse_cli_agent(s: &str) -> Result<AgentKind, String> {
    let k: AgentKind = s.parse()?;
    if k == AgentKind::Command {
        return Err("the command agent is your own program; doctor checks claude, codex, gemini and opencode".into());
    }
    Ok(k)
}

pub(crate) fn doctor(args: &DoctorArgs) -> crate::error::Outcome {
    let kinds: Vec<AgentKind> = if args.agent.is_empty() {
        AgentKind::ALL.into_iter().filter(|k| *k != AgentKind::Command).collect()
    } else {
        args.agent.clone()
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let options = DoctorOptions { probe: args.probe, model: args.model.clone(), pass_env: args.pass_env.clone() };
    let findings = crate::run::doctor::findings(&kinds, &options, &cwd)?;
    let installed = findings.iter().filter(|f| f.path.is_some()).count();
    // Healthy: every named agent works; without names, at least one is installed and every
    // installed one works.
    let ok = if args.agent.is_empty() {
        installed > 0 && findings.iter().filter(|f| f.path.is_some()).all(|f| f.problems.is_empty())
    } else {
        findings.iter().all(|f| f.problems.is_empty())
    };
    if args.json {
        let agents: Vec<Value> = findings
            .iter()
            .map(|f| {
                json!({
                    "agent": f.name,
                    "installed": f.path.is_some(),
                    "path": f.path.as_ref().map(|p| p.display().to_string()),
                    "version": f.version,
                    "endpoint": f.endpoint,
                    "reachable": f.reachable,
                    "credentials": f.credentials,
                    "config_variables": f.config,
                    "probe": f.probe,
                    "problems": f.problems,
                    "notes": f.notes,
                })
            })
            .collect();
        outln!("{}", json!({"ok": ok, "agents": agents}));
    } else {
        for f in &findings {
            out!("{}", render(f));
        }
        if ok {
            outln!("\nplanrun doctor: ready; run a plan with `planrun run PLAN --agent NAME`");
        } else if installed == 0 {
            outln!(
                "\nplanrun doctor: no agent CLI is installed; install one of them (see above), or run any program as the agent: `planrun run PLAN --agent-command 'my-agent {{prompt_file}}'`"
            );
        } else {
            outln!("\nplanrun doctor: fix the problems above, then run `planrun doctor` again");
        }
    }
    Ok(if ok { exit::OK } else { exit::FAILURE })
}

fn render(f: &Finding) -> String {
    let mut s = String::new();
    let state = if f.path.is_none() {
        "missing"
    } else if f.problems.is_empty() {
        "ok"
    } else {
        "problem"
    };
    s.push_str(&format!("{:<9} {state}\n", f.name));
    let mut row = |k: &str, v: &str| s.push_str(&format!("  {k:<12} {v}\n"));
    if let Some(p) = &f.path {
        row("path", &p.display().to_string());
    }
    if let Some(v) = &f.version {
        row("version", v);
    }
    if f.endpoint.is_none() && f.path.is_some() && f.name == "opencode" {
        row("endpoint", "the configured provider's (not checked; --probe tries it)");
    }
    if let Some(e) = &f.endpoint {
        let reach = match f.reachable {
            Some(true) => " (answers)",
            Some(false) => " (does not answer)",
            None => "",
        };
        row("endpoint", &format!("{e}{reach}"));
    }
    if let Some(c) = &f.credentials {
        row("credentials", c);
    }
    for v in &f.config {
        row("variable", &config_line(v));
    }
    if let Some(p) = &f.probe {
        let at = |ptr: &str| p.pointer(ptr).cloned().unwrap_or(Value::Null);
        let line = if at("/ok") == true {
            format!(
                "ran in {} ms: session {}, {} in / {} out tokens",
                at("/elapsed_ms"),
                at("/session").as_str().unwrap_or("?"),
                at("/usage/input"),
                at("/usage/output")
            )
        } else {
            format!("failed: {}", at("/error").as_str().unwrap_or("?"))
        };
        row("probe", &line);
    }
    for n in &f.notes {
        row("note", n);
    }
    for p in &f.problems {
        row("fix", p);
    }
    s
}

/// One `variable` row: `NAME set|not set (at in FILE)`.
fn config_line(v: &Value) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    let state = if v.get("set_by_file") == Some(&Value::Bool(true)) {
        "set by the file"
    } else if v.get("project") == Some(&Value::Bool(true)) {
        "named by the repository's own file, so not passed on its own (trust it with --pass-env NAME)"
    } else if v.get("set") == Some(&Value::Bool(true)) {
        "set, passed to the agent"
    } else {
        "not set"
    };
    let at = if s("at").is_empty() { String::new() } else { format!("`{}` in ", s("at")) };
    let needed = if v.get("required") == Some(&Value::Bool(true)) { ", required" } else { "" };
    format!("{} {state} ({at}{}{needed})", s("name"), s("file"))
}
