//! A spreadsheet (xlsx, or whatever calamine makes of the bytes), previewed and imported as the
//! import dialog does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_engine::tables::import::ImportFormat;

fuzz_target!(|data: &[u8]| {
    quire_fuzz::import(ImportFormat::Excel, ".xlsx", data);
});
