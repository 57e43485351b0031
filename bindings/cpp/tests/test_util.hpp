// Shared helpers for the vecstore C++ tests: a fresh temporary directory per test, and a macro that
// checks the vecstore::Error code a statement throws.
#ifndef VECSTORE_TEST_UTIL_HPP
#define VECSTORE_TEST_UTIL_HPP

// vecstore.hpp first: proves the header is self-contained.
#include <vecstore.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

#include <unistd.h>

namespace vstest {

namespace fs = std::filesystem;

/// A unique, freshly created directory under the system temp dir, removed (recursively) at the end.
class TempDir {
 public:
  TempDir() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    const auto name = "vecstore-cpp-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                      std::to_string(rd());
    path_ = fs::temp_directory_path() / name;
    fs::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  /// A subdirectory path (not created: Store::open creates it).
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

/// Base fixture: `dir` is a fresh temporary directory, `store_path` a store directory inside it.
class StoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string store_path = dir.sub("store");
};

}  // namespace vstest

/// Expects `stmt` to throw vecstore::Error with code `expected_code` (a vs_status).
#define EXPECT_VS_ERROR(stmt, expected_code)                                                 \
  do {                                                                                       \
    try {                                                                                    \
      stmt;                                                                                  \
      ADD_FAILURE() << "expected vecstore::Error " << vs_status_name(expected_code)         \
                    << " from: " #stmt;                                                      \
    } catch (const vecstore::Error& e_) {                                                    \
      EXPECT_EQ(e_.code(), (expected_code)) << "what(): " << e_.what() << "\nfrom: " #stmt; \
      EXPECT_NE(std::string(e_.what()).find(vs_status_name(expected_code)), std::string::npos); \
    }                                                                                        \
  } while (0)

#endif  // VECSTORE_TEST_UTIL_HPP
