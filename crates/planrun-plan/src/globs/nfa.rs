//! The automata overlap runs on: an NFA per pattern built from its tokens, with a token trie
//! that shares common prefixes.

use super::*;

/// An epsilon-NFA over Unicode scalar values; state 0 is the start state.
#[derive(Debug, Clone, Default)]
pub(super) struct Nfa {
    pub(super) sets: Vec<CharSet>,
    pub(super) eps: Vec<Vec<usize>>,
    /// `(set index, target)` transitions.
    pub(super) steps: Vec<Vec<(usize, usize)>>,
    pub(super) accept: Vec<bool>,
}

impl Nfa {
    pub(super) fn accepts(&self, state: usize) -> bool {
        self.accept.get(state).copied().unwrap_or(false)
    }

    pub(super) fn eps_of(&self, state: usize) -> &[usize] {
        self.eps.get(state).map_or(&[], Vec::as_slice)
    }

    pub(super) fn steps_of(&self, state: usize) -> &[(usize, usize)] {
        self.steps.get(state).map_or(&[], Vec::as_slice)
    }

    pub(super) fn set(&self, id: usize) -> Option<&CharSet> {
        self.sets.get(id)
    }
}

/// Collects token sequences as a prefix trie, then merges identical subtrees before compiling
/// to an NFA. Merging keeps expansions such as `{*a,*b}{*a,*b}...` linear in the pattern's
/// length (every choice in one group shares the same continuation), which keeps the product
/// search small even at the 1024-alternative cap.
pub(super) struct TokenTrie {
    pub(super) children: Vec<Vec<(Token, usize)>>,
    pub(super) accept: Vec<bool>,
    pub(super) index: HashMap<(usize, Token), usize>,
}

/// A merged trie node: whether it accepts, and its sorted `(token, child class)` edges.
pub(super) type Signature = (bool, Vec<(Token, usize)>);

impl TokenTrie {
    pub(super) fn new() -> TokenTrie {
        let mut trie = TokenTrie { children: Vec::new(), accept: Vec::new(), index: HashMap::new() };
        trie.add_node();
        trie
    }

    pub(super) fn add_node(&mut self) -> usize {
        let id = self.accept.len();
        self.children.push(Vec::new());
        self.accept.push(false);
        id
    }

    pub(super) fn insert(&mut self, tokens: &[Token]) {
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

    pub(super) fn into_nfa(self) -> Nfa {
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
pub(super) struct NfaBuilder {
    pub(super) nfa: Nfa,
    pub(super) set_ids: HashMap<CharSet, usize>,
}

impl NfaBuilder {
    /// A builder with `states` initial states (at least one, the start state 0).
    pub(super) fn new(states: usize) -> NfaBuilder {
        let mut builder = NfaBuilder { nfa: Nfa::default(), set_ids: HashMap::new() };
        for _ in 0..states.max(1) {
            builder.add_state();
        }
        builder
    }

    pub(super) fn finish(self) -> Nfa {
        self.nfa
    }

    pub(super) fn add_state(&mut self) -> usize {
        let id = self.nfa.accept.len();
        self.nfa.eps.push(Vec::new());
        self.nfa.steps.push(Vec::new());
        self.nfa.accept.push(false);
        id
    }

    pub(super) fn set_accept(&mut self, state: usize) {
        if let Some(accept) = self.nfa.accept.get_mut(state) {
            *accept = true;
        }
    }

    pub(super) fn add_eps(&mut self, from: usize, to: usize) {
        if let Some(edges) = self.nfa.eps.get_mut(from) {
            edges.push(to);
        }
    }

    pub(super) fn add_step(&mut self, from: usize, set: CharSet, to: usize) {
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
    pub(super) fn add_token(&mut self, from: usize, token: &Token, to: usize) {
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
