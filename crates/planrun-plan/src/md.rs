//! Line-level markdown helpers shared by every markdown importer: fenced-code tracking, ATX
//! headings, bullets, checkboxes, `Key: value` fields and backticked code spans. Lenient on
//! purpose: plans are written by hand. Knows nothing about plans.

/// One line of a markdown text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Byte offset of the line's first character in the whole text.
    pub start: usize,
    /// The line without its line ending.
    pub text: &'a str,
    /// True inside a fenced code block, including the fence lines themselves.
    pub in_fence: bool,
}

/// Splits `text` into lines, marking fenced code blocks (``` and ~~~, closed by a fence of the
/// same character at least as long; an unclosed fence runs to the end, as in CommonMark).
pub fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let opener = fence_of(line);
        let in_fence = match (fence, opener) {
            (None, Some((ch, len, _))) => {
                fence = Some((ch, len));
                true
            }
            (Some((ch, len)), Some((c2, l2, info_empty))) if c2 == ch && l2 >= len && info_empty => {
                fence = None;
                true
            }
            (Some(_), _) => true,
            (None, None) => false,
        };
        out.push(Line { start, text: line, in_fence });
        start += raw.len();
    }
    out
}

/// Like [`lines`], but reads fences nested the way plans write them: inside a fenced block, a
/// fence line of the same character with an info string (```` ```bash ````) opens an inner block
/// that the next bare fence closes, and only the bare fence after that closes the outer one.
/// CommonMark would end the outer block at the inner block's closing line; people who write a
/// markdown snippet holding a shell block mean the nesting.
pub fn lines_nested(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    // The open fence and how many inner blocks are open within it.
    let mut fence: Option<(char, usize, usize)> = None;
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        fence = match (fence, fence_of(line)) {
            (None, Some((ch, len, _))) => Some((ch, len, 0)),
            (Some((ch, len, depth)), Some((c2, l2, bare))) if c2 == ch && l2 >= len => match (bare, depth) {
                (true, 0) => {
                    out.push(Line { start, text: line, in_fence: true });
                    start += raw.len();
                    fence = None;
                    continue;
                }
                (true, d) => Some((ch, len, d - 1)),
                (false, d) => Some((ch, len, d + 1)),
            },
            (f, _) => f,
        };
        out.push(Line { start, text: line, in_fence: fence.is_some() });
        start += raw.len();
    }
    out
}

/// The fence (character and length) still open at the end of `text`, if any.
pub fn open_fence(text: &str) -> Option<(char, usize)> {
    let mut fence: Option<(char, usize)> = None;
    for line in text.lines() {
        match (fence, fence_of(line)) {
            (None, Some((ch, len, _))) => fence = Some((ch, len)),
            (Some((ch, len)), Some((c2, l2, true))) if c2 == ch && l2 >= len => fence = None,
            _ => {}
        }
    }
    fence
}

/// If `line` is a code fence: its character, length, and whether nothing follows it.
pub fn fence_of(line: &str) -> Option<(char, usize, bool)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let ch = trimmed.chars().next()?;
    if ch != '`' && ch != '~' {
        return None;
    }
    let len = trimmed.chars().take_while(|&c| c == ch).count();
    if len < 3 {
        return None;
    }
    let rest = trimmed.get(len..).unwrap_or("");
    if ch == '`' && rest.contains('`') {
        return None;
    }
    Some((ch, len, rest.trim().is_empty()))
}

/// An ATX heading: its level (1–6) and its text without the `#`s.
pub fn heading(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let level = trimmed.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = trimmed.get(level..).unwrap_or("");
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    // A closing sequence of #s is kept: plans rarely use one, and keeping it makes headings
    // written by planrun read back exactly.
    Some((level, rest.trim()))
}

/// The text of a list item (`- x`, `* x`, `+ x`, `1. x`, `1) x`), without the marker.
pub fn bullet(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix(['-', '*', '+']) {
        return (rest.is_empty() || rest.starts_with([' ', '\t'])).then(|| rest.trim());
    }
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = trimmed.get(digits..)?;
    let rest = rest.strip_prefix(['.', ')'])?;
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then(|| rest.trim())
}

/// A task-list item: whether it is ticked, and its text. `[x]`, `[X]` and `[✓]` count as ticked.
pub fn checkbox(line: &str) -> Option<(bool, &str)> {
    let item = bullet(line)?;
    let rest = item.strip_prefix('[')?;
    let close = rest.find(']')?;
    let mark = rest.get(..close)?.trim();
    let checked = match mark {
        "" => false,
        "x" | "X" | "✓" | "✔" | "✅" => true,
        _ => return None,
    };
    Some((checked, rest.get(close + 1..)?.trim()))
}

/// Strips a leading "done" mark (✅, ✔, ✓, `[x]`) from a heading text.
pub fn strip_done_mark(text: &str) -> (bool, &str) {
    let t = text.trim_start();
    for mark in ["✅", "✔️", "✔", "✓", "[x]", "[X]", "☑"] {
        if let Some(rest) = t.strip_prefix(mark) {
            return (true, rest.trim_start());
        }
    }
    (false, t)
}

/// A `Key: value` line in any of the usual spellings: `Key: v`, `- Key: v`, `**Key:** v`,
/// `**Key**: v`, `- **Key:** v`. Returns the key (without emphasis) and the value with the
/// byte offset of the value inside `line`.
pub fn field(line: &str) -> Option<(&str, &str, usize)> {
    let body = bullet(line).unwrap_or_else(|| line.trim_start());
    let body_off = offset_in(line, body).unwrap_or(0);
    let (key, rest) = if let Some(inner) = body.strip_prefix("**") {
        let close = inner.find("**")?;
        let key = inner.get(..close)?;
        let after = inner.get(close + 2..)?;
        match key.strip_suffix(':') {
            Some(k) => (k, after),
            None => (key, after.trim_start().strip_prefix(':')?),
        }
    } else {
        let colon = body.find(':')?;
        let key = body.get(..colon)?;
        if key.is_empty() || key.len() > 40 || key.contains('`') || key.contains("](") {
            return None;
        }
        (key, body.get(colon + 1..)?)
    };
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    let value = rest.trim();
    let value_off = offset_in(line, value).unwrap_or(body_off);
    Some((key, value, value_off))
}

/// Byte offset of `part` (a sub-slice of `whole`) inside `whole`.
pub fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let w = whole.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    (p >= w && p + part.len() <= w + whole.len()).then(|| p - w)
}

/// The contents of every backticked code span in `text`, with byte offsets into `text`.
/// Handles multi-backtick spans (``a ` b``).
pub fn code_spans(text: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) != Some(&b'`') {
            i += 1;
            continue;
        }
        let run = bytes.get(i..).unwrap_or_default().iter().take_while(|&&b| b == b'`').count();
        let open_end = i + run;
        let mut j = open_end;
        let mut found = None;
        while j < bytes.len() {
            if bytes.get(j) == Some(&b'`') {
                let r = bytes.get(j..).unwrap_or_default().iter().take_while(|&&b| b == b'`').count();
                if r == run {
                    found = Some(j);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match found {
            Some(close) => {
                if let Some(inner) = text.get(open_end..close) {
                    let trimmed = if run > 1 { inner.trim() } else { inner };
                    let off = offset_in(text, trimmed).unwrap_or(open_end);
                    out.push((trimmed, off));
                }
                i = close + run;
            }
            None => i = open_end,
        }
    }
    out
}

/// The path a file-list item names (`` `src/a.rs` (modify) — why `` or `src/a.rs`): its first
/// code span, else its first word, with its byte offset inside `item`.
pub fn item_path(item: &str) -> Option<(&str, usize)> {
    let (path, at) = match code_spans(item).first() {
        Some(&(s, o)) => (s, o),
        None => {
            let word = item.split_whitespace().next()?;
            (word, offset_in(item, word)?)
        }
    };
    (!path.is_empty()).then_some((path, at))
}

/// Splits a list written on one line: the backticked spans if there are any, else the
/// comma-separated parts (commas inside `{}` or `[]` do not split). Each item comes with its
/// byte offset in `value`. "none", "-" and "n/a" mean an empty list.
pub fn split_list(value: &str) -> Vec<(String, usize)> {
    let spans = code_spans(value);
    if !spans.is_empty() {
        return spans
            .into_iter()
            .filter(|(s, _)| !s.trim().is_empty())
            .map(|(s, o)| (s.trim().to_owned(), o))
            .collect();
    }
    let lowered = value.trim().trim_matches(['(', ')', '_', '*', '.']).to_ascii_lowercase();
    if matches!(lowered.as_str(), "" | "none" | "-" | "—" | "n/a" | "na" | "nothing") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            ',' | ';' if depth <= 0 => {
                push_item(value, start, i, &mut out);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    push_item(value, start, value.len(), &mut out);
    out
}

fn push_item(value: &str, start: usize, end: usize, out: &mut Vec<(String, usize)>) {
    let Some(raw) = value.get(start..end) else {
        return;
    };
    let item = raw.trim().trim_matches('*').trim();
    if item.is_empty() {
        return;
    }
    let off = offset_in(value, item).unwrap_or(start);
    out.push((item.to_owned(), off));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings() {
        assert_eq!(heading("### Step 1: Do"), Some((3, "Step 1: Do")));
        assert_eq!(heading("#NoSpace"), None);
        assert_eq!(heading("## Title ##"), Some((2, "Title ##")));
        assert_eq!(heading("    # code"), None);
        assert_eq!(heading("#"), Some((1, "")));
    }

    #[test]
    fn nested_fences() {
        let text = "```\n# a\n```bash\nls\n```\n# b\n```\n# c\n";
        let flags: Vec<bool> = lines_nested(text).iter().map(|l| l.in_fence).collect();
        assert_eq!(flags, [true, true, true, true, true, true, true, false]);
        // Plain lines() follows CommonMark: the inner block's closer ends the outer block.
        let flags: Vec<bool> = lines(text).iter().map(|l| l.in_fence).collect();
        assert_eq!(flags, [true, true, true, true, true, false, true, true]);
    }

    #[test]
    fn fences_hide_headings() {
        let text = "a\n```sh\n# comment\n```\n# real\n~~~~\n```\n~~~~\nz";
        let ls = lines(text);
        let flags: Vec<bool> = ls.iter().map(|l| l.in_fence).collect();
        assert_eq!(flags, vec![false, true, true, true, false, true, true, true, false]);
        assert_eq!(ls[4].start, text.find("# real").unwrap());
    }

    #[test]
    fn checkboxes_and_bullets() {
        assert_eq!(checkbox("- [ ] 1.1 Task"), Some((false, "1.1 Task")));
        assert_eq!(checkbox("  * [x] done"), Some((true, "done")));
        assert_eq!(checkbox("1. [X] numbered"), Some((true, "numbered")));
        assert_eq!(checkbox("- [link](x)"), None);
        assert_eq!(bullet("12) twelve"), Some("twelve"));
        assert_eq!(bullet("-nope"), None);
    }

    #[test]
    fn fields_in_every_spelling() {
        assert_eq!(field("**Files:** `a`").map(|f| (f.0, f.1)), Some(("Files", "`a`")));
        assert_eq!(field("- **Depends on**: a, b").map(|f| (f.0, f.1)), Some(("Depends on", "a, b")));
        assert_eq!(field("Status: done").map(|f| (f.0, f.1)), Some(("Status", "done")));
        let (_, v, off) = field("- Files: `src/**`").unwrap();
        assert_eq!(&"- Files: `src/**`"[off..off + v.len()], v);
        assert_eq!(field("see http://x").map(|f| f.0), Some("see http"));
        assert_eq!(field("`code`: x"), None);
    }

    #[test]
    fn lists() {
        let items: Vec<String> = split_list("`src/{a,b}/**`, `c.rs`").into_iter().map(|x| x.0).collect();
        assert_eq!(items, vec!["src/{a,b}/**", "c.rs"]);
        let items: Vec<String> = split_list("a, b ,c").into_iter().map(|x| x.0).collect();
        assert_eq!(items, vec!["a", "b", "c"]);
        assert!(split_list("None").is_empty());
        assert_eq!(code_spans("run ``a ` b`` now"), vec![("a ` b", 6)]);
    }
}
