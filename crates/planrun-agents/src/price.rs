//! Dollars for tokens, for the CLIs that report tokens but no cost: a price table per model
//! (USD per million tokens), built in for common models and overridable in `planrun.toml`.
//! Prices change; the built-in figures are list prices as of late 2026 and are only a default.

use crate::adapter::Usage;
use serde::{Deserialize, Serialize};

/// What a million tokens of each kind cost, in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_read: f64,
    #[serde(default)]
    pub cache_write: f64,
}

impl Price {
    /// The cost of `usage` at this price.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let m = |tokens: u64, per_million: f64| tokens as f64 * per_million / 1_000_000.0;
        m(usage.input, self.input)
            + m(usage.output, self.output)
            + m(usage.cache_read, self.cache_read)
            + m(usage.cache_write, self.cache_write)
    }
}

/// Built-in prices by model-name prefix; the longest matching prefix wins.
const BUILT_IN: &[(&str, Price)] = &[
    ("claude-opus-4", Price { input: 15.0, output: 75.0, cache_read: 1.5, cache_write: 18.75 }),
    // Opus from 4.5 on costs a third of Opus 4 and 4.1 (Claude Code reports the same).
    ("claude-opus-4-5", Price { input: 5.0, output: 25.0, cache_read: 0.5, cache_write: 6.25 }),
    ("claude-opus-4-6", Price { input: 5.0, output: 25.0, cache_read: 0.5, cache_write: 6.25 }),
    ("claude-opus-4-7", Price { input: 5.0, output: 25.0, cache_read: 0.5, cache_write: 6.25 }),
    ("claude-opus-4-8", Price { input: 5.0, output: 25.0, cache_read: 0.5, cache_write: 6.25 }),
    ("claude-sonnet-4", Price { input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75 }),
    ("claude-haiku-4", Price { input: 1.0, output: 5.0, cache_read: 0.1, cache_write: 1.25 }),
    ("gpt-5", Price { input: 1.25, output: 10.0, cache_read: 0.125, cache_write: 0.0 }),
    ("gpt-5-mini", Price { input: 0.25, output: 2.0, cache_read: 0.025, cache_write: 0.0 }),
    ("gpt-5-nano", Price { input: 0.05, output: 0.4, cache_read: 0.005, cache_write: 0.0 }),
    ("o4-mini", Price { input: 1.1, output: 4.4, cache_read: 0.275, cache_write: 0.0 }),
    ("gemini-2.5-pro", Price { input: 1.25, output: 10.0, cache_read: 0.31, cache_write: 0.0 }),
    ("gemini-2.5-flash", Price { input: 0.3, output: 2.5, cache_read: 0.075, cache_write: 0.0 }),
    ("gemini-3-pro", Price { input: 2.0, output: 12.0, cache_read: 0.2, cache_write: 0.0 }),
];

/// Prices by model name: the user's, then the built-in ones.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    /// The user's prices, by exact model name or `PREFIX*`.
    pub user: Vec<(String, Price)>,
}

impl PriceTable {
    /// The price of `model`, if known. A user entry names a model exactly or ends with `*`; a
    /// provider prefix such as `anthropic/` is ignored for the built-in table.
    pub fn price(&self, model: &str) -> Option<Price> {
        let user = self
            .user
            .iter()
            .filter(|(k, _)| match k.strip_suffix('*') {
                Some(prefix) => model.starts_with(prefix),
                None => k == model,
            })
            .max_by_key(|(k, _)| k.len());
        if let Some((_, p)) = user {
            return Some(*p);
        }
        let bare = model.rsplit('/').next().unwrap_or(model);
        BUILT_IN.iter().filter(|(prefix, _)| bare.starts_with(prefix)).max_by_key(|(k, _)| k.len()).map(|(_, p)| *p)
    }

    /// The cost of `usage` with `model`, if its price is known.
    pub fn cost(&self, model: Option<&str>, usage: &Usage) -> Option<f64> {
        Some(self.price(model?)?.cost(usage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins_and_user_prices_come_first() {
        let t = PriceTable::default();
        assert_eq!(t.price("gpt-5-mini-2026").map(|p| p.input), Some(0.25));
        assert_eq!(t.price("gpt-5-codex").map(|p| p.input), Some(1.25));
        assert_eq!(t.price("anthropic/claude-sonnet-4-5").map(|p| p.output), Some(15.0));
        assert_eq!(t.price("claude-opus-4-1-20250805").map(|p| p.output), Some(75.0));
        assert_eq!(t.price("claude-opus-4-8").map(|p| p.output), Some(25.0));
        assert_eq!(t.price("my-local-model"), None);
        let p = Price { input: 2.0, output: 4.0, cache_read: 1.0, cache_write: 0.0 };
        let t = PriceTable { user: vec![("gpt-5*".into(), p), ("my-local-model".into(), p)] };
        assert_eq!(t.price("gpt-5-mini"), Some(p));
        let usage = Usage { input: 1_000_000, output: 500_000, cache_read: 2_000_000, cache_write: 0 };
        assert_eq!(t.cost(Some("my-local-model"), &usage), Some(2.0 + 2.0 + 2.0));
        assert_eq!(t.cost(None, &usage), None);
    }
}
