//! A spreadsheet (xlsx, or whatever calamine makes of the bytes), previewed and imported as the
//! import dialog does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_engine::tables::import::ImportFormat;

// calamine panics on some malformed workbooks (fuzzing found a cell reference whose column
// overflows); the importer contains them as the app does.
fuzz_target!(init: quire_fuzz::contain_decoder_panics(), |data: &[u8]| {
    quire_fuzz::import(ImportFormat::Excel, ".xlsx", data);
});
