package vecstore

/*
#include <stdlib.h>
#include "vecstore.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// idCall runs a C function taking (store, id, err) with the read lock held.
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

// SoftDelete hides a live record from every read until [Store.Restore]; it keeps its space until
// compaction ([Store.Compact]), which removes it for good.
//
// Errors: ErrNotFound (no live record with this id), ErrInvalidArgument, ErrIO, ErrClosed.
func (s *Store) SoftDelete(id string) error {
	return s.idCall(id, func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status {
		return C.vs_store_soft_delete(h, cid, cerr)
	})
}

// Restore undoes a soft delete. Restoring a live record is a no-op. After a compaction removed a
// soft-deleted record it cannot be restored.
//
// Errors: ErrNotFound, ErrInvalidArgument, ErrQuotaExceeded (in a namespace), ErrIO, ErrClosed.
func (s *Store) Restore(id string) error {
	return s.idCall(id, func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status {
		return C.vs_store_restore(h, cid, cerr)
	})
}

// ttlSeconds converts a TTL to whole seconds, rounding up (0 stays 0: no expiry).
func ttlSeconds(ttl time.Duration) (C.uint64_t, error) {
	if ttl < 0 {
		return 0, invalid("ttl must not be negative")
	}
	return C.uint64_t((ttl + time.Second - 1) / time.Second), nil
}

// UpsertWithTTL is [Store.Upsert] for a record that expires ttl from now (rounded up to whole
// seconds; 0 = never). An expired record is invisible at once; [Store.ExpireTTLRecords] or the
// maintenance thread deletes it.
//
// Errors: as Upsert, plus ErrInvalidArgument for a negative TTL or one above 100 years.
func (s *Store) UpsertWithTTL(id string, vector []float32, metadata map[string]any, ttl time.Duration) error {
	secs, err := ttlSeconds(ttl)
	if err != nil {
		return err
	}
	cid, err := cString("id", id)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cid))
	cmeta, err := metadataCString(metadata, "metadata")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cmeta))
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(C.vs_store_upsert_with_ttl(h, cid, floatPtr(vector), C.size_t(len(vector)), cmeta, secs, &cerr), cerr)
}

// SetTTL makes a live record expire ttl from now (rounded up to whole seconds); 0 removes its
// expiry.
//
// Errors: ErrNotFound, ErrInvalidArgument, ErrIO, ErrClosed.
func (s *Store) SetTTL(id string, ttl time.Duration) error {
	secs, err := ttlSeconds(ttl)
	if err != nil {
		return err
	}
	return s.idCall(id, func(h *C.vs_store, cid *C.char, cerr **C.vs_error) C.enum_vs_status {
		return C.vs_store_set_ttl(h, cid, secs, cerr)
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
