//! Fuzz target: planrun's native JSON reader. Any input must parse and validate without a
//! panic, and writing the parsed plan back out must read back to the same plan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use planrun_plan::native::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = json::parse(text, "plan.json");
    let _ = planrun_plan::check(&first);
    let written = json::write(&first.plan);
    let second = json::parse(&written, "plan.json");
    assert_eq!(
        first.plan, second.plan,
        "JSON round trip changed the plan; written text:\n{written}"
    );
    let _ = planrun_plan::check(&second);
});
