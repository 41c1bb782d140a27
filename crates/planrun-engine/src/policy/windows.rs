//! Usage windows: what an agent used in a sliding window of time against the window's cap, its
//! soft threshold (its next steps wait) and its hard one (the run stops).

use super::*;

impl Window {
    /// `5h`, `7d`, `1.5h`: how the window is named in messages.
    pub fn label(&self) -> String {
        let h = self.hours;
        if h >= 24.0 && (h / 24.0).fract() == 0.0 { format!("{}d", h / 24.0) } else { format!("{h}h") }
    }

    /// How full `used` makes the window: the larger of its dollar and token shares (1.0 = cap).
    pub fn share(&self, used: Spend) -> f64 {
        let usd = self.usd.filter(|c| *c > 0.0).map_or(0.0, |c| used.usd / c);
        let tokens = self.tokens.filter(|c| *c > 0).map_or(0.0, |c| used.tokens as f64 / c as f64);
        usd.max(tokens)
    }
}

impl Policy {
    /// How long until the agent's use in window `w` falls under its soft threshold (the cap when
    /// unset), if it is past it.
    pub(super) fn window_frees(&self, w: &Window, now_ms: u64) -> Option<u64> {
        if w.share(self.window_used(w, now_ms, true)) < w.soft.unwrap_or(1.0) {
            return None;
        }
        // Room comes back as the oldest use in the window ages out of it.
        let span = (w.hours * 3_600_000.0) as u64;
        let since = now_ms.saturating_sub(span);
        let oldest =
            self.uses.iter().filter(|(a, end, _)| *a == w.agent && *end >= since).map(|(_, end, _)| *end).min();
        let frees_at = oldest.map_or(now_ms.saturating_add(span), |o| o.saturating_add(span));
        Some(frees_at.saturating_sub(now_ms).max(WINDOW_RECHECK_MS))
    }

    /// What `agent` used in window `w` up to `at_ms`: journaled uses that ended in it, and
    /// (`live`) what its running steps reported so far.
    fn window_used(&self, w: &Window, at_ms: u64, live: bool) -> Spend {
        let since = at_ms.saturating_sub((w.hours * 3_600_000.0) as u64);
        let mut used = Spend::default();
        for (agent, end, spend) in &self.uses {
            if *agent == w.agent && *end >= since && *end <= at_ms {
                used.add(*spend);
            }
        }
        if live {
            for l in self.live.values().filter(|l| l.agent == w.agent) {
                used.add(l.spend);
            }
        }
        used
    }

    /// How full each usage window of `agent` was at `at_ms` (journaled uses only): its label
    /// and share of the cap (1.0 = full). For the reports' usage at a task's start and end.
    pub fn window_shares(&self, agent: &str, at_ms: u64) -> Vec<(String, f64)> {
        self.rules
            .windows
            .iter()
            .filter(|w| w.agent == agent)
            .map(|w| (w.label(), w.share(self.window_used(w, at_ms, false))))
            .collect()
    }

    /// A window past its hard threshold at `now_ms`, and why: the run stops.
    pub(super) fn window_hard(&self, now_ms: u64) -> Option<String> {
        self.rules.windows.iter().find_map(|w| {
            let hard = w.hard?;
            let share = w.share(self.window_used(w, now_ms, true));
            (share >= hard).then(|| {
                format!(
                    "{}'s {} usage window is at {:.0}% of its cap (hard threshold {:.0}%)",
                    w.agent,
                    w.label(),
                    share * 100.0,
                    hard * 100.0
                )
            })
        })
    }
}
