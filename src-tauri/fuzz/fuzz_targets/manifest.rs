//! A table folder's `manifest.json`: it parses or is refused; what parses names only valid
//! tables (they become file names) and writes back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quire_engine::snapshots::manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = manifest::parse(data) {
        for table in m.tables.keys() {
            quire_engine::tables::name::validate(table).expect("only valid table names pass");
        }
        let again = manifest::parse(&serde_json::to_vec(&m).unwrap()).expect("round trip");
        assert_eq!(again, m);
    }
});
