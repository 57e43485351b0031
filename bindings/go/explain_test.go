package vecstore_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

// explainStore holds 3000 records (above the 2000 where the graph takes over from the exact scan)
// with metadata {"cat": "a"|"b", "n": i % 10}.
func explainStore(t *testing.T) *vecstore.Store {
	t.Helper()
	const n, dim = 3000, 8
	s, _ := open(t, withMetric(dim, vecstore.Cosine))
	ids := make([]string, n)
	vecs := make([][]float32, n)
	metas := make([]map[string]any, n)
	seed := uint64(0x2545F4914F6CDD1D)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", i)
		vecs[i] = make([]float32, dim)
		for d := range vecs[i] {
			seed ^= seed << 13
			seed ^= seed >> 7
			seed ^= seed << 17
			vecs[i][d] = float32(seed%2000001)/1e6 - 1
		}
		cat := "a"
		if i%2 == 1 {
			cat = "b"
		}
		metas[i] = map[string]any{"cat": cat, "n": i % 10}
	}
	if err := s.UpsertMany(ids, vecs, metas); err != nil {
		t.Fatalf("UpsertMany: %v", err)
	}
	return s
}

var explainVector = []float32{0.1, -0.2, 0.3, 0.05, 0, 0.2, -0.1, 0.4}

func TestQueryExplainMatchesQuery(t *testing.T) {
	s := explainStore(t)
	// The plan follows the metadata index's exact match count m: the matching slots are scanned
	// when m * m < 4 * ef * 2M * n (here 4 * 16 * 32 * 3000), the graph is searched otherwise.
	for _, tc := range []struct {
		filter, plan string
		matches      float64 // slots the index lists for an exact scan
	}{
		{"", "graph", 0},
		{"n != 4", "graph", 0},                     // 2700 of 3000 pass
		{"cat = 'a' OR n = 3", "exact_scan", 1800}, // 60%: the index scans its 1800 matches
		{"n = 4", "exact_scan", 300},               // 10%
	} {
		q := vecstore.Query{Vector: explainVector, K: 10, Filter: tc.filter, EfSearch: 16}
		plain, err := s.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := s.QueryExplain(q)
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) != 10 || len(ex) != len(plain) {
			t.Fatalf("%q: %d plain results, %d explained", tc.filter, len(plain), len(ex))
		}
		for i := range ex {
			p, e := plain[i], ex[i]
			if p.ID != e.ID || math.Float32bits(p.Score) != math.Float32bits(e.Score) {
				t.Fatalf("%q row %d: query %s %v, explain %s %v", tc.filter, i, p.ID, p.Score, e.ID, e.Score)
			}
			if p.Explanation != nil {
				t.Fatalf("plain query result has an explanation")
			}
			x := e.Explanation
			if x["rank"] != float64(i+1) || x["distance_metric"] != "Cosine" || x["filter_passed"] != true {
				t.Fatalf("%q row %d: %v", tc.filter, i, x)
			}
			if math.Abs(x["raw_score"].(float64)-float64(e.Score)) > 1e-6 {
				t.Fatalf("raw_score %v, score %v", x["raw_score"], e.Score)
			}
			if !strings.HasPrefix(x["explanation_text"].(string), fmt.Sprintf("Ranked #%d with score", i+1)) {
				t.Fatalf("text %q", x["explanation_text"])
			}
			gs := x["graph_stats"].(map[string]any)
			if gs["plan"] != tc.plan {
				t.Fatalf("%q: plan %v, want %s", tc.filter, gs["plan"], tc.plan)
			}
			if tc.plan == "graph" && (gs["nodes_visited"].(float64) <= 0 || gs["distance_calculations"].(float64) <= gs["nodes_visited"].(float64)) {
				t.Fatalf("graph stats %v", gs)
			}
			if tc.plan == "exact_scan" && (gs["nodes_visited"] != 0.0 || gs["distance_calculations"] != tc.matches) {
				t.Fatalf("exact scan stats %v", gs)
			}
			fd, _ := x["filter_details"].(map[string]any)
			switch tc.filter {
			case "":
				if x["filter_details"] != nil {
					t.Fatalf("filter_details %v without a filter", x["filter_details"])
				}
			case "n != 4":
				if e.Metadata["n"] == 4.0 || fd["passed"] != true || fd["filter_expr"] != "n != 4" {
					t.Fatalf("metadata %v, details %v", e.Metadata, fd)
				}
			case "n = 4":
				if e.Metadata["n"] != 4.0 || fmt.Sprint(fd["matched_conditions"]) != "[n = 4]" {
					t.Fatalf("metadata %v, details %v", e.Metadata, fd)
				}
			default:
				isA, is3 := e.Metadata["cat"] == "a", e.Metadata["n"] == 3.0
				want := []string{}
				if isA {
					want = append(want, "cat = 'a'")
				}
				if is3 {
					want = append(want, "n = 3")
				}
				if len(want) == 0 || fmt.Sprint(fd["matched_conditions"]) != fmt.Sprint(want) {
					t.Fatalf("metadata %v: matched %v, want %v", e.Metadata, fd["matched_conditions"], want)
				}
				if fd["filter_expr"] != "cat = 'a' OR n = 3" || fd["passed"] != true {
					t.Fatalf("details %v", fd)
				}
			}
		}
	}
	_, err := s.QueryExplain(vecstore.Query{Vector: explainVector[:7]})
	wantErr(t, err, vecstore.ErrDimensionMismatch)
	_, err = s.QueryExplain(vecstore.Query{Vector: explainVector, Filter: "cat ="})
	wantErr(t, err, vecstore.ErrFilterSyntax)
}

func TestEstimateQuery(t *testing.T) {
	s := explainStore(t)
	nan := append([]float32(nil), explainVector...)
	nan[2] = float32(math.NaN())
	for _, tc := range []struct {
		q          vecstore.Query
		code, text string
	}{
		{vecstore.Query{Vector: explainVector[:7]}, "dimension_mismatch", "dimension"},
		{vecstore.Query{Vector: explainVector, K: 10001}, "invalid_argument", "k must be"},
		{vecstore.Query{Vector: explainVector, Filter: "n >"}, "filter_syntax", "position"},
		{vecstore.Query{Vector: nan}, "invalid_argument", "non-finite"},
		{vecstore.Query{Vector: explainVector, EfSearch: 100001}, "invalid_argument", "ef_search"},
	} {
		e, err := s.EstimateQuery(tc.q)
		if err != nil {
			t.Fatalf("%s: EstimateQuery failed: %v", tc.code, err)
		}
		if e.Valid || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != tc.code || !strings.Contains(e.Errors[0], tc.text) || e.Plan != "" {
			t.Fatalf("want %s (%q): %+v", tc.code, tc.text, e)
		}
	}
	for _, filter := range []string{"", "n != 4", "cat = 'a' OR n = 3", "n = 4"} {
		q := vecstore.Query{Vector: explainVector, K: 10, Filter: filter, EfSearch: 16}
		e, err := s.EstimateQuery(q)
		if err != nil || !e.Valid || len(e.Errors) != 0 {
			t.Fatalf("%q: %+v, %v", filter, e, err)
		}
		ex, err := s.QueryExplain(q)
		if err != nil {
			t.Fatal(err)
		}
		gs := ex[0].Explanation["graph_stats"].(map[string]any)
		if e.Plan != gs["plan"] {
			t.Fatalf("%q: estimate plan %q, explain plan %v", filter, e.Plan, gs["plan"])
		}
		measured := gs["distance_calculations"].(float64)
		if est := float64(e.EstimatedDistanceCalculations); est < measured/3 || est > measured*3 {
			t.Fatalf("%q: estimated %v distances, measured %v", filter, est, measured)
		}
		if e.CostEstimate <= 0 || e.CostEstimate > 1 || e.EstimatedDurationMs <= 0 || e.EfSearch != 16 {
			t.Fatalf("%q: %+v", filter, e)
		}
		if e.WillOverfetch != (filter == "n != 4") { // only the filtered graph search over-fetches
			t.Fatalf("%q: will_overfetch %v", filter, e.WillOverfetch)
		}
	}
	text, err := s.EstimateQueryJSON(vecstore.Query{Vector: explainVector})
	if err != nil || !strings.HasPrefix(text, `{"valid":true`) {
		t.Fatalf("%q, %v", text, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.EstimateQuery(vecstore.Query{Vector: explainVector})
	wantErr(t, err, vecstore.ErrClosed)
	_, err = s.QueryExplain(vecstore.Query{Vector: explainVector})
	wantErr(t, err, vecstore.ErrClosed)
}
