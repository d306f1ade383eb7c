//! Power cuts at every instant of a notebook's saves and of a table's snapshot commits with
//! their cleanup, at a size that fits `make test` (the `durability` bench runs them large).

use super::scenarios::{notebook_saves, snapshot_commits, startup_recovery, Report};

fn assert_clean(what: &str, r: &Report, at_least: usize) {
    eprintln!(
        "power cuts, {what}: {} steps, {} crash states ({} distinct), {} lost, {} failures",
        r.steps,
        r.states,
        r.distinct,
        r.lost.len(),
        r.failures.len()
    );
    assert!(r.lost.is_empty(), "{:#?}", r.lost);
    assert!(r.failures.is_empty(), "{:#?}", r.failures);
    assert!(
        r.distinct >= at_least,
        "the exploration found only {} states",
        r.distinct
    );
}

#[test]
fn a_power_cut_at_any_instant_of_notebook_saves_loses_no_acknowledged_edit() {
    assert_clean("notebook saves", &notebook_saves(4), 20);
}

#[test]
fn a_power_cut_at_any_instant_of_snapshot_commits_and_their_cleanup_keeps_a_committed_table() {
    assert_clean("snapshot commits", &snapshot_commits(4, 2), 20);
}

#[test]
fn a_power_cut_while_startup_cleans_up_after_a_crash_leaves_the_table_openable() {
    let r = startup_recovery(3);
    assert_clean("startup recovery", &r, 7);
}

#[test]
fn a_power_cut_at_any_instant_of_journaled_edits_and_their_trimming_loses_no_acknowledged_edit() {
    let r = super::whole_engine::journal_and_drafts(4, 2);
    assert_clean("journal and drafts with their trimming", &r, 20);
}

#[test]
fn every_write_site_fails_once_keeps_the_previous_state_leaks_nothing_and_recovers() {
    let r = super::faults::matrix();
    eprintln!(
        "fault matrix: {} sites, {} failures",
        r.sites,
        r.failures.len()
    );
    assert!(r.failures.is_empty(), "{:#?}", r.failures);
    assert_eq!(r.sites, 17);
}

#[test]
fn a_power_cut_at_any_instant_of_linked_edits_their_saves_and_a_compaction_loses_no_edit() {
    let r = super::linked_edits::linked_edits(6, 2);
    assert_clean("linked table edits, saves and a compaction", &r, 20);
}
