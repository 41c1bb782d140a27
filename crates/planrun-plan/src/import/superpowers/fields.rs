//! The bold labels of a superpowers task (`**Files:**`, `**Run:**`, `**Expected:**`, acceptance,
//! dependencies), the step checkboxes, and the Dependencies and Acceptance sections they open.

use super::*;

/// `Files` field names.
pub(super) const FILES_KEYS: &[&str] = &[
    "files",
    "file",
    "files touched",
    "files to change",
    "files changed",
    "文件",
    "涉及文件",
    "文件变更",
    "ファイル",
    "対象ファイル",
    "archivos",
    "arquivos",
    "dateien",
    "fichiers",
];

/// Keys of the entries of a `**Files:**` list.
pub(super) const FILE_ENTRY_KEYS: &[&str] = &[
    "create",
    "modify",
    "test",
    "tests",
    "update",
    "delete",
    "add",
    "edit",
    "rename",
    "copy",
    "move",
    "remove",
    "new",
    "创建",
    "新建",
    "新增",
    "修改",
    "更新",
    "测试",
    "删除",
    "作成",
    "新規",
    "変更",
    "修正",
    "テスト",
    "削除",
    "crear",
    "modificar",
    "criar",
    "erstellen",
    "ändern",
    "créer",
    "modifier",
];

/// Keys of files-list entries that name files the task reads or generates without committing.
pub(super) const READ_ONLY_KEYS: &[&str] =
    &["reference", "read", "see", "context", "refer", "参考", "参照", "阅读", "生成", "generated", "output"];

/// `Run:` in the languages plans are written in.
pub(super) const RUN_KEYS: &[&str] =
    &["run", "运行", "執行", "执行", "実行", "ejecutar", "executar", "ausführen", "exécuter"];

/// `Expected:` in the languages plans are written in.
pub(super) const EXPECTED_KEYS: &[&str] = &[
    "expected",
    "expect",
    "expected output",
    "expected result",
    "预期",
    "预期结果",
    "期望",
    "期望结果",
    "期待",
    "期待結果",
    "期待される結果",
    "esperado",
    "resultado esperado",
    "erwartet",
    "attendu",
    "résultat attendu",
];

/// Headings or fields that introduce a task's acceptance criteria.
pub(super) const ACCEPTANCE_KEYS: &[&str] = &[
    "acceptance",
    "acceptance criteria",
    "success criteria",
    "done when",
    "definition of done",
    "验收",
    "验收标准",
    "完成标准",
    "受け入れ基準",
    "完了条件",
    "criterios de aceptación",
    "akzeptanzkriterien",
    "critères d'acceptation",
];

/// Fields that state a task's dependencies.
pub(super) const DEPENDS_KEYS: &[&str] =
    &["depends on", "dependencies", "depends", "依赖", "前置任务", "依存", "depende de"];

/// Words in a step's title that say it runs a check.
pub(super) const CHECK_WORDS: &[&str] = &[
    "run",
    "verify",
    "check",
    "test",
    "confirm",
    "build",
    "lint",
    "validate",
    "regression",
    "smoke",
    "sanity",
    "preflight",
    "pre-flight",
    "回归",
    "校验",
    "检验",
    "验收",
    "conferir",
    "verificar",
    "validar",
    "testar",
    "pré-voo",
    "prüfen",
    "vérifier",
    "运行",
    "验证",
    "检查",
    "测试",
    "確認",
    "実行",
    "検証",
    "テスト",
];

/// Words before a backticked command in a sentence that say it is run as a check.
pub(super) const PROSE_RUN: &[&str] = &[
    "run ",
    "run: ",
    "execute ",
    "verify with ",
    "check with ",
    "confirm with ",
    "confirm ",
    "运行",
    "執行",
    "执行",
    "実行",
    "correr ",
    "executar ",
    "rodar ",
    "ejecutar ",
    "ejecuta ",
    "ausführen",
    "exécuter ",
    "lancer ",
];

/// Words in a step's title or expectation that say the check must fail.
pub(super) const FAIL_WORDS: &[&str] = &["fail", "失败", "失敗", "报错", "エラー"];

pub(super) fn key_in(key: &str, keys: &[&str]) -> bool {
    let k = key.trim().trim_matches('*').trim();
    if k.is_ascii() {
        return keys.iter().any(|w| k.eq_ignore_ascii_case(w));
    }
    let k = k.to_lowercase();
    keys.iter().any(|w| k == *w)
}

/// A files-list entry key, alone or joined to another (`Create or Modify`, `Create/Update`).
pub(super) fn is_entry_key(key: &str) -> bool {
    let k = key.trim().trim_matches('*').trim();
    if key_in(k, FILE_ENTRY_KEYS) {
        return true;
    }
    let lower = k.to_lowercase();
    let parts: Vec<&str> = lower
        .split(['/', ',', '&', '+', '、', '或'])
        .flat_map(|p| p.split(" or "))
        .flat_map(|p| p.split(" and "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    parts.len() > 1 && parts.iter().all(|p| key_in(p, FILE_ENTRY_KEYS))
}

/// Whether the prose of a line (not its backticked commands: `--output-on-failure`,
/// `-DfailIfNoTests=false`) says the check must fail.
pub(super) fn says_fail(text: &str) -> bool {
    if !text.contains('`') {
        return contains_any(text, FAIL_WORDS);
    }
    let mut prose = String::with_capacity(text.len());
    let mut last = 0;
    for (code, off) in md::code_spans(text) {
        prose.push_str(text.get(last..off).unwrap_or(""));
        prose.push(' ');
        last = off + code.len();
    }
    prose.push_str(text.get(last..).unwrap_or(""));
    contains_any(&prose, FAIL_WORDS)
}

pub(super) fn contains_any(text: &str, words: &[&str]) -> bool {
    if text.is_empty() {
        return false;
    }
    let lower = text.to_lowercase();
    words.iter().any(|w| lower.contains(w))
}

/// A `Key: value` line (see [`md::field`]) where the colon may also be a full-width `：`, and a
/// checkbox before the key (`- [ ] Expected: …`) is skipped.
pub(super) fn field(line: &str) -> Option<(&str, &str, usize)> {
    if !line.contains([':', '：']) {
        return None;
    }
    let body = md::checkbox(line).map(|(_, t)| t).or_else(|| md::bullet(line)).unwrap_or_else(|| line.trim_start());
    let body_off = md::offset_in(line, body).unwrap_or(0);
    let colon_len = |s: &str| if s.starts_with('：') { '：'.len_utf8() } else { 1 };
    // A key in backticks: `` `Files:` ``.
    if let Some(inner) = body.strip_prefix('`') {
        let close = inner.find('`')?;
        let key = inner.get(..close)?.strip_suffix([':', '：'])?.trim();
        let value = inner.get(close + 1..)?.trim();
        if key.is_empty() || key.contains(char::is_whitespace) && key.chars().count() > 30 {
            return None;
        }
        return Some((key, value, md::offset_in(line, value).unwrap_or(body_off)));
    }
    let (key, rest) = if let Some(inner) = body.strip_prefix("**") {
        let close = inner.find("**")?;
        let key = inner.get(..close)?;
        let after = inner.get(close + 2..)?;
        match key.strip_suffix([':', '：']) {
            Some(k) => (k, after),
            None => {
                let a = after.trim_start();
                if !a.starts_with([':', '：']) {
                    return None;
                }
                (key, a.get(colon_len(a)..)?)
            }
        }
    } else {
        let colon = body.find([':', '：'])?;
        let key = body.get(..colon)?;
        if key.is_empty() || key.chars().count() > 40 || key.contains('`') || key.contains("](") {
            return None;
        }
        let after = body.get(colon..)?;
        (key, after.get(colon_len(after)..)?)
    };
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    let value = rest.trim();
    let value_off = md::offset_in(line, value).unwrap_or(body_off);
    Some((key, value, value_off))
}

/// The title of a step line: a checkbox (`- [ ] **Step 2: Run it**`), a bold line
/// (`**Step 2: Run it**`), or a `Step N:` line. Headings are steps too, handled by the caller.
pub(super) fn step_title(line: &str) -> Option<&str> {
    if let Some((_, t)) = md::checkbox(line) {
        return Some(t);
    }
    let t = line.trim();
    if t.starts_with("**") && t.len() > 4 && field(t).is_none() {
        return Some(t);
    }
    // Only lines starting like one of the words are worth comparing.
    let first = t.chars().next()?.to_lowercase().next()?;
    if !matches!(first, 's' | '步' | 'ス' | 'p' | 'é') {
        return None;
    }
    let words = ["step ", "步骤", "ステップ", "paso ", "schritt ", "étape "];
    words
        .iter()
        .any(|w| strip_word(t, w).is_some_and(|r| r.trim_start().starts_with(|c: char| c.is_ascii_digit())))
        .then_some(t)
}

/// Whether a line is a numbered step (`- [ ] **Step 2: …**`).
pub(super) fn is_step(line: &str) -> bool {
    step_title(line).is_some_and(is_numbered_step)
}

/// Whether a step title is numbered like superpowers' steps (`Step 1`, `步骤 1`).
pub(super) fn is_numbered_step(title: &str) -> bool {
    let t = title.trim().trim_start_matches("**").trim_start();
    ["step", "步骤", "ステップ"]
        .iter()
        .any(|w| strip_word(t, w).is_some_and(|r| r.trim_start().starts_with(|c: char| c.is_ascii_digit())))
}

/// `Depends on: Task 1, Task 3` (or `依赖：任务 1`): dependencies stated besides plan order.
pub(super) fn read_dependencies(
    b: &mut PlanBuilder,
    src: SourceId,
    body: &[Line<'_>],
    task: &mut Task,
    spans: &mut TaskSpans,
) {
    for line in body.iter().filter(|l| !l.in_fence) {
        let Some((_, value, off)) = field(line.text).filter(|(k, _, _)| key_in(k, DEPENDS_KEYS)) else {
            continue;
        };
        let span = Span::new(src, line.start + off, line.start + off + value.len());
        let lowered = value.to_lowercase();
        if value.is_empty() || ["none", "n/a", "-", "无", "なし"].iter().any(|w| lowered.starts_with(w)) {
            continue;
        }
        let mut found = 0;
        for part in value.split([',', '，', '、', ';']).flat_map(|p| p.split(" and ")) {
            let part = part.trim().trim_matches(['`', '*', '(', ')']).trim();
            let number = match task_heading(part) {
                Some(h) if !h.number.is_empty() => h.number,
                _ => continue,
            };
            found += 1;
            let id = format!("task-{}", number.to_ascii_lowercase());
            if id != task.id && !task.depends_on.contains(&id) {
                task.depends_on.push(id);
                spans.depends_on.push(span);
            }
        }
        if found == 0 {
            b.warn(
                Diagnostic::warning("unread-dependency", format!("`{value}` names no task planrun can find"))
                    .at(Some(span))
                    .help("name tasks by number: `**Depends on:** Task 2, Task 3`"),
            );
        }
    }
}

/// A task's acceptance criteria and the body lines they were read from.
pub(super) struct Criteria {
    pub(super) items: Vec<(String, Span)>,
    pub(super) lines: Vec<usize>,
}

/// The list under an `**Acceptance criteria:**` field or a `#### Acceptance` heading (also
/// `Success criteria`, `Done when`, `验收标准`), one criterion per item; an inline value is one
/// criterion too.
pub(super) fn read_acceptance(src: SourceId, body: &[Line<'_>], task_level: usize) -> Criteria {
    let mut out = Criteria { items: Vec::new(), lines: Vec::new() };
    let mut i = 0;
    while let Some(line) = body.get(i) {
        i += 1;
        if line.in_fence {
            continue;
        }
        let heading_level = md::heading(line.text)
            .filter(|(lvl, t)| *lvl > task_level && key_in(t.trim_end_matches([':', '：']), ACCEPTANCE_KEYS))
            .map(|(lvl, _)| lvl);
        let is_field = heading_level.is_none()
            && md::bullet(line.text).is_none()
            && field(line.text).is_some_and(|(k, _, _)| key_in(k, ACCEPTANCE_KEYS));
        if heading_level.is_none() && !is_field {
            continue;
        }
        if let Some((_, value, off)) = field(line.text).filter(|_| is_field) {
            if !value.is_empty() {
                out.items
                    .push((model::one_line(value), Span::new(src, line.start + off, line.start + off + value.len())));
                out.lines.push(i - 1);
            }
        }
        let mut seen_item = false;
        while let Some(next) = body.get(i) {
            if next.in_fence || md::heading(next.text).is_some() {
                break;
            }
            if next.text.trim().is_empty() {
                let ahead = body.get(i..).unwrap_or_default().iter().find(|l| !l.text.trim().is_empty());
                let more = heading_level.is_some()
                    && ahead.is_some_and(|l| md::bullet(l.text).is_some() && !l.in_fence && !is_step(l.text));
                if !seen_item || more {
                    i += 1;
                    continue;
                }
                break;
            }
            let Some(item) = md::checkbox(next.text).map(|(_, t)| t).or_else(|| md::bullet(next.text)) else {
                break;
            };
            if is_step(next.text) {
                break;
            }
            if is_field && field(next.text).is_some_and(|(k, _, _)| key_in(k, FILES_KEYS)) {
                break;
            }
            seen_item = true;
            let text = model::one_line(item);
            if !text.is_empty() {
                out.items.push((text, sub_span(src, next, item).unwrap_or_else(|| line_span(src, next))));
                out.lines.push(i);
            }
            i += 1;
        }
    }
    out
}
