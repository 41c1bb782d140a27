//! What kind of error an agent's model provider reported: a configuration problem (a missing key
//! variable, a refused key, an unknown model or provider, a configuration file the CLI cannot
//! read) that waiting will not fix, or a passing one (a rate limit, an overload, a server
//! error, the network) that running again later does. Read from the words the CLIs print.

use regex::Regex;
use std::sync::LazyLock;
use std::time::Duration;

/// The kind of a provider's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Something to fix in the configuration or the environment first.
    Config,
    /// Passes by itself: a rate limit, an overload, a server error, the network.
    Transient,
    /// The words say neither.
    Unclear,
}

impl ErrorClass {
    /// `config`, `transient` or `unclear`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Config => "config",
            ErrorClass::Transient => "transient",
            ErrorClass::Unclear => "unclear",
        }
    }
}

/// Words of a configuration problem (matched case-insensitively).
static CONFIG: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)missing environment variable|environment variable .{0,40}(is )?not set|",
        // A refused key: HTTP 401 or 403, or the providers' words for it.
        r"\b40[13]\b|unauthori[sz]ed|forbidden|permission[_ ]denied|invalid[_ ](x-)?api[_ -]?key|",
        r"incorrect api key|api key not valid|invalid authentication|authentication[_ ]error|",
        r"no (api )?key (was )?(provided|found)|api key (is )?(missing|required)|",
        // An unknown model or provider.
        r"model[_ ]not[_ ]found|unknown model|\bmodels?\b.{0,80}(not found|does not exist|not supported)|",
        r"invalid model|no such model|unsupported model|providermodelnotfound|provider[_ ]not[_ ]found|",
        r"unknown (model )?provider|model provider .{0,80}not found|providerinit|",
        // The CLI's own configuration.
        r"error loading config|failed to (load|parse) (the )?config|invalid config|configuration error|",
        r"is no longer supported\.\s*how to fix"
    ))
    .ok()
});

/// Words of a passing problem.
static TRANSIENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(429|5\d\d)\b|rate[_ ]?limit|too many requests|quota|overloaded|high demand|",
        r"temporar(y|ily)|try again|unavailable|internal server error|bad gateway|gateway timeout|",
        r"timed? ?out|connection (refused|reset|closed|error)|econn(refused|reset)|etimedout|enotfound|",
        r"network|socket hang up|fetch failed|error sending request|stream (disconnected|error)|reconnect"
    ))
    .ok()
});

/// A provider's error as read from an agent's output: its words, and what kind of failure it
/// is, decided once here so that what acts on it never reads the words again.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    pub message: String,
    pub kind: ProviderKind,
}

/// What a provider's error means for the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProviderKind {
    /// A rate limit or an overload (HTTP 429 or 529, or its words): the agent waits and goes
    /// on, the time the provider named (`reset`) or a backoff.
    RateLimit { reset: Option<std::time::Duration> },
    /// Anything else: the run stops, resumable.
    Other(ErrorClass),
}

impl ProviderError {
    /// Reads what kind of error `message` is.
    pub fn read(message: String) -> Self {
        let kind = if is_rate_limit(&message) {
            ProviderKind::RateLimit { reset: reset_in(&message) }
        } else {
            ProviderKind::Other(classify(&message))
        };
        ProviderError { message, kind }
    }
}

/// Whether a provider's error is a rate limit or an overload (HTTP 429 or 529, or its words):
/// the agent waits and goes on, instead of the run stopping.
fn is_rate_limit(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    ["429", "529", "rate limit", "rate_limit", "ratelimit", "overloaded", "too many requests", "quota"]
        .iter()
        .any(|w| e.contains(w))
}

/// The wait a provider's error names (`retry-after: 30`, `try again in 1m30s`, `reset in 12s`,
/// `retry after 5 seconds`), if any.
fn reset_in(error: &str) -> Option<Duration> {
    let e = error.to_ascii_lowercase();
    for key in ["retry-after-ms", "retry-after", "retry after", "try again in", "reset in", "resets in", "retry in"] {
        let Some(at) = e.find(key) else { continue };
        let rest = e.get(at + key.len()..).unwrap_or("").trim_start_matches([':', ' ', '"', '=']);
        let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let Ok(n) = num.parse::<f64>() else { continue };
        let unit = rest.get(num.len()..).unwrap_or("").trim_start();
        let secs = if key == "retry-after-ms" || unit.starts_with("ms") {
            n / 1000.0
        } else if unit.starts_with('m') && !unit.starts_with("ms") {
            n * 60.0
        } else if unit.starts_with('h') {
            n * 3600.0
        } else {
            n
        };
        if secs.is_finite() && (0.0..7.0 * 86_400.0).contains(&secs) {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    None
}

/// The class of a provider's error message. A configuration problem wins when the words say
/// both (a 401 on a reconnect is still a refused key).
pub fn classify(message: &str) -> ErrorClass {
    let is = |re: &LazyLock<Option<Regex>>| re.as_ref().is_some_and(|r| r.is_match(message));
    if is(&CONFIG) {
        ErrorClass::Config
    } else if is(&TRANSIENT) {
        ErrorClass::Transient
    } else {
        ErrorClass::Unclear
    }
}

/// The variable a "Missing environment variable: `NAME`" error names (Codex's words), if any.
pub fn missing_variable(message: &str) -> Option<String> {
    static RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?i)missing environment variable:?\s*[`'\x22]?([A-Za-z_][A-Za-z0-9_]*)").ok());
    let re = RE.as_ref()?;
    Some(re.captures(message)?.get(1)?.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clis_words_are_classed() {
        use ErrorClass::*;
        for (m, want) in [
            // Codex 0.169.0, a custom provider whose env_key is unset.
            ("Missing environment variable: `GW_API_KEY`. Get a key from the gateway admin", Config),
            // Codex, a refused key.
            ("unexpected status 401 Unauthorized: Incorrect API key provided", Config),
            // Claude Code's result event, as planrun words it.
            ("Invalid API key · Fix external API key (HTTP 401)", Config),
            ("API Error: 403 {\"type\":\"error\",\"error\":{\"type\":\"permission_error\"}}", Config),
            ("model_not_found: The model `gpt-nope` does not exist", Config),
            ("ProviderModelNotFoundError: providerID=mock modelID=nope", Config),
            ("[API Error: models/gemini-nope is not found for API version v1beta]", Config),
            ("Error loading config.toml: invalid type: string, expected a boolean in `hide`", Config),
            ("`wire_api = \"chat\"` is no longer supported.\nHow to fix: set `wire_api = \"responses\"`", Config),
            // Passing ones.
            ("We're currently experiencing high demand, which may cause temporary errors.", Transient),
            ("unexpected status 500 Internal Server Error: scripted server error", Transient),
            ("exceeded retry limit, last status: 429 Too Many Requests", Transient),
            ("API Error: 529 Overloaded", Transient),
            ("stream disconnected before completion: error sending request", Transient),
            ("fetch failed: connect ECONNREFUSED 127.0.0.1:9", Transient),
            ("Quota exceeded for quota metric", Transient),
            // Neither.
            ("the turn failed", Unclear),
            ("request id 14013 failed", Unclear),
        ] {
            assert_eq!(classify(m), want, "{m}");
        }
    }

    #[test]
    fn a_missing_variable_is_named() {
        assert_eq!(
            missing_variable("Missing environment variable: `GW_API_KEY`. Get a key").as_deref(),
            Some("GW_API_KEY")
        );
        assert_eq!(missing_variable("missing environment variable OPENAI_API_KEY").as_deref(), Some("OPENAI_API_KEY"));
        assert_eq!(missing_variable("unexpected status 401"), None);
    }
    #[test]
    fn rate_limits_and_their_reset_times_are_read_from_the_providers_words() {
        let rl = |m: &str| ProviderError::read(m.to_owned()).kind;
        assert_eq!(rl("429: retry-after: 30"), ProviderKind::RateLimit { reset: Some(Duration::from_secs(30)) });
        assert_eq!(rl("API Error: 401 unauthorized"), ProviderKind::Other(ErrorClass::Config));
        assert!(is_rate_limit("API Error: 429 {\"type\":\"rate_limit_error\"}"));
        assert!(is_rate_limit("Overloaded (HTTP 529)"));
        assert!(!is_rate_limit("API Error: 500 internal"));
        assert_eq!(reset_in("429: retry-after: 30"), Some(Duration::from_secs(30)));
        assert_eq!(reset_in("Rate limit reached. Please try again in 1m"), Some(Duration::from_secs(60)));
        assert_eq!(reset_in("retry-after-ms: 1500"), Some(Duration::from_millis(1500)));
        assert_eq!(reset_in("try again in 250ms"), Some(Duration::from_millis(250)));
        assert_eq!(reset_in("429 too many requests"), None);
    }
}
