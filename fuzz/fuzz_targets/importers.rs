//! Fuzz target: every plan format through the public `load` API. The first input byte picks a
//! format from `Format::ALL`; the rest goes where that format's plans live (see
//! `common/importer.rs`). Each format also has a target of its own, `import_<format>`.
#![no_main]

#[path = "common/importer.rs"]
mod importer;

use libfuzzer_sys::fuzz_target;
use planrun_plan::Format;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    importer::run(Format::ALL[usize::from(pick) % Format::ALL.len()], rest);
});
