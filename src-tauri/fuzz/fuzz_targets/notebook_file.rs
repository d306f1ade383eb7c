//! `notebook.json` as found on disk (possibly damaged, possibly from elsewhere): it parses or
//! is refused in words, and what parses writes back to bytes that parse to the same notebook.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_engine::notebooks::model::Document;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Document::parse(data) {
        let again = Document::parse(&doc.to_bytes()).expect("what Quire writes, it reads");
        assert_eq!(again, doc, "a notebook survives a write and a read unchanged");
    }
});
