//! Unit tests of glob parsing, matching and overlap, including the properties checked against globset.

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

proptest! {
    /// A plain path takes the short way and reads exactly as the parser reads it.
    #[test]
    fn plain_paths_read_as_the_parser_reads_them(path in "[a-z./_ ,!-]{0,12}") {
        let quick = Pattern::parse(&path).unwrap();
        let parsed = Pattern::parse_syntax(&path).unwrap();
        prop_assert_eq!(&quick.prefix, &parsed.prefix);
        prop_assert_eq!(&quick.alternatives, &parsed.alternatives);
    }
}
