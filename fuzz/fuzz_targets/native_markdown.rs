//! Fuzz target: planrun's native markdown reader. Any input must parse and validate without a
//! panic, and writing the parsed plan back out must read back to the same plan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use planrun_plan::native::markdown;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = markdown::parse(text, "plan.md");
    let _ = planrun_plan::check(&first);
    let written = markdown::write(&first.plan);
    let second = markdown::parse(&written, "plan.md");
    assert_eq!(
        first.plan, second.plan,
        "markdown round trip changed the plan; written text:\n{written}"
    );
    let _ = planrun_plan::check(&second);
});
