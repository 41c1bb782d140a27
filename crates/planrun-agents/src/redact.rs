//! Keeps secrets out of everything planrun writes: the values of configured variables (API keys
//! handed to an agent) and the shapes of well-known keys are replaced by `[redacted]` in logs,
//! transcripts, reasons and reports. Works on bytes, so it can sit between a child's pipe and
//! its log file.

use regex::bytes::Regex;
use std::borrow::Cow;

/// What a secret is replaced with.
pub const MARK: &str = "[redacted]";

/// The longest secret that is found when it arrives split over two reads; longer known-shape
/// keys are cut at this length by the patterns below.
pub const MAX_SECRET: usize = 512;

/// Shapes of API keys and tokens that are redacted wherever they appear, configured or not.
const SHAPES: &[&str] = &[
    // Anthropic, OpenAI (sk-, sk-proj-, sk-ant-...).
    r"sk-[A-Za-z0-9_\-]{16,200}",
    // Google API keys.
    r"AIza[0-9A-Za-z_\-]{30,100}",
    // GitHub tokens.
    r"gh[pousr]_[A-Za-z0-9]{30,200}",
    r"github_pat_[A-Za-z0-9_]{30,200}",
    // Slack tokens.
    r"xox[abposr]-[A-Za-z0-9\-]{10,200}",
    // AWS access key ids.
    r"AKIA[0-9A-Z]{16}",
    // Bearer tokens in headers that an agent echoes.
    r"(?i:bearer)\s+[A-Za-z0-9_\-\.=]{20,400}",
];

/// Values shorter than this are not redacted: replacing every `1` or `true` in a log would hide
/// more than it protects.
pub const MIN_VALUE: usize = 8;

/// Names of variables whose values are treated as secrets when planrun hands them to an agent.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"].iter().any(|w| upper.contains(w))
}

/// Replaces secrets in text.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// `None` only if no pattern could be built, which the fixed shapes rule out.
    pattern: Option<Regex>,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(std::iter::empty::<&str>())
    }
}

impl Redactor {
    /// A redactor for the known key shapes and these literal values (short ones are ignored).
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut literals: Vec<String> = values
            .into_iter()
            .map(|v| v.as_ref().to_owned())
            .filter(|v| v.len() >= MIN_VALUE && v.len() <= MAX_SECRET)
            .collect();
        // Longest first, so a value that contains another is replaced whole.
        literals.sort_by_key(|v| std::cmp::Reverse(v.len()));
        literals.dedup();
        let mut alternatives: Vec<String> = literals.iter().map(|v| regex::escape(v)).collect();
        alternatives.extend(SHAPES.iter().map(|s| (*s).to_owned()));
        // Too many configured values for one pattern: the key shapes still apply.
        let pattern = Regex::new(&alternatives.join("|")).or_else(|_| Regex::new(&SHAPES.join("|"))).ok();
        Self { pattern }
    }

    /// `bytes` with every secret replaced.
    pub fn bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match &self.pattern {
            Some(p) => p.replace_all(bytes, MARK.as_bytes()),
            None => Cow::Borrowed(bytes),
        }
    }

    /// `text` with every secret replaced.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
        }
    }

    /// Where a buffer may be cut so that no secret is split: the end of the last match that
    /// reaches past `at`, else `at` itself. Everything before the returned index can be
    /// redacted and written; the rest waits for more bytes.
    pub fn safe_cut(&self, bytes: &[u8], at: usize) -> usize {
        let from = at.saturating_sub(MAX_SECRET);
        let mut cut = at;
        if let (Some(tail), Some(p)) = (bytes.get(from..), &self.pattern) {
            for m in p.find_iter(tail) {
                let (s, e) = (from + m.start(), from + m.end());
                if s < cut && e > cut {
                    cut = e;
                }
            }
        }
        cut.min(bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_shapes_and_configured_values_are_replaced() {
        let r = Redactor::new(["my-own-secret-value", "short"]);
        let text = "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz and AIzaSyA1234567890abcdefghijklmnopqrstu \
                    then my-own-secret-value, short stays, Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345";
        let out = r.text(text);
        for secret in ["sk-ant-api03", "AIzaSyA", "my-own-secret-value", "abcdefghijklmnopqrstuvwxyz012345"] {
            assert!(!out.contains(secret), "{secret} left in {out}");
        }
        assert!(out.contains("short stays"), "{out}");
        assert_eq!(out.matches(MARK).count(), 4, "{out}");
    }

    #[test]
    fn text_without_secrets_is_borrowed() {
        let r = Redactor::default();
        assert!(matches!(r.text("plain words, sk-short"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_cut_never_splits_a_secret() {
        let r = Redactor::new(["0123456789abcdef"]);
        let buf = b"xxxx0123456789abcdefyyyy";
        assert_eq!(r.safe_cut(buf, 10), 20);
        assert_eq!(r.safe_cut(buf, 2), 2);
        assert_eq!(r.safe_cut(buf, 22), 22);
    }

    #[test]
    fn secret_names() {
        assert!(is_secret_name("ANTHROPIC_API_KEY") && is_secret_name("gh_token") && is_secret_name("MY_SECRET"));
        assert!(!is_secret_name("PATH") && !is_secret_name("HOME") && !is_secret_name("ANTHROPIC_BASE_URL"));
    }
}
