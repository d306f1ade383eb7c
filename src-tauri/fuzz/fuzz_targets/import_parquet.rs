//! A parquet file, previewed and imported as the import dialog does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_engine::tables::import::ImportFormat;

fuzz_target!(init: quire_fuzz::contain_decoder_panics(), |data: &[u8]| {
    quire_fuzz::import(ImportFormat::Parquet, ".parquet", data);
});
