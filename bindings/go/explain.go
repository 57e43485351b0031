package vecstore

/*
#include <stdlib.h>
#include "vecstore.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"unsafe"
)

// Estimate is what [Store.EstimateQuery] predicts for a query, without running it. The fields are
// those of the JSON object of vs_store_estimate_query_json (see include/vecstore.h).
type Estimate struct {
	// Valid is false when Query would refuse the query; Errors then says why (every problem, not
	// only the first) and ErrorCodes gives the matching codes, spelled as in batch reports
	// ("dimension_mismatch", "invalid_argument", "filter_syntax").
	Valid      bool     `json:"valid"`
	Errors     []string `json:"errors"`
	ErrorCodes []string `json:"error_codes"`
	// CostEstimate is 1 - exp(-EstimatedDurationMs/10), in [0, 1].
	CostEstimate                  float64 `json:"cost_estimate"`
	EstimatedDistanceCalculations uint64  `json:"estimated_distance_calculations"`
	EstimatedNodesVisited         uint64  `json:"estimated_nodes_visited"`
	// WillOverfetch: the graph search looks past ef candidates because a filter (or deleted records)
	// rejects some of those it meets.
	WillOverfetch       bool     `json:"will_overfetch"`
	Recommendations     []string `json:"recommendations"`
	EstimatedDurationMs float64  `json:"estimated_duration_ms"`
	// Plan is the plan the query will take: "exact_scan", "graph" or "empty"; "" when not Valid.
	Plan                 string  `json:"plan"`
	PlanReason           string  `json:"plan_reason"`
	EstimatedSelectivity float64 `json:"estimated_selectivity"`
	EstimatedMatches     uint64  `json:"estimated_matches"`
	EfSearch             int     `json:"ef_search"`
	// CalibrationMs is the time this call spent measuring the cost model (0 when it was cached).
	CalibrationMs float64 `json:"calibration_ms"`
}

// withCQuery converts q to a vs_query (K 0 means 10, as in Query) and runs fn on it with the
// store's handle under the read lock. The filter and the pinned vector live until fn returns.
func (s *Store) withCQuery(q Query, fn func(h *C.vs_store, cq *C.vs_query) error) error {
	k := q.K
	if k == 0 {
		k = 10
	}
	ck, err := toU32("Query.K", k)
	if err != nil {
		return err
	}
	cef, err := toU32("Query.EfSearch", q.EfSearch)
	if err != nil {
		return err
	}
	cq := C.vs_query_default()
	cq.k = ck
	cq.ef_search = cef
	if q.Filter != "" {
		cf, err := cString("filter", q.Filter)
		if err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(cf))
		cq.filter = cf
	}
	if len(q.Vector) > 0 {
		// &cq is passed to C and holds a Go pointer to the vector: pin it (cgo rules).
		var pin runtime.Pinner
		defer pin.Unpin()
		pin.Pin(&q.Vector[0])
		cq.vector = floatPtr(q.Vector)
		cq.dim = C.size_t(len(q.Vector))
	}
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return fn(h, &cq)
}

// QueryExplain runs q exactly as [Store.Query] does (the same results in the same order with the
// same scores, the same errors) and fills each Result's Explanation with the decoded JSON object of
// vs_results_explanation_json: "raw_score", "distance_metric", "filter_passed", "filter_details"
// (nil without a filter; "matched_conditions" lists the conditions the row satisfies), "graph_stats"
// ("plan": "graph", "exact_scan" or "graph_with_exact_fallback"; "distance_calculations",
// "nodes_visited", ... counted during the search), "rank" (1 = best) and "explanation_text".
// JSON numbers decode as float64.
func (s *Store) QueryExplain(q Query) ([]Result, error) {
	var out []Result
	err := s.withCQuery(q, func(h *C.vs_store, cq *C.vs_query) error {
		var r *C.vs_results
		var cerr *C.vs_error
		if err := takeError(C.vs_store_query_explain(h, cq, &r, &cerr), cerr); err != nil {
			return err
		}
		defer C.vs_results_free(r)
		out = make([]Result, int(C.vs_results_len(r)))
		for i := range out {
			var err error
			if out[i], err = readRow(r, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EstimateQueryJSON is [Store.EstimateQuery] as the JSON text of vs_store_estimate_query_json.
func (s *Store) EstimateQueryJSON(q Query) (string, error) {
	var text string
	err := s.withCQuery(q, func(h *C.vs_store, cq *C.vs_query) error {
		var out *C.char
		var cerr *C.vs_error
		if err := takeError(C.vs_store_estimate_query_json(h, cq, &out, &cerr), cerr); err != nil {
			return err
		}
		defer C.vs_string_free(out)
		text = C.GoString(out)
		return nil
	})
	return text, err
}

// EstimateQuery validates q and estimates its cost without running it. A query that Query would
// refuse (wrong dimension, K above 10000, a bad filter, NaN...) is not an error: the Estimate has
// Valid false and the reasons. The error is for calls that cannot be made (closed store, a filter
// with a NUL byte). The first estimate on a store measures its cost model (a few milliseconds);
// later ones take microseconds. Safe for concurrent use.
func (s *Store) EstimateQuery(q Query) (Estimate, error) {
	text, err := s.EstimateQueryJSON(q)
	if err != nil {
		return Estimate{}, err
	}
	var e Estimate
	if err := json.Unmarshal([]byte(text), &e); err != nil {
		return Estimate{}, &Error{Code: Internal, Message: "estimate is not valid JSON: " + err.Error()}
	}
	return e, nil
}
