//! The snapshot's graph journal file, damaged (see common::check_snapshot_file): opening the store gives
//! a usable store or Code::Corrupt, never a panic, a hang or a huge allocation.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use vecstore::storage::snapshot::FileKind;

fuzz_target!(|data: &[u8]| {
    common::write_seeds_if_asked(|| common::seed(FileKind::GraphJournal));
    common::check_snapshot_file(FileKind::GraphJournal, data);
});
