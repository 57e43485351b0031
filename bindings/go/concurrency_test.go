package vecstore_test

import (
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

func randomVector(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	v[0] += 3 // never the zero vector
	return v
}

// Many goroutines query and write one store at once while another counts.
func TestConcurrentUse(t *testing.T) {
	const (
		dim     = 16
		workers = 16
		rounds  = 40
	)
	s, _ := open(t, withMetric(dim, vecstore.Cosine))
	seed := rand.New(rand.NewSource(1))
	var ids []string
	var vecs [][]float32
	for i := 0; i < 200; i++ {
		ids = append(ids, fmt.Sprintf("seed-%d", i))
		vecs = append(vecs, randomVector(seed, dim))
	}
	if err := s.UpsertMany(ids, vecs, nil); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var counter sync.WaitGroup
	var counts atomic.Int64
	counter.Add(1)
	go func() {
		defer counter.Done()
		last := uint64(0)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := s.Count()
			if err != nil {
				t.Errorf("Count: %v", err)
				return
			}
			if n < last {
				t.Errorf("Count went down from %d to %d", last, n)
			}
			last = n
			counts.Add(1)
		}
	}()

	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(w) + 100))
			for i := 0; i < rounds; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				v := randomVector(r, dim)
				if err := s.Upsert(id, v, map[string]any{"worker": w, "i": i}); err != nil {
					t.Errorf("Upsert: %v", err)
					return
				}
				hits, err := s.Query(vecstore.Query{Vector: v, K: 5})
				if err != nil {
					t.Errorf("Query: %v", err)
					return
				}
				// The record just written is the best match of its own vector (score 1).
				if len(hits) != 5 || hits[0].Score < 0.9999 {
					t.Errorf("Query after Upsert(%s): %+v", id, hits)
					return
				}
				got, err := s.Get(id)
				if err != nil || got.Metadata["worker"] != float64(w) {
					t.Errorf("Get(%s) = %+v, %v", id, got, err)
					return
				}
				if i%10 == 9 {
					if err := s.UpsertMany([]string{id + "-a", id + "-b"},
						[][]float32{randomVector(r, dim), randomVector(r, dim)}, nil); err != nil {
						t.Errorf("UpsertMany: %v", err)
						return
					}
					if _, err := s.Stats(); err != nil {
						t.Errorf("Stats: %v", err)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	counter.Wait()

	want := uint64(200 + workers*rounds + workers*(rounds/10)*2)
	if n, err := s.Count(); err != nil || n != want {
		t.Fatalf("final Count = %d, %v; want %d", n, err, want)
	}
	if counts.Load() == 0 {
		t.Fatal("the counting goroutine never ran")
	}
}

// Close racing with calls in flight: every call either succeeds or returns ErrClosed, nothing
// crashes, and exactly one of several concurrent Closes does the work.
func TestCloseRacesWithCalls(t *testing.T) {
	for round := 0; round < 5; round++ {
		dir := filepath.Join(t.TempDir(), "store")
		s, err := vecstore.Open(dir, withMetric(4, vecstore.Dot))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Upsert("seed", []float32{1, 2, 3, 4}, nil); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var ok, closed atomic.Int64
		start := make(chan struct{})
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				<-start
				for i := 0; ; i++ {
					var err error
					switch i % 5 {
					case 0:
						err = s.Upsert(fmt.Sprintf("w%d-%d", w, i), []float32{1, 1, float32(w), float32(i)}, nil)
					case 1:
						_, err = s.Query(vecstore.Query{Vector: []float32{1, 0, 0, 0}, K: 3})
					case 2:
						_, err = s.Get("seed")
					case 3:
						_, err = s.Count()
					case 4:
						err = s.UpsertMany([]string{"m"}, [][]float32{{1, 2, 3, 4}}, nil)
					}
					if errors.Is(err, vecstore.ErrClosed) {
						closed.Add(1)
						return
					}
					if err != nil {
						t.Errorf("call %d: %v", i%5, err)
						return
					}
					ok.Add(1)
				}
			}(w)
		}
		close(start)
		// Let the calls get going before closing: wait for some successes rather than a fixed time,
		// so that a slow or loaded machine cannot make the test vacuous or flaky.
		for deadline := time.Now().Add(30 * time.Second); ok.Load() < 32 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}

		var closers sync.WaitGroup
		var closeNil atomic.Int64
		for c := 0; c < 4; c++ {
			closers.Add(1)
			go func() {
				defer closers.Done()
				err := s.Close()
				switch {
				case err == nil:
					closeNil.Add(1)
				case !errors.Is(err, vecstore.ErrClosed):
					t.Errorf("Close: %v", err)
				}
			}()
		}
		closers.Wait()
		wg.Wait()
		if closeNil.Load() != 1 {
			t.Fatalf("%d Closes returned nil, want exactly 1", closeNil.Load())
		}
		if ok.Load() == 0 {
			t.Fatal("no call succeeded before Close")
		}
		if closed.Load() != 16 {
			t.Fatalf("%d goroutines saw ErrClosed, want 16", closed.Load())
		}
		// The directory lock was released: the store opens again, with everything written.
		s2, err := vecstore.Open(dir, withMetric(4, vecstore.Dot))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if n, err := s2.Count(); err != nil || n < 1 {
			t.Fatalf("Count after reopen = %d, %v", n, err)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A store dropped without Close is closed by the finalizer, which releases its directory.
func TestFinalizerClosesForgottenStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	func() {
		s, err := vecstore.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Upsert("a", []float32{1, 2}, nil); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		s, err := vecstore.Open(dir, nil)
		if err == nil {
			defer s.Close()
			if n, err := s.Count(); err != nil || n != 1 {
				t.Fatalf("Count = %d, %v; want 1", n, err)
			}
			return
		}
		if !errors.Is(err, vecstore.ErrLocked) {
			t.Fatalf("Open: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the forgotten store was never finalized")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
