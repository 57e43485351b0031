//! A records journal (`apply_records_journal`), damaged: applying it to the records of the
//! records file gives `Err` (and leaves them as they were) or records whose every state is
//! known; the prefix reading used without a manifest stops at a bad entry. Never a panic, a hang
//! or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vecstore::storage::snapshot::{apply_records_journal, apply_records_journal_prefix, SlotRecord};

fn base() -> Vec<SlotRecord> {
    (0..8)
        .map(|i| SlotRecord {
            id: format!("r{i}"),
            metadata: format!(r#"{{"n":{i}}}"#),
            state: (i % 3) as u8,
            expires_at: i as u64,
        })
        .collect()
}

fuzz_target!(|entries: &[u8]| {
    let mut records = base();
    match apply_records_journal(std::path::Path::new("fuzz.recordslog"), &mut records, entries) {
        Ok(()) => assert!(records.iter().all(|r| r.state <= SlotRecord::SOFT_DELETED) && records.len() >= 8),
        Err(_) => assert_eq!(records, base()),
    }
    let mut records = base();
    let (applied, _) = apply_records_journal_prefix(&mut records, entries);
    assert!(applied <= entries.len());
});
