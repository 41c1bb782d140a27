//! Fuzz target: the superpowers importer through the public `load` API (see `common/importer.rs`).
#![no_main]

#[path = "common/importer.rs"]
mod importer;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| importer::run(planrun_plan::Format::Superpowers, data));
