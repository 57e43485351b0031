package vecstore

/*
#include <stdlib.h>
#include <string.h>
#include "vecstore.h"
*/
import "C"

import (
	"strconv"
	"unsafe"
)

// BatchOpKind says what a [BatchOp] does.
type BatchOpKind uint32

// The operations of a batch (VS_BATCH_*).
const (
	// OpUpsert inserts or replaces: ID, Vector, Metadata (may be nil), TTLSeconds (0 = never).
	OpUpsert BatchOpKind = C.VS_BATCH_UPSERT
	// OpDelete deletes for good: ID.
	OpDelete BatchOpKind = C.VS_BATCH_DELETE
	// OpSoftDelete soft-deletes: ID.
	OpSoftDelete BatchOpKind = C.VS_BATCH_SOFT_DELETE
	// OpRestore restores a soft-deleted record: ID.
	OpRestore BatchOpKind = C.VS_BATCH_RESTORE
	// OpUpdateMetadata replaces the metadata: ID, Metadata (nil = none).
	OpUpdateMetadata BatchOpKind = C.VS_BATCH_UPDATE_METADATA
	// OpSetTTL sets the TTL: ID, TTLSeconds (0 = remove the expiry).
	OpSetTTL BatchOpKind = C.VS_BATCH_SET_TTL
)

// BatchOp is one operation of [Store.BatchExecute]. Fields an operation does not use are ignored.
type BatchOp struct {
	Op         BatchOpKind
	ID         string
	Vector     []float32
	Metadata   map[string]any
	TTLSeconds uint64
}

// BatchError says why one operation of a batch failed.
type BatchError struct {
	// Index of the operation in the batch.
	Index int
	// Operation and id, such as "soft_delete(doc3)".
	Operation string
	// Code is the status the operation alone would have returned (NotFound, DimensionMismatch...).
	Code Status
	// Message says why.
	Message string
}

// BatchResult is the outcome of a batch.
type BatchResult struct {
	Succeeded  int
	Failed     int
	Errors     []BatchError
	DurationMs float64
}

// BatchExecute applies ops in order under one write lock and one log append (one fsync in
// DurabilitySync). Each operation sees the effect of the earlier ones. An operation that fails on
// its own (unknown id, wrong dimension, bad vector or metadata) is reported in Errors and the
// others are applied; the error return is for a batch refused as a whole, which applies nothing:
// ErrInvalidArgument (an unknown Op, an id with a NUL byte, metadata that cannot be encoded),
// ErrQuotaExceeded (in a namespace), ErrIO, ErrClosed.
func (s *Store) BatchExecute(ops []BatchOp) (BatchResult, error) {
	n := len(ops)
	// Everything the C call reads lives in C memory: the op array may not hold Go pointers.
	var cops *C.vs_batch_op
	var allocs []unsafe.Pointer
	defer func() {
		for _, p := range allocs {
			C.free(p)
		}
	}()
	if n > 0 {
		p := C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.vs_batch_op{})))
		if p == nil {
			return BatchResult{}, &Error{Code: Internal, Message: "out of memory"}
		}
		allocs = append(allocs, p)
		cops = (*C.vs_batch_op)(p)
	}
	arr := unsafe.Slice(cops, n)
	for i, op := range ops {
		where := "ops[" + strconv.Itoa(i) + "]"
		cid, err := cString(where+".ID", op.ID)
		if err != nil {
			return BatchResult{}, err
		}
		allocs = append(allocs, unsafe.Pointer(cid))
		c := &arr[i]
		c.kind = C.vs_batch_op_kind(op.Op)
		c.id = cid
		c.ttl_seconds = C.uint64_t(op.TTLSeconds)
		if op.Op == OpUpsert || op.Op == OpUpdateMetadata {
			cmeta, err := metadataCString(op.Metadata, where+".Metadata")
			if err != nil {
				return BatchResult{}, err
			}
			if cmeta != nil {
				allocs = append(allocs, unsafe.Pointer(cmeta))
			}
			c.metadata_json = cmeta
		}
		if op.Op == OpUpsert && len(op.Vector) > 0 {
			bytes := C.size_t(len(op.Vector)) * C.size_t(unsafe.Sizeof(C.float(0)))
			v := C.malloc(bytes)
			if v == nil {
				return BatchResult{}, &Error{Code: Internal, Message: "out of memory"}
			}
			allocs = append(allocs, v)
			C.memcpy(v, unsafe.Pointer(&op.Vector[0]), bytes)
			c.vector = (*C.float)(v)
			c.dim = C.size_t(len(op.Vector))
		}
	}

	h, err := s.handle()
	if err != nil {
		return BatchResult{}, err
	}
	defer s.mu.RUnlock()
	var r *C.vs_batch_result
	var cerr *C.vs_error
	if err := takeError(C.vs_store_batch_execute(h, cops, C.size_t(n), &r, &cerr), cerr); err != nil {
		return BatchResult{}, err
	}
	defer C.vs_batch_result_free(r)
	res := BatchResult{
		Succeeded:  int(C.vs_batch_result_succeeded(r)),
		Failed:     int(C.vs_batch_result_failed(r)),
		DurationMs: float64(C.vs_batch_result_duration_ms(r)),
	}
	for i := C.size_t(0); i < C.vs_batch_result_error_count(r); i++ {
		res.Errors = append(res.Errors, BatchError{
			Index:     int(C.vs_batch_result_error_index(r, i)),
			Operation: C.GoString(C.vs_batch_result_error_operation(r, i)),
			Code:      Status(C.vs_batch_result_error_code(r, i)),
			Message:   C.GoString(C.vs_batch_result_error_message(r, i)),
		})
	}
	return res, nil
}

// BatchExecuteJSON runs a batch given in the JSON shape of the HTTP API
// (`{"operations":[{"op":"upsert","id":..,"vector":[..],"metadata":{..}},...]}`) and returns the
// result as JSON text (`{"succeeded":..,"failed":..,"errors":[..],"duration_ms":..}`); see
// vs_store_batch_execute_json. Malformed JSON or an unknown op is ErrInvalidArgument and applies
// nothing.
func (s *Store) BatchExecuteJSON(request string) (string, error) {
	creq, err := cString("request", request)
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(creq))
	h, err := s.handle()
	if err != nil {
		return "", err
	}
	defer s.mu.RUnlock()
	var out *C.char
	var cerr *C.vs_error
	if err := takeError(C.vs_store_batch_execute_json(h, creq, &out, &cerr), cerr); err != nil {
		return "", err
	}
	defer C.vs_string_free(out)
	return C.GoString(out), nil
}
