//! Fuzz target: the lenient, span-keeping JSON reader (`planrun_plan::json::parse`) that every
//! JSON importer builds on. Any input must give a tree or a diagnostic, never a panic, and every
//! span must lie inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use planrun_plan::json::{self, JValue};
use planrun_plan::source::Sources;

fn walk(v: &JValue, len: usize) {
    assert!(v.span.start <= v.span.end && v.span.end <= len, "span {:?} outside 0..{len}", v.span);
    let _ = (v.as_text(), v.text_list(), v.kind_name(), v.get("tasks"));
    for item in v.items() {
        walk(item, len);
    }
    for (_, member) in v.members() {
        walk(member, len);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = Sources::default();
    let id = sources.add("input.json", text.to_owned());
    if let Ok(value) = json::parse(text, id) {
        walk(&value, text.len());
    }
});
