//! What a user should know before a run with an agent starts (e.g. why its permissions are
//! narrower).

use super::AgentKind;
use super::argv::Call;

/// What a user should know before a run with `kind` starts, e.g. why permissions are narrower.
pub fn notices(kind: AgentKind, call: &Call<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if kind == AgentKind::Claude && call.root && !call.sandbox {
        out.push(
            "claude refuses --dangerously-skip-permissions as root unless IS_SANDBOX=1; planrun runs it with \
             --permission-mode acceptEdits: file edits and plain commands are allowed, but commands that use shell \
             expansions such as $VAR are refused. Run planrun as a normal user, or set IS_SANDBOX=1 if this \
             machine is a disposable sandbox."
                .to_owned(),
        );
    }
    out
}
