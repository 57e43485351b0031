package vecstore

/*
#include <stdlib.h>
#include "vecstore.h"
*/
import "C"

import (
	"time"
)

// CompactionConfig says when [Store.MaybeCompact] (and the maintenance thread) compacts: when
// Enabled and at least MinDeletedRecords slots are reclaimable OR at least MinDeletedRatio of all
// slots are. Reclaimable: soft-deleted and expired records, and the leftovers of replaced or
// deleted records. It is saved with the store.
type CompactionConfig struct {
	Enabled           bool
	MinDeletedRecords uint64
	MinDeletedRatio   float64
}

// DefaultCompactionConfig is disabled, 1000 records, 10%.
func DefaultCompactionConfig() CompactionConfig {
	c := C.vs_compaction_config_default()
	return CompactionConfig{Enabled: bool(c.enabled), MinDeletedRecords: uint64(c.min_deleted_records), MinDeletedRatio: float64(c.min_deleted_ratio)}
}

// CompactionResult is what [Store.MaybeCompact] did.
type CompactionResult struct {
	// Triggered is whether it compacted.
	Triggered bool
	// RemovedCount is the number of soft-deleted and expired records removed for good.
	RemovedCount uint64
	// TombstonesRemoved is the number of leftovers of replaced or deleted records reclaimed.
	TombstonesRemoved uint64
	// Duration of the call.
	Duration time.Duration
	// Reason says why it compacted or not, in plain words.
	Reason string
}

// Compact compacts now, whatever the configuration, and returns the number of soft-deleted and
// expired records it removed for good. Queries keep running meanwhile; writes wait. A crash during
// compaction leaves the store either as it was or compacted.
//
// Errors: ErrIO, ErrClosed.
func (s *Store) Compact() (uint64, error) {
	h, err := s.handle()
	if err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var n C.uint64_t
	var cerr *C.vs_error
	if err := takeError(C.vs_store_compact(h, &n, &cerr), cerr); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// SetCompactionConfig sets when [Store.MaybeCompact] compacts and saves it with the store.
//
// Errors: ErrInvalidArgument (MinDeletedRatio outside [0, 1] or NaN), ErrIO, ErrClosed.
func (s *Store) SetCompactionConfig(c CompactionConfig) error {
	cc := C.vs_compaction_config_default()
	cc.enabled = C.bool(c.Enabled)
	cc.min_deleted_records = C.uint64_t(c.MinDeletedRecords)
	cc.min_deleted_ratio = C.double(c.MinDeletedRatio)
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(C.vs_store_set_compaction_config(h, &cc, &cerr), cerr)
}

// CompactionConfig returns the store's compaction settings.
//
// Errors: ErrClosed.
func (s *Store) CompactionConfig() (CompactionConfig, error) {
	h, err := s.handle()
	if err != nil {
		return CompactionConfig{}, err
	}
	defer s.mu.RUnlock()
	cc := C.vs_compaction_config_default()
	var cerr *C.vs_error
	if err := takeError(C.vs_store_get_compaction_config(h, &cc, &cerr), cerr); err != nil {
		return CompactionConfig{}, err
	}
	return CompactionConfig{Enabled: bool(cc.enabled), MinDeletedRecords: uint64(cc.min_deleted_records), MinDeletedRatio: float64(cc.min_deleted_ratio)}, nil
}

// MaybeCompact compacts if the configuration says so. Not compacting is not an error: Triggered
// is false and Reason says why.
//
// Errors: ErrIO, ErrClosed.
func (s *Store) MaybeCompact() (CompactionResult, error) {
	h, err := s.handle()
	if err != nil {
		return CompactionResult{}, err
	}
	defer s.mu.RUnlock()
	r := C.vs_compaction_result_default()
	var cerr *C.vs_error
	if err := takeError(C.vs_store_maybe_compact(h, &r, &cerr), cerr); err != nil {
		return CompactionResult{}, err
	}
	return CompactionResult{
		Triggered:         bool(r.triggered),
		RemovedCount:      uint64(r.removed_count),
		TombstonesRemoved: uint64(r.tombstones_removed),
		Duration:          time.Duration(float64(r.duration_ms) * float64(time.Millisecond)),
		Reason:            C.GoString(&r.reason[0]),
	}, nil
}

// StartMaintenance starts the store's maintenance thread (off unless started): every interval it
// deletes expired records and runs MaybeCompact. One per store: starting again replaces the
// running one. It stops on [Store.StopMaintenance] and on [Store.Close]. Errors inside it never
// stop it; they show in Stats()["maintenance"] ("errors", "last_error").
//
// Errors: ErrInvalidArgument (interval below 1 ms or above 2^32 ms), ErrIO, ErrClosed.
func (s *Store) StartMaintenance(interval time.Duration) error {
	ms := interval / time.Millisecond
	if ms < 1 || ms > 0xFFFFFFFF {
		return invalid("StartMaintenance: interval must be between 1 ms and 2^32 ms")
	}
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(C.vs_store_start_maintenance(h, C.uint32_t(ms), &cerr), cerr)
}

// StopMaintenance stops the maintenance thread and waits for it (at most the run in progress).
// A no-op when none runs.
//
// Errors: ErrClosed.
func (s *Store) StopMaintenance() error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(C.vs_store_stop_maintenance(h, &cerr), cerr)
}
