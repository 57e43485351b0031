// Leaks one vs_error on purpose (built only with VECSTORE_SANITIZE): the CTest test
// vecstore_sanitizer_detects_leaks passes only when LeakSanitizer reports it, which shows that leak
// detection is on and tracks memory the Rust library allocates.
#include <vecstore.h>

#include <cstdio>

namespace {
// Out of line and with the pointer overwritten, so no stack slot keeps the error reachable.
__attribute__((noinline)) void leak_one_error() {
  vs_error* volatile err = nullptr;
  vs_store_open(nullptr, nullptr, nullptr, const_cast<vs_error**>(&err));
  std::printf("leaking: %s\n", vs_error_message(err));
  err = nullptr;
}
__attribute__((noinline)) void scrub_stack() {
  volatile char buf[8192];
  for (auto& c : buf) c = 0;
}
}  // namespace

int main() {
  leak_one_error();
  scrub_stack();
  return 0;
}
