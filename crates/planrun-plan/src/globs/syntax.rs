//! Parsing the glob dialect: character classes, brace alternatives expanded into plain
//! alternatives, and the token sequence each alternative becomes.

use super::*;

/// A set of Unicode scalar values as sorted, disjoint, non-adjacent inclusive ranges that
/// never include surrogates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct CharSet {
    pub(super) ranges: Vec<(u32, u32)>,
}

impl CharSet {
    pub(super) fn contains(&self, c: u32) -> bool {
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

    pub(super) fn from_ranges(mut raw: Vec<(u32, u32)>) -> CharSet {
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

    pub(super) fn single(c: char) -> CharSet {
        CharSet { ranges: vec![(u32::from(c), u32::from(c))] }
    }

    pub(super) fn all() -> CharSet {
        CharSet::from_ranges(vec![(0, MAX_CHAR)])
    }

    pub(super) fn not_slash() -> CharSet {
        CharSet::all().without(SLASH)
    }

    pub(super) fn complement(&self) -> CharSet {
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

    pub(super) fn without(&self, c: u32) -> CharSet {
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

    pub(super) fn intersects(&self, other: &CharSet) -> bool {
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
pub(super) enum Atom {
    Lit(char),
    Star,
    Any,
    Class(CharSet),
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Atom(Atom),
    Alt(Vec<Vec<Node>>),
}

/// Why a brace-level sequence stopped.
pub(super) enum End {
    Comma,
    Close,
}

pub(super) struct Parser<'a> {
    pub(super) chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(glob: &'a str) -> Parser<'a> {
        Parser { chars: glob.chars().peekable() }
    }

    pub(super) fn parse_top(&mut self) -> Result<Vec<Node>, String> {
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
    pub(super) fn parse_branch(&mut self, depth: usize) -> Result<(Vec<Node>, End), String> {
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
    pub(super) fn parse_item(&mut self, c: char, depth: usize) -> Result<Node, String> {
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
    pub(super) fn parse_class(&mut self) -> Result<CharSet, String> {
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
pub(super) fn literal_prefix_of(nodes: &[Node]) -> Vec<String> {
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
pub(super) fn expand(nodes: &[Node], depth: usize) -> Result<Vec<Vec<Atom>>, String> {
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
pub(super) enum Token {
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
pub(super) fn alternative_languages(mut atoms: Vec<Atom>) -> Vec<Vec<Token>> {
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

pub(super) fn tokenize(atoms: &[Atom]) -> Vec<Token> {
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
