package vecstore

/*
#include "vecstore.h"
*/
import "C"

import (
	"strconv"
)

// Status is a vecstore status code. Its values mirror the C enum vs_status (VS_OK,
// VS_ERR_INVALID_ARGUMENT, ...) and are stable; [Closed] is the only code defined by this package
// alone.
type Status int

// Status codes, one per vs_status value.
const (
	// OK is success (VS_OK). No *Error carries it.
	OK Status = C.VS_OK
	// InvalidArgument (VS_ERR_INVALID_ARGUMENT): a bad value, such as NaN or infinity in a vector,
	// a zero vector in a cosine store, an empty or NUL-containing id, metadata that is not a flat
	// JSON object, k above [MaxK], an out-of-range option, a filter that is not UTF-8.
	InvalidArgument Status = C.VS_ERR_INVALID_ARGUMENT
	// DimensionMismatch (VS_ERR_DIMENSION_MISMATCH): a vector's length differs from the store's
	// dimension, or the store was reopened with another dimension.
	DimensionMismatch Status = C.VS_ERR_DIMENSION_MISMATCH
	// NotFound (VS_ERR_NOT_FOUND): no record with that id.
	NotFound Status = C.VS_ERR_NOT_FOUND
	// AlreadyExists (VS_ERR_ALREADY_EXISTS): something with that id already exists (namespaces,
	// backups).
	AlreadyExists Status = C.VS_ERR_ALREADY_EXISTS
	// FilterSyntax (VS_ERR_FILTER_SYNTAX): a metadata filter does not parse.
	FilterSyntax Status = C.VS_ERR_FILTER_SYNTAX
	// QuotaExceeded (VS_ERR_QUOTA_EXCEEDED): a namespace quota would be exceeded.
	QuotaExceeded Status = C.VS_ERR_QUOTA_EXCEEDED
	// RateLimited (VS_ERR_RATE_LIMITED): a namespace's request rate limit was reached.
	RateLimited Status = C.VS_ERR_RATE_LIMITED
	// NamespaceSuspended (VS_ERR_NAMESPACE_SUSPENDED): the namespace refuses data operations.
	NamespaceSuspended Status = C.VS_ERR_NAMESPACE_SUSPENDED
	// IO (VS_ERR_IO): the operating system refused a file operation.
	IO Status = C.VS_ERR_IO
	// Corrupt (VS_ERR_CORRUPT): a file of the store is damaged or of an unknown format version.
	Corrupt Status = C.VS_ERR_CORRUPT
	// Locked (VS_ERR_LOCKED): the store directory is already open, by this process or another.
	Locked Status = C.VS_ERR_LOCKED
	// Internal (VS_ERR_INTERNAL): a bug inside vecstore (a caught panic); please report it.
	Internal Status = C.VS_ERR_INTERNAL

	// Closed is defined by this package only (the C library has no such code): the [Store] was
	// closed. Its value is negative so that it can never collide with a vs_status.
	Closed Status = -1
)

// String returns the C name of the status, such as "VS_ERR_NOT_FOUND" (from vs_status_name),
// "VS_ERR_CLOSED" for [Closed], and "VS_ERR_UNKNOWN" for a value that is not a status.
func (s Status) String() string {
	if s == Closed {
		return "VS_ERR_CLOSED"
	}
	if s < 0 || int64(s) > int64(^uint32(0)>>1) {
		return "VS_ERR_UNKNOWN"
	}
	return C.GoString(C.vs_status_name(C.int(s)))
}

// Error is the error type of every function of this package: a status code and a message
// (usually the library's own, naming the offending value or file). Errors are returned as *Error;
// test them with errors.Is against the sentinels, or with errors.As to read Code and Message.
type Error struct {
	// Code says what kind of failure this is.
	Code Status
	// Message describes the failure for a person.
	Message string
}

// Error returns "vecstore: <message> (<status name>)".
func (e *Error) Error() string {
	if e.Message == "" {
		return "vecstore: " + e.Code.String()
	}
	return "vecstore: " + e.Message + " (" + e.Code.String() + ")"
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, vecstore.ErrNotFound) holds for every not-found error whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && e != nil && t.Code == e.Code
}

// Sentinel errors, one per status code, for use with errors.Is. The errors this package returns
// are distinct values carrying the library's message; only their Code is compared.
var (
	// ErrInvalidArgument matches errors with Code InvalidArgument.
	ErrInvalidArgument = &Error{Code: InvalidArgument, Message: "invalid argument"}
	// ErrDimensionMismatch matches errors with Code DimensionMismatch.
	ErrDimensionMismatch = &Error{Code: DimensionMismatch, Message: "dimension mismatch"}
	// ErrNotFound matches errors with Code NotFound.
	ErrNotFound = &Error{Code: NotFound, Message: "not found"}
	// ErrAlreadyExists matches errors with Code AlreadyExists.
	ErrAlreadyExists = &Error{Code: AlreadyExists, Message: "already exists"}
	// ErrFilterSyntax matches errors with Code FilterSyntax.
	ErrFilterSyntax = &Error{Code: FilterSyntax, Message: "filter syntax error"}
	// ErrQuotaExceeded matches errors with Code QuotaExceeded.
	ErrQuotaExceeded = &Error{Code: QuotaExceeded, Message: "quota exceeded"}
	// ErrRateLimited matches errors with Code RateLimited.
	ErrRateLimited = &Error{Code: RateLimited, Message: "rate limited"}
	// ErrNamespaceSuspended matches errors with Code NamespaceSuspended.
	ErrNamespaceSuspended = &Error{Code: NamespaceSuspended, Message: "namespace suspended"}
	// ErrIO matches errors with Code IO.
	ErrIO = &Error{Code: IO, Message: "I/O error"}
	// ErrCorrupt matches errors with Code Corrupt.
	ErrCorrupt = &Error{Code: Corrupt, Message: "corrupt data"}
	// ErrLocked matches errors with Code Locked.
	ErrLocked = &Error{Code: Locked, Message: "store is locked (already open)"}
	// ErrInternal matches errors with Code Internal.
	ErrInternal = &Error{Code: Internal, Message: "internal error"}
	// ErrClosed is returned by every method of a [Store] after [Store.Close] (and by a second
	// Close). Its Code is [Closed], which no other error carries.
	ErrClosed = &Error{Code: Closed, Message: "store is closed"}
)

// invalid builds an InvalidArgument error detected on the Go side.
func invalid(msg string) *Error {
	return &Error{Code: InvalidArgument, Message: msg}
}

// takeError converts a status and the vs_error the library wrote (possibly NULL) into a Go error,
// freeing the vs_error. It returns nil for VS_OK.
func takeError(st C.enum_vs_status, e *C.vs_error) error {
	if e != nil {
		defer C.vs_error_free(e)
	}
	if st == C.VS_OK {
		return nil
	}
	if e == nil {
		return &Error{Code: Status(st), Message: "vecstore returned " + Status(st).String() + " (status " + strconv.Itoa(int(st)) + ") without details"}
	}
	return &Error{Code: Status(C.vs_error_code(e)), Message: C.GoString(C.vs_error_message(e))}
}
