package vecstore

/*
#include "vecstore.h"
*/
import "C"

import (
	"math"
	"strconv"
)

// Metric is how similarity is measured. It is fixed when a store is created.
type Metric int

// Metrics. Scores are always "higher is more similar".
const (
	// Cosine similarity (VS_METRIC_COSINE, the default). Vectors are stored normalised to unit
	// length and a zero vector is refused. Score: the cosine similarity, in [-1, 1].
	Cosine Metric = C.VS_METRIC_COSINE
	// Euclidean (L2) distance (VS_METRIC_EUCLIDEAN). Score: 1 / (1 + d), d being the true (not
	// squared) distance, in (0, 1].
	Euclidean Metric = C.VS_METRIC_EUCLIDEAN
	// Dot product (VS_METRIC_DOT). Score: the dot product.
	Dot Metric = C.VS_METRIC_DOT
	// DefaultMetric (VS_METRIC_DEFAULT, what DefaultOptions sets) says no metric: reopening keeps the
	// store's own metric, a new store is Cosine. So DefaultOptions reopens any store.
	DefaultMetric Metric = C.VS_METRIC_DEFAULT
)

// String returns "cosine", "euclidean" or "dot" (the names used by [Store.Stats]), "default" for
// DefaultMetric, or "Metric(n)" for another value.
func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case Euclidean:
		return "euclidean"
	case Dot:
		return "dot"
	case DefaultMetric:
		return "default"
	}
	return "Metric(" + strconv.Itoa(int(m)) + ")"
}

// Durability says when a write is acknowledged.
type Durability int

// Durability modes.
const (
	// DurabilityProcess (VS_DURABILITY_PROCESS, the default): a write returns once its log record is
	// handed to the operating system. It survives a crash of the process, not a power loss.
	DurabilityProcess Durability = C.VS_DURABILITY_PROCESS
	// DurabilitySync (VS_DURABILITY_SYNC): a write returns once its log record is fsynced, so it
	// survives a power loss. Much slower per call: batch writes with [Store.UpsertMany].
	DurabilitySync Durability = C.VS_DURABILITY_SYNC
)

// String returns "process" or "sync", or "Durability(n)" for another value.
func (d Durability) String() string {
	switch d {
	case DurabilityProcess:
		return "process"
	case DurabilitySync:
		return "sync"
	}
	return "Durability(" + strconv.Itoa(int(d)) + ")"
}

// Limits of the library, from the header.
const (
	// MaxK is the largest Query.K accepted (VS_MAX_K).
	MaxK = C.VS_MAX_K
	// MaxDimension is the largest vector dimension a store accepts (VS_MAX_DIMENSION).
	MaxDimension = C.VS_MAX_DIMENSION
)

// Options configure [Open]. Start from [DefaultOptions] and change the fields you need: the zero
// value is not the set of defaults (M, EfConstruction and EfSearch must not be 0).
type Options struct {
	// Dimension of the vectors, 1..=MaxDimension; 0 (the default) = taken from the first vector
	// written, or from the store on disk when reopening. Reopening with another non-zero dimension
	// fails with ErrDimensionMismatch.
	Dimension int
	// Metric of the store. DefaultMetric (the default) = the store's own when reopening, Cosine for
	// a new store. Reopening with another explicit metric fails with ErrInvalidArgument.
	Metric Metric
	// M is the HNSW graph degree (default 16, 2..=256).
	M int
	// EfConstruction is the HNSW build-time candidate list size (default 200).
	EfConstruction int
	// EfSearch is the default search-time candidate list size (default 64); a Query may override it.
	EfSearch int
	// BuildThreads is how many threads a bulk insert may use: 1 (the default) = only the caller's
	// thread, 0 = one per core. vecstore starts no thread unless this asks for it.
	BuildThreads int
	// Durability says when a write is acknowledged (default DurabilityProcess).
	Durability Durability
	// CheckpointBytes is the log size past which a write also checkpoints the store (a snapshot,
	// then an empty log, so reopening is fast); 0 (the default) = 16 MiB, otherwise at least 4096.
	CheckpointBytes uint64
	// LogRecovery says what opening does with a damaged log frame that valid frames follow:
	// LogRecoveryTolerateTornTail (the default) fails with ErrCorrupt naming the byte offset and
	// changes nothing; LogRecoverySalvage keeps every valid frame and skips the damage (Stats
	// reports replay_damaged_regions and replay_dropped_bytes). A torn tail is dropped either way.
	LogRecovery LogRecovery
	// Quantization says whether the graph is searched on int8 codes of the vectors (re-ranked with
	// the exact float32 vectors, so scores are exact either way): QuantizationAuto (the default:
	// int8 from dimension 32 up), QuantizationNone or QuantizationInt8. A choice of this open: the
	// codes are recomputed from the vectors when a store opens.
	Quantization Quantization
}

// Quantization chooses int8 codes for the graph search (VS_QUANTIZATION_* in vecstore.h).
type Quantization uint32

const (
	// QuantizationAuto: int8 codes from dimension 32 up, float32 traversal below.
	QuantizationAuto Quantization = C.VS_QUANTIZATION_AUTO
	// QuantizationNone: float32 traversal only.
	QuantizationNone Quantization = C.VS_QUANTIZATION_NONE
	// QuantizationInt8: int8 codes whatever the dimension.
	QuantizationInt8 Quantization = C.VS_QUANTIZATION_INT8
)

// String returns "auto", "none" or "int8", or "Quantization(n)" for another value.
func (q Quantization) String() string {
	switch q {
	case QuantizationAuto:
		return "auto"
	case QuantizationNone:
		return "none"
	case QuantizationInt8:
		return "int8"
	}
	return "Quantization(" + strconv.Itoa(int(q)) + ")"
}

// LogRecovery is a policy for a damaged log (VS_LOG_RECOVERY_* in vecstore.h).
type LogRecovery uint32

const (
	// LogRecoveryTolerateTornTail drops a torn tail and refuses damage in the middle of the log.
	LogRecoveryTolerateTornTail LogRecovery = C.VS_LOG_RECOVERY_TOLERATE_TORN_TAIL
	// LogRecoverySalvage replays every valid frame and skips damaged ones (their writes are lost;
	// the damaged log is kept beside the store as vecstore.log.damaged-<unix seconds>).
	LogRecoverySalvage LogRecovery = C.VS_LOG_RECOVERY_SALVAGE
)

// DefaultOptions returns the library's defaults (from vs_store_options_default): dimension 0 (from
// the first vector) and DefaultMetric (both the store's own when reopening, so these options reopen
// any store; Cosine for a new store), M 16, EfConstruction 200, EfSearch 64, BuildThreads 1,
// DurabilityProcess.
func DefaultOptions() Options {
	c := C.vs_store_options_default()
	return Options{
		Dimension:       int(c.dimension),
		Metric:          Metric(c.metric),
		M:               int(c.hnsw_m),
		EfConstruction:  int(c.ef_construction),
		EfSearch:        int(c.ef_search),
		BuildThreads:    int(c.build_threads),
		Durability:      Durability(c.durability),
		CheckpointBytes: uint64(c.checkpoint_bytes),
		LogRecovery:     LogRecovery(c.log_recovery),
		Quantization:    Quantization(c.quantization),
	}
}

// toC converts the options for vs_store_open. Values that do not fit a uint32 (negative ones
// included) are refused here; the library checks the rest.
func (o *Options) toC() (C.vs_store_options, error) {
	c := C.vs_store_options_default()
	fields := []struct {
		name  string
		value int
		dst   *C.uint32_t
	}{
		{"Dimension", o.Dimension, &c.dimension},
		{"Metric", int(o.Metric), &c.metric},
		{"M", o.M, &c.hnsw_m},
		{"EfConstruction", o.EfConstruction, &c.ef_construction},
		{"EfSearch", o.EfSearch, &c.ef_search},
		{"BuildThreads", o.BuildThreads, &c.build_threads},
		{"Durability", int(o.Durability), &c.durability},
		{"LogRecovery", int(o.LogRecovery), &c.log_recovery},
		{"Quantization", int(o.Quantization), &c.quantization},
	}
	for _, f := range fields {
		v, err := toU32("Options."+f.name, f.value)
		if err != nil {
			return c, err
		}
		*f.dst = v
	}
	c.checkpoint_bytes = C.uint64_t(o.CheckpointBytes)
	return c, nil
}

// toU32 checks that v fits a uint32_t.
func toU32(name string, v int) (C.uint32_t, error) {
	if v < 0 || uint64(v) > math.MaxUint32 {
		return 0, invalid(name + " is " + strconv.Itoa(v) + ", out of range")
	}
	return C.uint32_t(v), nil
}
