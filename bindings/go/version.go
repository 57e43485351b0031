package vecstore

/*
#include "vecstore.h"
*/
import "C"

import "strconv"

// headerABIVersion is VS_ABI_VERSION from the header this package was compiled against.
const headerABIVersion = uint32(C.VS_ABI_VERSION)

// Version returns the version of the linked library, "MAJOR.MINOR.PATCH" (vs_version).
func Version() string {
	return C.GoString(C.vs_version())
}

// ABIVersion returns the ABI version of the linked library (vs_abi_version). It equals the
// header's VS_ABI_VERSION when the library and include/vecstore.h come from the same build; [Open]
// refuses to run otherwise.
func ABIVersion() uint32 {
	return uint32(C.vs_abi_version())
}

// abiError is non-nil when the linked library does not match the header (a stale
// target/release/libvecstore.a): every Open then fails with it instead of risking memory errors.
var abiError error

func init() {
	if got := ABIVersion(); got != headerABIVersion {
		abiError = &Error{Code: Internal, Message: "the linked vecstore library has ABI version " +
			strconv.FormatUint(uint64(got), 10) + " but include/vecstore.h has " + strconv.FormatUint(uint64(headerABIVersion), 10) +
			": rebuild it with `cargo build --release` at the repository root"}
	}
}

// The header's version, VS_VERSION_MAJOR.MINOR.PATCH (checked against Version in the tests).
const (
	headerVersionMajor = int(C.VS_VERSION_MAJOR)
	headerVersionMinor = int(C.VS_VERSION_MINOR)
	headerVersionPatch = int(C.VS_VERSION_PATCH)
)
