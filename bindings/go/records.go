package vecstore

/*
#include <stdlib.h>
#include "vecstore.h"
*/
import "C"

import "unsafe"

// MaxTTLSeconds is the longest TTL accepted (100 years; VS_MAX_TTL_SECONDS).
const MaxTTLSeconds = uint64(C.VS_MAX_TTL_SECONDS)

// idCall runs a C function taking the store and one id.
func (s *Store) idCall(id string, call func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status) error {
	cid, err := cString("id", id)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cid))
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(call(h, cid, &cerr), cerr)
}

// SoftDelete hides a live record from every read (Get, Query, Count) until [Store.Restore]; its
// space is kept until compaction.
//
// Errors: ErrNotFound (no live record with this id: unknown, deleted, expired or already
// soft-deleted; nothing changes), ErrInvalidArgument, ErrIO, ErrClosed.
func (s *Store) SoftDelete(id string) error {
	return s.idCall(id, func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status {
		return C.vs_store_soft_delete(h, cid, cerr)
	})
}

// Restore undoes a soft delete; restoring a live record changes nothing.
//
// Errors: ErrNotFound (neither soft-deleted nor live, expired, or removed by compaction),
// ErrQuotaExceeded (in a namespace), ErrInvalidArgument, ErrIO, ErrClosed.
func (s *Store) Restore(id string) error {
	return s.idCall(id, func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status {
		return C.vs_store_restore(h, cid, cerr)
	})
}

// UpdateMetadata replaces the metadata of a live record (nil = no metadata). Filters see it at once.
//
// Errors: ErrNotFound, ErrInvalidArgument (metadata that is not a flat JSON object), ErrQuotaExceeded,
// ErrIO, ErrClosed.
func (s *Store) UpdateMetadata(id string, metadata map[string]any) error {
	cmeta, err := metadataCString(metadata, "metadata")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cmeta))
	return s.idCall(id, func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status {
		return C.vs_store_update_metadata(h, cid, cmeta, cerr)
	})
}

// UpsertWithTTL is [Store.Upsert] for a record that expires ttlSeconds from now (0 = never).
// Expiry is kept in whole seconds, rounded up: the record stays visible at least ttlSeconds and
// less than ttlSeconds+1, then it is invisible to every read until [Store.ExpireTTLRecords] or
// compaction removes it. Expiry times survive reopening.
//
// Errors: as Upsert, plus ErrInvalidArgument for ttlSeconds above [MaxTTLSeconds].
func (s *Store) UpsertWithTTL(id string, vector []float32, metadata map[string]any, ttlSeconds uint64) error {
	cmeta, err := metadataCString(metadata, "metadata")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cmeta))
	return s.idCall(id, func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status {
		return C.vs_store_upsert_with_ttl(h, cid, floatPtr(vector), C.size_t(len(vector)), cmeta,
			C.uint64_t(ttlSeconds), cerr)
	})
}

// SetTTL makes a live record expire ttlSeconds from now; 0 removes its expiry.
//
// Errors: ErrNotFound (no live record; an expired one counts as gone), ErrInvalidArgument,
// ErrQuotaExceeded, ErrIO, ErrClosed.
func (s *Store) SetTTL(id string, ttlSeconds uint64) error {
	return s.idCall(id, func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status {
		return C.vs_store_set_ttl(h, cid, C.uint64_t(ttlSeconds), cerr)
	})
}

// ExpireTTLRecords deletes every expired record for good and returns how many.
//
// Errors: ErrIO, ErrClosed.
func (s *Store) ExpireTTLRecords() (uint64, error) {
	h, err := s.handle()
	if err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var n C.uint64_t
	var cerr *C.vs_error
	if err := takeError(C.vs_store_expire_ttl_records(h, &n, &cerr), cerr); err != nil {
		return 0, err
	}
	return uint64(n), nil
}
