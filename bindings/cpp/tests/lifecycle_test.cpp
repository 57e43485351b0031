// Ownership: close, move construction and assignment, closed stores, exception safety.
#include "test_util.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using vecstore::Metric;
using vecstore::Options;
using vecstore::Store;

static_assert(!std::is_copy_constructible_v<Store>, "Store is move-only");
static_assert(!std::is_copy_assignable_v<Store>, "Store is move-only");
static_assert(std::is_nothrow_move_constructible_v<Store>, "moving a Store never throws");
static_assert(std::is_nothrow_move_assignable_v<Store>, "moving a Store never throws");
static_assert(std::is_nothrow_destructible_v<Store>);

namespace {

class LifecycleTest : public vstest::StoreTest {
 protected:
  Options opts2() {
    Options o;
    o.dimension = 2;
    o.metric = Metric::euclidean;
    return o;
  }
};

// Every method but close/is_open/native_handle throws INVALID_ARGUMENT on a store that is not open.
void expect_every_method_throws(Store& s) {
  EXPECT_FALSE(s.is_open());
  EXPECT_FALSE(static_cast<bool>(s));
  EXPECT_EQ(s.native_handle(), nullptr);
  EXPECT_VS_ERROR(s.upsert("a", {1.f, 2.f}), VS_ERR_INVALID_ARGUMENT);
  const float v[2] = {1.f, 2.f};
  EXPECT_VS_ERROR(s.upsert("a", v, 2), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert_many({"a"}, std::vector<float>{1.f, 2.f}, 2), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert_many({"a"}, std::vector<std::vector<float>>{{1.f, 2.f}}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert_many({}, std::vector<std::vector<float>>{}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.get("a"), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.remove("a"), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.count(), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.stats_json(), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.flush(), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.query(vecstore::Query{{1.f, 2.f}, 10, "", 0}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.query({1.f, 2.f}, 3), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.query(v, 2), VS_ERR_INVALID_ARGUMENT);
  s.close();  // closing again is a harmless no-op
  EXPECT_FALSE(s.is_open());
}

TEST(Lifecycle, DefaultConstructedStoreIsClosed) {
  Store s;
  expect_every_method_throws(s);
}

TEST_F(LifecycleTest, ClosedStoreThrows) {
  auto s = Store::open(store_path, opts2());
  s.upsert("a", {1.f, 2.f});
  s.close();
  expect_every_method_throws(s);
  s.close();
}

TEST_F(LifecycleTest, MoveConstructionTransfersOwnership) {
  auto a = Store::open(store_path, opts2());
  a.upsert("x", {1.f, 2.f});
  vs_store* const handle = a.native_handle();

  Store b(std::move(a));
  EXPECT_EQ(b.native_handle(), handle);
  EXPECT_EQ(b.count(), 1u);
  expect_every_method_throws(a);  // NOLINT(bugprone-use-after-move): that is the point

  Store c = std::move(b);
  EXPECT_EQ(c.count(), 1u);
  EXPECT_FALSE(b.is_open());  // NOLINT(bugprone-use-after-move)
  // a and b are destroyed without closing anything; c closes the handle once (ASan checks it).
}

TEST_F(LifecycleTest, MoveAssignmentClosesTheTarget) {
  const std::string other_path = dir.sub("other");
  auto a = Store::open(store_path, opts2());
  auto b = Store::open(other_path, opts2());
  a.upsert("in-a", {1.f, 2.f});
  b.upsert("in-b", {3.f, 4.f});

  b = std::move(a);  // closes the store at other_path, takes a's
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.get("in-a").vector, (std::vector<float>{1.f, 2.f}));
  EXPECT_VS_ERROR(b.get("in-b"), VS_ERR_NOT_FOUND);

  // other_path was closed (its lock released, its data kept).
  auto reopened = Store::open(other_path, opts2());
  EXPECT_EQ(reopened.get("in-b").vector, (std::vector<float>{3.f, 4.f}));
  // store_path is still held by b.
  EXPECT_VS_ERROR(Store::open(store_path, opts2()), VS_ERR_LOCKED);

  // Assigning into a default-constructed store, and a closed store into an open one.
  Store c;
  c = std::move(b);
  EXPECT_EQ(c.count(), 1u);
  c = Store();
  EXPECT_FALSE(c.is_open());
  auto again = Store::open(store_path, opts2());  // the lock was released by the assignment above
  EXPECT_EQ(again.count(), 1u);
}

TEST_F(LifecycleTest, SelfMoveAssignmentIsHarmless) {
  auto a = Store::open(store_path, opts2());
  a.upsert("x", {1.f, 2.f});
  Store& alias = a;
  a = std::move(alias);
  // The state after self-move is valid; with libstdc++'s unique_ptr the store stays open.
  if (a.is_open()) {
    EXPECT_EQ(a.count(), 1u);
  }
}

TEST_F(LifecycleTest, StoresInContainers) {
  std::vector<Store> stores;
  for (int i = 0; i < 4; ++i) {
    stores.push_back(Store::open(dir.sub("s" + std::to_string(i)), opts2()));  // reallocation moves them
    stores.back().upsert("id", {static_cast<float>(i), 0.f});
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(stores[static_cast<size_t>(i)].get("id").vector.at(0), static_cast<float>(i));
  }
  stores.erase(stores.begin());
  EXPECT_EQ(stores.size(), 3u);
  auto reopened = Store::open(dir.sub("s0"), opts2());  // erased => closed
  EXPECT_EQ(reopened.count(), 1u);
}

TEST_F(LifecycleTest, ExceptionUnwindingClosesTheStore) {
  try {
    auto s = Store::open(store_path, opts2());
    s.upsert("a", {1.f, 2.f});
    throw std::runtime_error("user code fails");
  } catch (const std::runtime_error&) {
  }
  auto s = Store::open(store_path, opts2());  // not LOCKED: the destructor ran during unwinding
  EXPECT_EQ(s.count(), 1u);
}

TEST_F(LifecycleTest, ManyErrorsLeakNothing) {
  // Run under AddressSanitizer with leak detection: every vs_error the library hands out is freed.
  auto s = Store::open(store_path, opts2());
  s.upsert("a", {1.f, 2.f});
  int thrown = 0;
  for (int i = 0; i < 200; ++i) {
    try {
      switch (i % 6) {
        case 0: s.get("missing"); break;
        case 1: s.upsert("b", {1.f}); break;
        case 2: s.upsert("b", {1.f, 2.f}, "{bad"); break;
        case 3: s.query({1.f, 2.f}, 0); break;
        case 4: s.remove("missing"); break;
        default: (void)Store::open(store_path, opts2()); break;
      }
    } catch (const vecstore::Error&) {
      ++thrown;
    }
  }
  EXPECT_EQ(thrown, 200);
  EXPECT_EQ(s.count(), 1u);
}

TEST_F(LifecycleTest, ResultsOutliveTheStore) {
  std::vector<vecstore::Result> hits;
  vecstore::Result got;
  {
    auto s = Store::open(store_path, opts2());
    s.upsert("a", {1.f, 2.f}, R"({"k":"v"})");
    hits = s.query({1.f, 2.f}, 1);
    got = s.get("a");
  }
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "a");  // Results own copies: no dangling pointers into freed vs_results
  EXPECT_EQ(hits[0].metadata_json, R"({"k":"v"})");
  EXPECT_EQ(got.vector, (std::vector<float>{1.f, 2.f}));
}

}  // namespace
