package vecstore_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

// Every Quantization setting answers queries with the same exact scores (int8 codes only steer the
// graph walk; the candidates are re-ranked with the float32 vectors), and an unknown value is
// refused.
func TestQuantizationSettingsGiveExactScores(t *testing.T) {
	if got := vecstore.DefaultOptions().Quantization; got != vecstore.QuantizationAuto {
		t.Fatalf("default Quantization = %v, want auto", got)
	}
	const n, dim = 3000, 48
	ids := make([]string, n)
	vecs := make([][]float32, n)
	x := uint64(12345)
	for i := range vecs {
		ids[i] = fmt.Sprintf("r%d", i)
		v := make([]float32, dim)
		for j := range v {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			v[j] = float32(x>>40)/float32(1<<24) - 0.5
		}
		vecs[i] = v
	}
	query := vecs[17]
	for _, q := range []vecstore.Quantization{vecstore.QuantizationNone, vecstore.QuantizationInt8, vecstore.QuantizationAuto} {
		opts := vecstore.DefaultOptions()
		opts.Dimension = dim
		opts.Metric = vecstore.Dot
		opts.Quantization = q
		s, err := vecstore.Open(t.TempDir(), &opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UpsertMany(ids, vecs, nil); err != nil {
			t.Fatal(err)
		}
		res, err := s.Query(vecstore.Query{Vector: query, K: 5, EfSearch: 128})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 5 || res[0].ID != "r17" {
			t.Fatalf("%v: results %v, want r17 first", q, res)
		}
		for _, r := range res {
			var i int
			fmt.Sscanf(r.ID, "r%d", &i)
			var dot float32
			for j := range query {
				dot += query[j] * vecs[i][j]
			}
			if math.Abs(float64(dot-r.Score)) > 1e-4 {
				t.Fatalf("%v: score of %s is %v, exact %v", q, r.ID, r.Score, dot)
			}
		}
		s.Close()
	}
	opts := vecstore.DefaultOptions()
	opts.Quantization = 9
	if _, err := vecstore.Open(t.TempDir(), &opts); !errors.Is(err, vecstore.ErrInvalidArgument) {
		t.Fatalf("Quantization 9: %v, want ErrInvalidArgument", err)
	}
}
