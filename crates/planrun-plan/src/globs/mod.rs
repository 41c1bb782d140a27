//! Glob overlap analysis for task `files` lists: owns parsing planrun's glob dialect and deciding
//! exactly whether two globs can match a common path. It must not touch the filesystem, run
//! processes, or decide what to do about an overlap (callers turn overlaps into warnings).
//!
//! # Dialect
//!
//! The dialect is `globset`'s default syntax with `literal_separator(true)`:
//!
//! * `*` matches any run of characters except `/`, `?` any single character except `/`.
//! * `**` is recursive only when it is a whole path component: `**/x` (zero or more leading
//!   directories), `a/**/b` (zero or more directories in between, so it matches `a/b`) and
//!   `a/**` (everything strictly below `a`: `a/b`, `a/b/c`, and, as in globset, `a/`; it does
//!   not match `a` itself). A `**` alone matches every path. A `**` (or `***`, ...) inside a
//!   component, such as `a**`, is an ordinary `*`.
//! * `[abc]`, `[a-z]`, `[!a-z]`, `[^a-z]` are classes. As in globset, a `]` right after the
//!   opening `[` (or `[!`) is literal, `-` first or last is literal, and a backslash inside a
//!   class is a literal backslash. Unlike globset, a class never matches `/`.
//! * `{a,b,c}` alternation, possibly nested and possibly containing wildcards. Braces are
//!   expanded first and every alternative is then interpreted on its own, so `{src,lib}/**`
//!   behaves exactly like the two globs `src/**` and `lib/**`. An unmatched `}` is an error (as
//!   in globset); `,` outside braces is a literal comma.
//! * `\x` is the literal character `x`; a trailing lone `\` is an error.
//!
//! Two planrun-specific rules, applied to every brace alternative separately:
//!
//! * A trailing `/` names a whole directory: `src/` is read as `src/**`.
//! * A wildcard-free (literal) alternative `P` matches `P` itself *and* everything under it
//!   (`P/**`). Plan authors write both `src/api/mod.rs` and `src/api` meaning "the directory",
//!   and planrun cannot tell which was meant, so a literal is "this file or everything under
//!   this directory". The cost is that some reported overlaps need a path that cannot exist
//!   (`a/**/b` overlaps the literal `a/xb` through `a/xb/b`, even if `a/xb` is a file).
//!
//! # Algorithm
//!
//! Every alternative becomes a token sequence (literal character, `?`, `*`, class, and two
//! recursive forms: "any string" for a trailing `**` and "empty or any string ending in `/`"
//! for a `**/` component). All alternatives of a pattern go into one token trie whose
//! identical subtrees are then merged, so brace products stay small, and that trie becomes an
//! epsilon-NFA over the full Unicode alphabet. Two patterns overlap iff the product automaton
//! can reach a state that accepts on both sides. The search visits each product state once,
//! so it costs O(|A| * |B|) states for NFAs of sizes |A| and |B|; there is no backtracking.

mod nfa;
mod syntax;

use nfa::*;
use syntax::*;

use std::collections::{HashMap, HashSet};

/// Most alternatives a single pattern may expand to.
const MAX_ALTERNATIVES: usize = 1024;
/// Deepest brace nesting accepted (keeps the recursive parser's stack bounded).
const MAX_BRACE_DEPTH: usize = 32;
/// Largest Unicode scalar value.
const MAX_CHAR: u32 = 0x10_FFFF;
/// The surrogate block, which holds no `char`s.
const SURROGATES: (u32, u32) = (0xD800, 0xDFFF);
/// The path separator as a code point.
const SLASH: u32 = '/' as u32;

/// A parsed glob ready for overlap checks.
#[derive(Debug, Clone)]
pub struct Pattern {
    prefix: Vec<String>,
    alternatives: Vec<Vec<Atom>>,
    /// Built on first use: most patterns of a plan are never compared with any other (their
    /// literal prefixes do not nest), and building the automaton is the costly part.
    nfa: std::cell::OnceCell<Nfa>,
}

impl Pattern {
    /// Parses a glob; Err(message) for malformed ones (unclosed `[` or `{`, empty alternation is fine, trailing lone backslash is an error).
    ///
    /// Also rejected: an unmatched `}`, a reversed class range such as `[z-a]`, braces nested
    /// deeper than 32 levels, and patterns that expand to more than 1024 alternatives.
    /// A wildcard-free alternative `P` is compiled as `P` or `P/**` (see the module docs).
    ///
    /// # Errors
    ///
    /// Returns a human-readable message describing the first syntax problem found.
    pub fn parse(glob: &str) -> Result<Pattern, String> {
        // Most patterns of real plans are plain paths: no parser needed for them.
        if !glob.contains(['*', '?', '[', '{', '}', '\\']) {
            let prefix = glob.split('/').filter(|c| !c.is_empty()).map(str::to_owned).collect();
            let alternatives = vec![glob.chars().map(Atom::Lit).collect()];
            return Ok(Pattern { prefix, alternatives, nfa: std::cell::OnceCell::new() });
        }
        Self::parse_syntax(glob)
    }

    /// [`Pattern::parse`] through the parser, whatever the pattern.
    fn parse_syntax(glob: &str) -> Result<Pattern, String> {
        let nodes = Parser::new(glob).parse_top()?;
        let prefix = literal_prefix_of(&nodes);
        let alternatives = expand(&nodes, 0)?;
        Ok(Pattern { prefix, alternatives, nfa: std::cell::OnceCell::new() })
    }

    fn nfa(&self) -> &Nfa {
        self.nfa.get_or_init(|| {
            let mut trie = TokenTrie::new();
            for atoms in &self.alternatives {
                for tokens in alternative_languages(atoms.clone()) {
                    trie.insert(&tokens);
                }
            }
            trie.into_nfa()
        })
    }

    /// Whether the pattern holds no wildcard, class or brace group (escapes resolved): a plain
    /// path.
    #[must_use]
    pub fn is_literal(&self) -> bool {
        self.alternatives.len() == 1 && self.alternatives.iter().flatten().all(|a| matches!(a, Atom::Lit(_)))
    }

    /// The literal leading path components before the first component containing a wildcard
    /// (e.g. `src/api/**/*.rs` -> `["src", "api"]`; `**/x` -> `[]`; `a/b.rs` -> `["a", "b.rs"]`).
    ///
    /// Brace groups and classes count as wildcards, escapes are resolved (`a\*` -> `a*`), and
    /// empty components (from `//` or a leading `/`) are skipped.
    #[must_use]
    pub fn literal_prefix(&self) -> &[String] {
        &self.prefix
    }
}

impl Pattern {
    /// Whether `path` (relative, `/`-separated) is matched: the NFA run over its characters.
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        let nfa = self.nfa();
        let mut current = closure(nfa, vec![0]);
        for c in path.chars() {
            let code = u32::from(c);
            let mut next = Vec::new();
            for &state in &current {
                for &(set, target) in nfa.steps_of(state) {
                    if nfa.set(set).is_some_and(|cs| cs.contains(code)) {
                        next.push(target);
                    }
                }
            }
            current = closure(nfa, next);
            if current.is_empty() {
                return false;
            }
        }
        current.iter().any(|&s| nfa.accepts(s))
    }
}

/// The states reachable from `states` by epsilon moves, each once.
fn closure(nfa: &Nfa, mut stack: Vec<usize>) -> Vec<usize> {
    let mut seen: HashSet<usize> = stack.iter().copied().collect();
    let mut out = Vec::new();
    while let Some(s) = stack.pop() {
        out.push(s);
        for &t in nfa.eps_of(s) {
            if seen.insert(t) {
                stack.push(t);
            }
        }
    }
    out
}

/// True if some path is matched by both patterns.
#[must_use]
pub fn overlaps(a: &Pattern, b: &Pattern) -> bool {
    let (na, nb) = (a.nfa(), b.nfa());
    let mut set_cache: HashMap<(usize, usize), bool> = HashMap::new();
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut stack = vec![(0_usize, 0_usize)];
    seen.insert((0, 0));
    while let Some((p, q)) = stack.pop() {
        if na.accepts(p) && nb.accepts(q) {
            return true;
        }
        let mut push = |state: (usize, usize)| {
            if seen.insert(state) {
                stack.push(state);
            }
        };
        for &p2 in na.eps_of(p) {
            push((p2, q));
        }
        for &q2 in nb.eps_of(q) {
            push((p, q2));
        }
        for &(s, p2) in na.steps_of(p) {
            for &(t, q2) in nb.steps_of(q) {
                let joint = *set_cache.entry((s, t)).or_insert_with(|| match (na.set(s), nb.set(t)) {
                    (Some(x), Some(y)) => x.intersects(y),
                    _ => false,
                });
                if joint {
                    push((p2, q2));
                }
            }
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Character sets
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests;
