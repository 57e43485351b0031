package vecstore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

// A damaged frame in the middle of the log is ErrCorrupt and changes nothing; LogRecoverySalvage
// keeps every other record.
func TestDamagedLogIsCorruptThenSalvaged(t *testing.T) {
	dir := t.TempDir()
	opts := vecstore.DefaultOptions()
	opts.Dimension = 4
	s, err := vecstore.Open(dir, &opts)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "vecstore.log")
	starts := make([]int64, 100)
	for i := range starts {
		fi, err := os.Stat(logPath)
		if err != nil {
			t.Fatal(err)
		}
		starts[i] = fi.Size()
		if err := s.Upsert(fmt.Sprintf("r%d", i), []float32{1, float32(i), 0.5, 0.25}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bytes, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	bytes[starts[50]+30] ^= 1
	if err := os.WriteFile(logPath, bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vecstore.Open(dir, &opts); !errors.Is(err, vecstore.ErrCorrupt) {
		t.Fatalf("open of a damaged log: %v, want ErrCorrupt", err)
	}
	after, _ := os.ReadFile(logPath)
	if string(after) != string(bytes) {
		t.Fatal("a refused open changed the log")
	}
	opts.LogRecovery = vecstore.LogRecoverySalvage
	s, err = vecstore.Open(dir, &opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Count(); err != nil || n != 99 {
		t.Fatalf("count after salvage = %d, %v; want 99", n, err)
	}
	if _, err := s.Get("r50"); !errors.Is(err, vecstore.ErrNotFound) {
		t.Fatalf("the damaged record: %v, want ErrNotFound", err)
	}
}
