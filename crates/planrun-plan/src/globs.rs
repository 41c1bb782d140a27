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

/// A set of Unicode scalar values as sorted, disjoint, non-adjacent inclusive ranges that
/// never include surrogates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CharSet {
    ranges: Vec<(u32, u32)>,
}

impl CharSet {
    fn contains(&self, c: u32) -> bool {
        self.ranges
            .binary_search_by(|&(lo, hi)| {
                if hi < c {
                    std::cmp::Ordering::Less
                } else if lo > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    }

    fn from_ranges(mut raw: Vec<(u32, u32)>) -> CharSet {
        raw.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(raw.len());
        for (lo, hi) in raw {
            let (lo, hi) = (lo.min(hi), hi.max(lo).min(MAX_CHAR));
            if lo > MAX_CHAR {
                continue;
            }
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        let mut ranges = Vec::with_capacity(merged.len() + 1);
        for (lo, hi) in merged {
            if lo < SURROGATES.0 {
                ranges.push((lo, hi.min(SURROGATES.0 - 1)));
            }
            if hi > SURROGATES.1 {
                ranges.push((lo.max(SURROGATES.1 + 1), hi));
            }
        }
        CharSet { ranges }
    }

    fn single(c: char) -> CharSet {
        CharSet { ranges: vec![(u32::from(c), u32::from(c))] }
    }

    fn all() -> CharSet {
        CharSet::from_ranges(vec![(0, MAX_CHAR)])
    }

    fn not_slash() -> CharSet {
        CharSet::all().without(SLASH)
    }

    fn complement(&self) -> CharSet {
        let mut raw = Vec::with_capacity(self.ranges.len() + 1);
        let mut next = 0_u32;
        for &(lo, hi) in &self.ranges {
            if lo > next {
                raw.push((next, lo - 1));
            }
            next = hi.saturating_add(1);
        }
        if next <= MAX_CHAR {
            raw.push((next, MAX_CHAR));
        }
        CharSet::from_ranges(raw)
    }

    fn without(&self, c: u32) -> CharSet {
        let mut ranges = Vec::with_capacity(self.ranges.len() + 1);
        for &(lo, hi) in &self.ranges {
            if c < lo || c > hi {
                ranges.push((lo, hi));
                continue;
            }
            if lo < c {
                ranges.push((lo, c - 1));
            }
            if c < hi {
                ranges.push((c + 1, hi));
            }
        }
        CharSet { ranges }
    }

    fn intersects(&self, other: &CharSet) -> bool {
        let mut xs = self.ranges.iter().peekable();
        let mut ys = other.ranges.iter().peekable();
        while let (Some(&&(a_lo, a_hi)), Some(&&(b_lo, b_hi))) = (xs.peek(), ys.peek()) {
            if a_hi < b_lo {
                xs.next();
            } else if b_hi < a_lo {
                ys.next();
            } else {
                return true;
            }
        }
        false
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing and brace expansion
// ---------------------------------------------------------------------------------------------

/// One glob element before brace expansion. A separator is `Lit('/')`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Atom {
    Lit(char),
    Star,
    Any,
    Class(CharSet),
}

#[derive(Debug, Clone)]
enum Node {
    Atom(Atom),
    Alt(Vec<Vec<Node>>),
}

/// Why a brace-level sequence stopped.
enum End {
    Comma,
    Close,
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl<'a> Parser<'a> {
    fn new(glob: &'a str) -> Parser<'a> {
        Parser { chars: glob.chars().peekable() }
    }

    fn parse_top(&mut self) -> Result<Vec<Node>, String> {
        let mut nodes = Vec::new();
        while let Some(c) = self.chars.next() {
            match c {
                ',' => nodes.push(Node::Atom(Atom::Lit(','))),
                '}' => return Err("unmatched `}` in glob".to_owned()),
                c => nodes.push(self.parse_item(c, 0)?),
            }
        }
        Ok(nodes)
    }

    /// Parses the inside of a brace group up to the next top-level `,` or `}` of that group.
    fn parse_branch(&mut self, depth: usize) -> Result<(Vec<Node>, End), String> {
        let mut nodes = Vec::new();
        loop {
            match self.chars.next() {
                None => return Err("unclosed `{` in glob".to_owned()),
                Some(',') => return Ok((nodes, End::Comma)),
                Some('}') => return Ok((nodes, End::Close)),
                Some(c) => nodes.push(self.parse_item(c, depth)?),
            }
        }
    }

    /// Parses the item starting with `c` (which is neither `,` nor `}`).
    fn parse_item(&mut self, c: char, depth: usize) -> Result<Node, String> {
        let atom = match c {
            '*' => Atom::Star,
            '?' => Atom::Any,
            '[' => Atom::Class(self.parse_class()?),
            '\\' => match self.chars.next() {
                Some(escaped) => Atom::Lit(escaped),
                None => return Err("dangling `\\` at the end of glob".to_owned()),
            },
            '{' => {
                if depth >= MAX_BRACE_DEPTH {
                    return Err(format!("braces nested deeper than {MAX_BRACE_DEPTH} levels"));
                }
                let mut branches = Vec::new();
                loop {
                    let (branch, end) = self.parse_branch(depth + 1)?;
                    branches.push(branch);
                    if let End::Close = end {
                        break;
                    }
                }
                return Ok(Node::Alt(branches));
            }
            c => Atom::Lit(c),
        };
        Ok(Node::Atom(atom))
    }

    /// Parses a class after its `[`, following globset's rules; the result never holds `/`.
    fn parse_class(&mut self) -> Result<CharSet, String> {
        let negated = matches!(self.chars.peek(), Some('!' | '^'));
        if negated {
            self.chars.next();
        }
        let mut ranges: Vec<(char, char)> = Vec::new();
        let mut first = true;
        let mut in_range = false;
        loop {
            let Some(c) = self.chars.next() else {
                return Err("unclosed `[` in glob".to_owned());
            };
            if c == ']' && !first {
                break;
            }
            if c == '-' && !first && !in_range {
                in_range = true;
            } else if in_range {
                if let Some(last) = ranges.last_mut() {
                    if c < last.0 {
                        return Err(format!("invalid class range `{}-{c}`", last.0));
                    }
                    last.1 = c;
                }
                in_range = false;
            } else {
                ranges.push((c, c));
            }
            first = false;
        }
        if in_range {
            ranges.push(('-', '-'));
        }
        let set = CharSet::from_ranges(ranges.into_iter().map(|(lo, hi)| (u32::from(lo), u32::from(hi))).collect());
        let set = if negated { set.complement() } else { set };
        Ok(set.without(SLASH))
    }
}

/// Leading literal components of the unexpanded pattern (see [`Pattern::literal_prefix`]).
fn literal_prefix_of(nodes: &[Node]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for node in nodes {
        match node {
            Node::Atom(Atom::Lit('/')) => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            Node::Atom(Atom::Lit(c)) => current.push(*c),
            _ => return out,
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Expands every brace group, returning the distinct alternatives (at most
/// [`MAX_ALTERNATIVES`]).
fn expand(nodes: &[Node], depth: usize) -> Result<Vec<Vec<Atom>>, String> {
    let too_many = || format!("glob expands to more than {MAX_ALTERNATIVES} alternatives");
    if depth > MAX_BRACE_DEPTH {
        return Err(format!("braces nested deeper than {MAX_BRACE_DEPTH} levels"));
    }
    let mut acc: Vec<Vec<Atom>> = vec![Vec::new()];
    for node in nodes {
        match node {
            Node::Atom(atom) => acc.iter_mut().for_each(|alt| alt.push(atom.clone())),
            Node::Alt(branches) => {
                let mut options: Vec<Vec<Atom>> = Vec::new();
                let mut unique: HashSet<Vec<Atom>> = HashSet::new();
                for branch in branches {
                    for option in expand(branch, depth + 1)? {
                        if unique.insert(option.clone()) {
                            options.push(option);
                        }
                    }
                    if options.len() > MAX_ALTERNATIVES {
                        return Err(too_many());
                    }
                }
                if acc.len().saturating_mul(options.len()) > MAX_ALTERNATIVES {
                    return Err(too_many());
                }
                let mut next = Vec::with_capacity(acc.len() * options.len());
                let mut seen: HashSet<Vec<Atom>> = HashSet::new();
                for prefix in &acc {
                    for option in &options {
                        let mut alt = prefix.clone();
                        alt.extend(option.iter().cloned());
                        if seen.insert(alt.clone()) {
                            next.push(alt);
                        }
                    }
                }
                acc = next;
            }
        }
    }
    Ok(acc)
}

// ---------------------------------------------------------------------------------------------
// Tokens and the NFA
// ---------------------------------------------------------------------------------------------

/// One element of an expanded alternative, with `**` resolved by its position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Token {
    /// Exactly this character (`/` for a separator).
    Lit(char),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any run of characters other than `/`.
    Star,
    /// A class (already without `/`).
    Class(CharSet),
    /// A final `**` component: any run of characters, `/` included.
    GlobStar,
    /// A `**/` component: empty, or any run of characters that ends in `/`.
    GlobDirs,
}

/// The token sequences one expanded alternative stands for: itself, plus `P/**` when it is a
/// literal path `P` (the literal-as-directory rule).
fn alternative_languages(mut atoms: Vec<Atom>) -> Vec<Vec<Token>> {
    if atoms.last() == Some(&Atom::Lit('/')) {
        // `dir/` means the whole directory: `dir/**`.
        atoms.extend([Atom::Star, Atom::Star]);
    }
    let literal = !atoms.is_empty() && atoms.iter().all(|atom| matches!(atom, Atom::Lit(_)));
    let mut out = vec![tokenize(&atoms)];
    if literal {
        atoms.extend([Atom::Lit('/'), Atom::Star, Atom::Star]);
        out.push(tokenize(&atoms));
    }
    out
}

fn tokenize(atoms: &[Atom]) -> Vec<Token> {
    let components: Vec<&[Atom]> = atoms.split(|atom| *atom == Atom::Lit('/')).collect();
    let count = components.len();
    let mut out = Vec::with_capacity(atoms.len());
    for (index, component) in components.into_iter().enumerate() {
        let is_last = index + 1 == count;
        if component == [Atom::Star, Atom::Star] {
            // A `**/` component also consumes its following separator.
            out.push(if is_last { Token::GlobStar } else { Token::GlobDirs });
            continue;
        }
        for atom in component {
            let token = match atom {
                Atom::Lit(c) => Token::Lit(*c),
                Atom::Any => Token::AnyChar,
                Atom::Class(set) => Token::Class(set.clone()),
                Atom::Star if out.last() == Some(&Token::Star) => continue,
                Atom::Star => Token::Star,
            };
            out.push(token);
        }
        if !is_last {
            out.push(Token::Lit('/'));
        }
    }
    out
}

/// An epsilon-NFA over Unicode scalar values; state 0 is the start state.
#[derive(Debug, Clone, Default)]
struct Nfa {
    sets: Vec<CharSet>,
    eps: Vec<Vec<usize>>,
    /// `(set index, target)` transitions.
    steps: Vec<Vec<(usize, usize)>>,
    accept: Vec<bool>,
}

impl Nfa {
    fn accepts(&self, state: usize) -> bool {
        self.accept.get(state).copied().unwrap_or(false)
    }

    fn eps_of(&self, state: usize) -> &[usize] {
        self.eps.get(state).map_or(&[], Vec::as_slice)
    }

    fn steps_of(&self, state: usize) -> &[(usize, usize)] {
        self.steps.get(state).map_or(&[], Vec::as_slice)
    }

    fn set(&self, id: usize) -> Option<&CharSet> {
        self.sets.get(id)
    }
}

/// Collects token sequences as a prefix trie, then merges identical subtrees before compiling
/// to an NFA. Merging keeps expansions such as `{*a,*b}{*a,*b}...` linear in the pattern's
/// length (every choice in one group shares the same continuation), which keeps the product
/// search small even at the 1024-alternative cap.
struct TokenTrie {
    children: Vec<Vec<(Token, usize)>>,
    accept: Vec<bool>,
    index: HashMap<(usize, Token), usize>,
}

/// A merged trie node: whether it accepts, and its sorted `(token, child class)` edges.
type Signature = (bool, Vec<(Token, usize)>);

impl TokenTrie {
    fn new() -> TokenTrie {
        let mut trie = TokenTrie { children: Vec::new(), accept: Vec::new(), index: HashMap::new() };
        trie.add_node();
        trie
    }

    fn add_node(&mut self) -> usize {
        let id = self.accept.len();
        self.children.push(Vec::new());
        self.accept.push(false);
        id
    }

    fn insert(&mut self, tokens: &[Token]) {
        let mut node = 0;
        for token in tokens {
            let key = (node, token.clone());
            node = if let Some(&child) = self.index.get(&key) {
                child
            } else {
                let child = self.add_node();
                if let Some(edges) = self.children.get_mut(node) {
                    edges.push((token.clone(), child));
                }
                self.index.insert(key, child);
                child
            };
        }
        if let Some(accept) = self.accept.get_mut(node) {
            *accept = true;
        }
    }

    fn into_nfa(self) -> Nfa {
        // A child is always created after its parent, so sweeping ids downwards classifies
        // every child before the nodes that point at it.
        let count = self.accept.len();
        let mut class_of = vec![0_usize; count];
        let mut class_ids: HashMap<Signature, usize> = HashMap::new();
        let mut classes: Vec<Signature> = Vec::new();
        for node in (0..count).rev() {
            let mut edges: Vec<(Token, usize)> = self
                .children
                .get(node)
                .map(|list| {
                    list.iter()
                        .map(|(token, child)| (token.clone(), class_of.get(*child).copied().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default();
            edges.sort();
            edges.dedup();
            let signature = (self.accept.get(node).copied().unwrap_or(false), edges);
            let class = if let Some(&class) = class_ids.get(&signature) {
                class
            } else {
                let class = classes.len();
                classes.push(signature.clone());
                class_ids.insert(signature, class);
                class
            };
            if let Some(slot) = class_of.get_mut(node) {
                *slot = class;
            }
        }
        // One NFA state per class, numbered so that the root's class is the start state 0.
        let root = class_of.first().copied().unwrap_or(0);
        let state = |class: usize| match class {
            c if c == root => 0,
            0 => root,
            c => c,
        };
        let mut builder = NfaBuilder::new(classes.len());
        for (class, (accept, edges)) in classes.iter().enumerate() {
            let from = state(class);
            if *accept {
                builder.set_accept(from);
            }
            for (token, child) in edges {
                builder.add_token(from, token, state(*child));
            }
        }
        builder.finish()
    }
}

/// Compiles tokens into an [`Nfa`], interning character sets.
struct NfaBuilder {
    nfa: Nfa,
    set_ids: HashMap<CharSet, usize>,
}

impl NfaBuilder {
    /// A builder with `states` initial states (at least one, the start state 0).
    fn new(states: usize) -> NfaBuilder {
        let mut builder = NfaBuilder { nfa: Nfa::default(), set_ids: HashMap::new() };
        for _ in 0..states.max(1) {
            builder.add_state();
        }
        builder
    }

    fn finish(self) -> Nfa {
        self.nfa
    }

    fn add_state(&mut self) -> usize {
        let id = self.nfa.accept.len();
        self.nfa.eps.push(Vec::new());
        self.nfa.steps.push(Vec::new());
        self.nfa.accept.push(false);
        id
    }

    fn set_accept(&mut self, state: usize) {
        if let Some(accept) = self.nfa.accept.get_mut(state) {
            *accept = true;
        }
    }

    fn add_eps(&mut self, from: usize, to: usize) {
        if let Some(edges) = self.nfa.eps.get_mut(from) {
            edges.push(to);
        }
    }

    fn add_step(&mut self, from: usize, set: CharSet, to: usize) {
        let id = if let Some(&id) = self.set_ids.get(&set) {
            id
        } else {
            let id = self.nfa.sets.len();
            self.nfa.sets.push(set.clone());
            self.set_ids.insert(set, id);
            id
        };
        if let Some(edges) = self.nfa.steps.get_mut(from) {
            edges.push((id, to));
        }
    }

    /// Adds the states and edges that recognise `token` between `from` and `to`. Looping
    /// tokens get a private middle state so sibling edges are not affected.
    fn add_token(&mut self, from: usize, token: &Token, to: usize) {
        match token {
            Token::Lit(c) => self.add_step(from, CharSet::single(*c), to),
            Token::AnyChar => self.add_step(from, CharSet::not_slash(), to),
            Token::Class(set) => self.add_step(from, set.clone(), to),
            Token::Star | Token::GlobStar => {
                let set = if *token == Token::Star { CharSet::not_slash() } else { CharSet::all() };
                let middle = self.add_state();
                self.add_eps(from, middle);
                self.add_step(middle, set, middle);
                self.add_eps(middle, to);
            }
            Token::GlobDirs => {
                let middle = self.add_state();
                self.add_eps(from, to);
                self.add_eps(from, middle);
                self.add_step(middle, CharSet::all(), middle);
                self.add_step(middle, CharSet::single('/'), to);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pat(glob: &str) -> Pattern {
        Pattern::parse(glob).unwrap_or_else(|e| panic!("{glob:?} failed to parse: {e}"))
    }

    fn ov(a: &str, b: &str) -> bool {
        let (pa, pb) = (pat(a), pat(b));
        let forward = overlaps(&pa, &pb);
        assert_eq!(forward, overlaps(&pb, &pa), "overlaps not symmetric for {a:?} / {b:?}");
        forward
    }

    /// Hand-checked pairs: (a, b, overlap?, witness or reason).
    const TABLE: &[(&str, &str, bool, &str)] = &[
        ("src/a/**", "src/**/*.rs", true, "src/a/x.rs"),
        ("src/*.rs", "src/*.md", false, "extensions differ"),
        ("src/*.rs", "src/lib.rs", true, "src/lib.rs"),
        ("src/*", "src/a/b.rs", false, "* stops at /"),
        ("src/**", "src", true, "literal src means the directory"),
        ("docs/", "docs/x.md", true, "trailing slash is docs/**"),
        ("[a-c].txt", "d.txt", false, "d not in a-c"),
        ("{a,b}/x", "b/*", true, "b/x"),
        ("**", "x", true, "x"),
        ("**", "deep/nested/file.rs", true, "everything"),
        ("a?c", "abc", true, "abc"),
        ("a?c", "a/c", false, "? never matches /"),
        ("src/api", "src/api/handlers.rs", true, "literal as directory"),
        ("src/api", "src/apix.rs", false, "different names"),
        ("src/api", "src/api", true, "same literal"),
        ("src/lib.rs", "src/main.rs", false, "different files"),
        ("**/*.rs", "src/main.rs", true, "src/main.rs"),
        ("**/*.rs", "docs/*.md", false, "extensions differ"),
        ("a/**/b", "a/b", true, "** matches zero dirs"),
        ("a/**/b", "a/x/y/b", true, "a/x/y/b"),
        ("a/**/b", "a/[b]", true, "a/b: ** matches zero dirs (no literal rule here)"),
        ("**/*.rs", "[m]ain.rs", true, "main.rs: leading ** matches zero dirs"),
        ("a/**", "[a]", false, "a/** is strictly below a, as in globset"),
        ("a/**", "[a]/", true, "a/x"),
        ("a/**/b", "a/x*", false, "two vs at least three components"),
        ("a/**", "a", true, "literal a is a directory"),
        ("a/**", "a*", false, "a* has no /"),
        ("a/*", "a/**", true, "a/x"),
        ("*.md", "docs/readme.md", false, "* stops at /"),
        ("*.md", "README.md", true, "README.md"),
        ("[!a-z].txt", "a.txt", false, "a is excluded"),
        ("[!a-z].txt", "[^0-9].txt", true, "A.txt"),
        ("[!a-z]", "[a-z]", false, "complements"),
        ("[/]", "**", false, "a class never matches /"),
        ("?", "/", false, "/ is /** and needs a /"),
        ("{a,b,c}.rs", "d.rs", false, "d not offered"),
        ("{a,{b,c}}.rs", "c.rs", true, "nested braces"),
        ("src/{*.rs,*.toml}", "src/Cargo.toml", true, "second alternative"),
        ("a\\*b", "a*b", true, "a*b"),
        ("a\\*b", "axb", false, "escaped star is literal"),
        ("a\\*b", "a?b", true, "? matches *"),
        ("src/**", "tests/**", false, "different roots"),
        ("**/mod.rs", "src/a/mod.rs", true, "src/a/mod.rs"),
        ("**/mod.rs", "mod.rs", true, "** matches zero dirs"),
        ("src/**/test_*.rs", "src/test_a.rs", true, "src/test_a.rs"),
        ("src/**/test_*.rs", "tests/test_a.rs", false, "different roots"),
        ("*_test.go", "*.rs", false, "extensions differ"),
        ("*a*", "*b*", true, "ab"),
        ("??", "???", false, "lengths differ"),
        ("*", "**", true, "x"),
        ("*", "a/b", false, "* stops at /"),
        ("a/b/", "a/b/c/d", true, "a/b/c/d"),
        ("a/b/", "a/bc", false, "a/b/ needs the b directory"),
        ("a/**", "a/", true, "both are a/**"),
        ("docs/**/*.md", "docs/api/*.md", true, "docs/api/x.md"),
        ("a/**/b/**/c", "a/b/c", true, "both ** empty"),
        ("a/**/b/**/c", "a/*.rs", false, "two vs at least four components"),
        ("[a-c].txt", "[c-e].txt", true, "c.txt"),
        ("[a-c].txt", "[d-f].txt", false, "disjoint classes"),
        ("{src,tests}/**/*.rs", "benches/x.rs", false, "benches not offered"),
        ("a*/b", "ab/*", true, "ab/b"),
        ("a*/b", "c*/b", false, "first letters differ"),
        ("[!a]", "é", true, "non-ASCII"),
        ("?", "日", true, "? matches any non-/ char"),
        ("a**", "a/b", false, "a** is a*"),
        ("a**", "abc", true, "abc"),
        ("**/", "x/y", true, "**/ is **/**"),
        ("{}", "", true, "empty alternation matches the empty path"),
        ("{a,}b", "b", true, "empty alternative"),
        ("src/{}", "src", true, "src{} is the literal src"),
        ("[]]", "]", true, "] first in a class is literal"),
        ("[a-]", "-", true, "- last in a class is literal"),
        ("[\\]x", "\\\\x", true, "backslash is literal inside a class"),
        ("[\\]x", "x", false, "the class needs one character"),
        ("a,b", "a,*", true, "comma outside braces is literal"),
        ("Cargo.toml", "*.toml", true, "Cargo.toml"),
        ("Cargo.toml", "Cargo.lock", false, "different files"),
        ("crates/*/src/**", "crates/planrun-plan/src/globs.rs", true, "nested crate"),
        ("crates/*/src/**", "crates/a/b/src/x.rs", false, "* is one component"),
    ];

    #[test]
    fn table_of_hand_checked_pairs() {
        assert!(TABLE.len() >= 40);
        for &(a, b, want, why) in TABLE {
            assert_eq!(ov(a, b), want, "{a:?} vs {b:?} ({why})");
        }
    }

    #[test]
    fn literal_prefixes() {
        let cases: &[(&str, &[&str])] = &[
            ("src/api/**/*.rs", &["src", "api"]),
            ("**/x", &[]),
            ("a/b.rs", &["a", "b.rs"]),
            ("src/", &["src"]),
            ("src/{a,b}/x", &["src"]),
            ("{a,b}/x", &[]),
            ("src/[ab]/x", &["src"]),
            ("a\\*b/c*", &["a*b"]),
            ("a//b/*.rs", &["a", "b"]),
            ("src/lib*.rs", &["src"]),
            ("", &[]),
        ];
        for &(glob, want) in cases {
            assert_eq!(pat(glob).literal_prefix(), want, "{glob:?}");
        }
    }

    #[test]
    fn malformed_globs_are_errors() {
        for glob in ["[abc", "src/[", "{a,b", "{a,{b,c}", "a\\", "a}", "x{a}}", "[z-a]", "[!"] {
            assert!(Pattern::parse(glob).is_err(), "{glob:?} should be rejected");
        }
        for glob in ["", "{}", "{,}", "[]]", "[!]]", "\\\\", "a,b", "{a,b}{c,d}"] {
            assert!(Pattern::parse(glob).is_ok(), "{glob:?} should parse");
        }
    }

    #[test]
    fn brace_expansion_is_capped() {
        let ten = "{a,b}".repeat(10);
        assert!(Pattern::parse(&ten).is_ok(), "1024 alternatives are allowed");
        let eleven = "{a,b}".repeat(11);
        assert!(Pattern::parse(&eleven).is_err(), "2048 alternatives are not");
        // Duplicates collapse before counting.
        assert!(Pattern::parse(&"{a,a}".repeat(40)).is_ok());
        let deep = format!("{}x{}", "{".repeat(100), "}".repeat(100));
        assert!(Pattern::parse(&deep).is_err(), "nesting depth is capped");
    }

    #[test]
    fn large_patterns_stay_fast() {
        let start = std::time::Instant::now();
        let wide_a = format!("{}/**/*.rs", "{a,b}".repeat(10));
        let wide_b = format!("{}/*x*/**", "{a,c}".repeat(10));
        assert!(ov(&wide_a, &wide_b));
        let wide_c = format!("{}/**", "{c,d}".repeat(10));
        assert!(!ov(&wide_a, &wide_c));
        let stars_a = "*a".repeat(120);
        let stars_b = format!("{}c", "*a".repeat(120));
        assert!(!ov(&stars_a, &stars_b));
        let braces_a = "{*a,*b}".repeat(10);
        let braces_b = format!("{}c", "{*a,*b}".repeat(10));
        assert!(!ov(&braces_a, &braces_b));
        assert!(ov(&braces_a, &format!("{}a", "{*a,*b}".repeat(9))));
        let deep_a = "**/x".repeat(60);
        let deep_b = format!("{}/y", "*/".repeat(100));
        assert!(!ov(&deep_a, &deep_b));
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    // ----- oracle: a direct backtracking matcher over the tiny alphabet {a, b, /, *, ?} -----

    /// Does one component pattern (no `/`) match one path component?
    fn component_match(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).any(|k| component_match(&p[1..], &s[k..])),
            Some('?') => !s.is_empty() && component_match(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && component_match(&p[1..], &s[1..]),
        }
    }

    fn components_match(p: &[&str], x: &[&str]) -> bool {
        match p.split_first() {
            None => x.is_empty(),
            // A final (or lone) `**` takes one or more whole components.
            Some((&"**", [])) => !x.is_empty(),
            // Any other `**` takes zero or more whole components.
            Some((&"**", rest)) => (0..=x.len()).any(|k| components_match(rest, &x[k..])),
            Some((c, rest)) => match x.split_first() {
                Some((xc, xr)) => {
                    let pc: Vec<char> = c.chars().collect();
                    let sc: Vec<char> = xc.chars().collect();
                    component_match(&pc, &sc) && components_match(rest, xr)
                }
                None => false,
            },
        }
    }

    /// The dialect's meaning of `pattern` (tiny alphabet, no braces/classes/escapes),
    /// including the trailing-slash and literal-as-directory rules.
    fn oracle(pattern: &str, path: &str) -> bool {
        let mut p = pattern.to_owned();
        if p.ends_with('/') {
            p.push_str("**");
        }
        if !p.is_empty() && !p.contains(['*', '?']) {
            return path == p || path.starts_with(&format!("{p}/"));
        }
        let pcs: Vec<&str> = p.split('/').collect();
        let xs: Vec<&str> = path.split('/').collect();
        components_match(&pcs, &xs)
    }

    /// Characters a shortest common witness needs from this pattern: every literal, `/`
    /// and `?` consumes one, plus the `/` the literal-as-directory rule adds.
    fn required(pattern: &str) -> usize {
        let fixed = pattern.chars().filter(|c| *c != '*').count();
        let literal = !pattern.is_empty() && !pattern.contains(['*', '?']) && !pattern.ends_with('/');
        fixed + usize::from(literal)
    }

    /// All strings over {a, b, /} of length at most `max`.
    fn words(max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..max {
            let mut next = Vec::new();
            for w in &frontier {
                for c in ['a', 'b', '/'] {
                    next.push(format!("{w}{c}"));
                }
            }
            all.extend(next.iter().cloned());
            frontier = next;
        }
        all
    }

    fn tiny_pattern(max_tokens: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "/", "*", "?", "**"]), 0..=max_tokens)
            .prop_map(|parts| parts.concat())
    }

    fn tiny_path() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "/"]), 0..=8).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn matching_agrees_with_the_oracle(p in tiny_pattern(6), x in tiny_path()) {
            let parsed = Pattern::parse(&p).unwrap();
            prop_assert_eq!(parsed.matches(&x), oracle(&p, &x), "pattern {:?} path {:?}", p, x);
        }
    }

    #[test]
    fn matching_real_paths() {
        let m = |p: &str, x: &str| Pattern::parse(p).unwrap().matches(x);
        assert!(m("src/**/*.rs", "src/a/b/c.rs") && m("src/**/*.rs", "src/c.rs") && !m("src/**/*.rs", "src/c.py"));
        assert!(m("src/api", "src/api/mod.rs") && m("src/api", "src/api") && !m("src/api", "src/apiary"));
        assert!(m("{docs,README}.md", "docs.md") && m("docs/", "docs/x/y") && !m("*.md", "a/b.md"));
        assert!(m("[a-c]x.txt", "bx.txt") && !m("[a-c]x.txt", "dx.txt") && m("é?.txt", "éa.txt"));
    }

    #[test]
    fn oracle_sanity() {
        assert!(oracle("a/**", "a/b") && oracle("a/**", "a/") && !oracle("a/**", "a"));
        assert!(oracle("**/a", "a") && oracle("a/**/b", "a/b") && oracle("**", ""));
        assert!(oracle("ab", "ab/a") && !oracle("ab", "aba") && oracle("a/", "a/b"));
        assert!(!oracle("*", "a/b") && oracle("a**", "abb") && !oracle("a**", "a/b"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Soundness: a path matched by both patterns means they overlap. Besides the random
        /// path, every path over {a, b, /} of up to five characters is tried as a witness.
        #[test]
        fn common_match_implies_overlap(a in tiny_pattern(6), b in tiny_pattern(6), path in tiny_path()) {
            let witness = std::iter::once(path)
                .chain(words(5))
                .find(|candidate| oracle(&a, candidate) && oracle(&b, candidate));
            if let Some(witness) = witness {
                prop_assert!(overlaps(&pat(&a), &pat(&b)), "{a:?} and {b:?} both match {witness:?}");
            }
        }

        /// A literal path against a glob: overlap iff the glob matches the path or something
        /// under it (checked exhaustively up to the shortest-witness bound).
        #[test]
        fn literal_versus_glob_is_exact(lit in tiny_path(), g in tiny_pattern(6)) {
            let mut expected = false;
            for suffix in words(required(&g) + 1) {
                let path = format!("{lit}{suffix}");
                if oracle(&lit, &path) && oracle(&g, &path) {
                    expected = true;
                    break;
                }
            }
            prop_assert_eq!(overlaps(&pat(&lit), &pat(&g)), expected, "{:?} vs {:?}", lit, g);
        }

        /// Completeness for small globs: an overlap always has a witness no longer than the
        /// characters both patterns require, so brute force over {a,b,/} decides it.
        #[test]
        fn small_globs_are_exact(a in tiny_pattern(3), b in tiny_pattern(3)) {
            let bound = required(&a) + required(&b);
            let expected = words(bound).iter().any(|path| oracle(&a, path) && oracle(&b, path));
            prop_assert_eq!(overlaps(&pat(&a), &pat(&b)), expected, "{:?} vs {:?}", a, b);
        }

        /// Braces are plain unions.
        #[test]
        fn braces_are_unions(a in tiny_pattern(4), b in tiny_pattern(4), c in tiny_pattern(4), pre in tiny_pattern(2)) {
            let joined = pat(&format!("{pre}{{{a},{b}}}"));
            let split = overlaps(&pat(&format!("{pre}{a}")), &pat(&c))
                || overlaps(&pat(&format!("{pre}{b}")), &pat(&c));
            prop_assert_eq!(overlaps(&joined, &pat(&c)), split);
        }

        #[test]
        fn parse_and_overlaps_never_panic(a in any::<String>(), b in "[\\[\\]{},*?!^\\\\/a-c-]{0,40}") {
            let pa = Pattern::parse(&a);
            let pb = Pattern::parse(&b);
            if let (Ok(pa), Ok(pb)) = (&pa, &pb) {
                prop_assert_eq!(overlaps(pa, pb), overlaps(pb, pa));
                let _ = overlaps(pa, pa);
                let _ = pa.literal_prefix();
            }
            if let Ok(pb) = &pb {
                let _ = overlaps(pb, pb);
            }
        }
    }
}
