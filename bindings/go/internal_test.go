package vecstore

import (
	"fmt"
	"testing"
)

// The library linked in must be the one the header describes.
func TestABIVersionMatchesHeader(t *testing.T) {
	if got := ABIVersion(); got != headerABIVersion {
		t.Fatalf("ABIVersion() = %d, header VS_ABI_VERSION = %d: rebuild target/release/libvecstore.a", got, headerABIVersion)
	}
	if abiError != nil {
		t.Fatalf("abiError set although versions match: %v", abiError)
	}
}

func TestVersionMatchesHeader(t *testing.T) {
	want := fmt.Sprintf("%d.%d.%d", headerVersionMajor, headerVersionMinor, headerVersionPatch)
	if got := Version(); got != want {
		t.Fatalf("Version() = %q, header says %q", got, want)
	}
}
