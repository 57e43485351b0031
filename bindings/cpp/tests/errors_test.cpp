// Every error reachable through the wrapper today, checked by vecstore::Error::code().
#include "test_util.hpp"

#include <fstream>
#include <limits>
#include <string>
#include <vector>

using vecstore::Error;
using vecstore::Metric;
using vecstore::Options;
using vecstore::Query;
using vecstore::Store;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

class ErrorsTest : public vstest::StoreTest {
 protected:
  Store open3(Metric m = Metric::cosine) {
    Options o;
    o.dimension = 3;
    o.metric = m;
    return Store::open(store_path, o);
  }
};

TEST(ErrorType, IsARuntimeErrorWithACode) {
  const Error e(VS_ERR_NOT_FOUND, "no such thing");
  EXPECT_EQ(e.code(), VS_ERR_NOT_FOUND);
  EXPECT_STREQ(e.status_name(), "VS_ERR_NOT_FOUND");
  EXPECT_STREQ(e.what(), "VS_ERR_NOT_FOUND: no such thing");
  const std::runtime_error& base = e;  // catchable as std::runtime_error / std::exception
  EXPECT_STREQ(base.what(), e.what());
  const Error copy = e;
  EXPECT_EQ(copy.code(), e.code());
}

TEST_F(ErrorsTest, MessagesComeFromTheLibrary) {
  auto s = open3();
  try {
    s.get("missing-id");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("VS_ERR_NOT_FOUND: ", 0), 0u) << what;
    EXPECT_NE(what.find("missing-id"), std::string::npos) << what;
  }
}

TEST_F(ErrorsTest, InvalidArgumentNaNAndInfinity) {
  auto s = open3();
  EXPECT_VS_ERROR(s.upsert("a", {kNaN, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert("a", {1.f, kInf, 0.f}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert_many({"a", "b"}, std::vector<float>{1.f, 0.f, 0.f, 0.f, kNaN, 0.f}, 3),
                  VS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s.count(), 0u) << "upsert_many is all or nothing";
  s.upsert("ok", {1.f, 0.f, 0.f});
  EXPECT_VS_ERROR(s.query({kNaN, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.query({-kInf, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s.count(), 1u);
}

TEST_F(ErrorsTest, InvalidArgumentZeroVectorInCosineStore) {
  auto s = open3(Metric::cosine);
  EXPECT_VS_ERROR(s.upsert("zero", {0.f, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);
  s.upsert("a", {1.f, 0.f, 0.f});
  EXPECT_VS_ERROR(s.query({0.f, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);
}

TEST_F(ErrorsTest, InvalidArgumentBadMetadataJson) {
  auto s = open3();
  EXPECT_VS_ERROR(s.upsert("a", {1.f, 0.f, 0.f}, "{not json"), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert("a", {1.f, 0.f, 0.f}, "[1,2,3]"), VS_ERR_INVALID_ARGUMENT);  // not an object
  EXPECT_VS_ERROR(s.upsert("a", {1.f, 0.f, 0.f}, "42"), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert_many({"a", "b"}, std::vector<float>{1.f, 0.f, 0.f, 0.f, 1.f, 0.f}, 3, {"{}", "{oops"}),
                  VS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s.count(), 0u);
}

TEST_F(ErrorsTest, InvalidArgumentK) {
  auto s = open3();
  s.upsert("a", {1.f, 0.f, 0.f});
  EXPECT_VS_ERROR(s.query(Query{{1.f, 0.f, 0.f}, 0, "", 0}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.query({1.f, 0.f, 0.f}, VS_MAX_K + 1), VS_ERR_INVALID_ARGUMENT);
}

TEST_F(ErrorsTest, FilterSyntaxAndBadUtf8) {
  auto s = open3();
  s.upsert("a", {1.f, 0.f, 0.f}, R"({"color":"red"})");
  s.upsert("b", {0.f, 1.f, 0.f}, R"({"color":"blue"})");
  Query q{{1.f, 0.f, 0.f}, 5, R"(color = "blue")"};
  const auto res = s.query(q);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].id, "b");
  EXPECT_VS_ERROR(s.query({1.f, 0.f, 0.f}, 5, "x"), VS_ERR_FILTER_SYNTAX);
  EXPECT_VS_ERROR(s.query({1.f, 0.f, 0.f}, 5, "color = \xff"), VS_ERR_INVALID_ARGUMENT);
  q.filter.clear();
  EXPECT_EQ(s.query(q).size(), 2u);
}

TEST_F(ErrorsTest, InvalidArgumentNulInStrings) {
  auto s = open3();
  const std::string bad_id("a\0b", 3);
  EXPECT_VS_ERROR(s.upsert(bad_id, {1.f, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.get(bad_id), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.remove(bad_id), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert_many({"ok", bad_id}, std::vector<float>{1.f, 0.f, 0.f, 0.f, 1.f, 0.f}, 3),
                  VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert("a", {1.f, 0.f, 0.f}, std::string("{}\0x", 4)), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(
      s.upsert_many({"a"}, std::vector<float>{1.f, 0.f, 0.f}, 3, {std::string("{\"k\":1}\0", 8)}),
      VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.query({1.f, 0.f, 0.f}, 1, std::string_view("\0", 1)), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(Store::open(std::string("x\0y", 3)), VS_ERR_INVALID_ARGUMENT);
  // Nothing was written, in particular not a truncated "a".
  EXPECT_EQ(s.count(), 0u);
  EXPECT_VS_ERROR(s.get("a"), VS_ERR_NOT_FOUND);
}

TEST_F(ErrorsTest, InvalidArgumentBadIds) {
  auto s = open3();
  EXPECT_VS_ERROR(s.upsert("", {1.f, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert(std::string(4097, 'x'), {1.f, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);
  s.upsert(std::string(4096, 'x'), {1.f, 0.f, 0.f});
  EXPECT_VS_ERROR(s.upsert("\xff\xfe", {1.f, 0.f, 0.f}), VS_ERR_INVALID_ARGUMENT);  // not UTF-8
  EXPECT_EQ(s.count(), 1u);
}

TEST_F(ErrorsTest, InvalidArgumentBadOptions) {
  Options o;
  o.hnsw_m = 1;
  EXPECT_VS_ERROR(Store::open(store_path, o), VS_ERR_INVALID_ARGUMENT);
  o = Options{};
  o.metric = static_cast<Metric>(99);
  EXPECT_VS_ERROR(Store::open(store_path, o), VS_ERR_INVALID_ARGUMENT);
  o = Options{};
  o.durability = static_cast<vecstore::Durability>(7);
  EXPECT_VS_ERROR(Store::open(store_path, o), VS_ERR_INVALID_ARGUMENT);
  o = Options{};
  o.dimension = VS_MAX_DIMENSION + 1;
  EXPECT_VS_ERROR(Store::open(store_path, o), VS_ERR_INVALID_ARGUMENT);
}

TEST_F(ErrorsTest, InvalidArgumentUpsertManySizes) {
  auto s = open3();
  // flat size != ids * dim
  EXPECT_VS_ERROR(s.upsert_many({"a", "b"}, std::vector<float>{1.f, 0.f, 0.f}, 3), VS_ERR_INVALID_ARGUMENT);
  // metadata neither empty nor one per id
  EXPECT_VS_ERROR(s.upsert_many({"a", "b"}, std::vector<float>(6, 1.f), 3, {"{}"}), VS_ERR_INVALID_ARGUMENT);
  // nested: row count differs from id count
  EXPECT_VS_ERROR(s.upsert_many({"a"}, std::vector<std::vector<float>>{{1.f, 0.f, 0.f}, {0.f, 1.f, 0.f}}),
                  VS_ERR_INVALID_ARGUMENT);
  // dim 0 with records
  EXPECT_VS_ERROR(s.upsert_many({"a"}, std::vector<float>{}, 0), VS_ERR_INVALID_ARGUMENT);
  // overflow of ids.size() * dim
  EXPECT_VS_ERROR(s.upsert_many({"a", "b"}, std::vector<float>{}, std::numeric_limits<size_t>::max()),
                  VS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s.count(), 0u);
}

TEST_F(ErrorsTest, DimensionMismatch) {
  auto s = open3();
  EXPECT_VS_ERROR(s.upsert("a", {1.f, 0.f}), VS_ERR_DIMENSION_MISMATCH);
  EXPECT_VS_ERROR(s.upsert_many({"a", "b"}, std::vector<float>{1.f, 0.f, 0.f, 1.f}, 2), VS_ERR_DIMENSION_MISMATCH);
  // Ragged nested rows.
  EXPECT_VS_ERROR(s.upsert_many({"a", "b"}, std::vector<std::vector<float>>{{1.f, 0.f, 0.f}, {1.f, 0.f}}),
                  VS_ERR_DIMENSION_MISMATCH);
  s.upsert("a", {1.f, 0.f, 0.f});
  EXPECT_VS_ERROR(s.query({1.f, 0.f}), VS_ERR_DIMENSION_MISMATCH);
  EXPECT_EQ(s.count(), 1u);
  s.close();

  // Reopening with another dimension.
  Options o;
  o.dimension = 4;
  EXPECT_VS_ERROR(Store::open(store_path, o), VS_ERR_DIMENSION_MISMATCH);
}

TEST_F(ErrorsTest, InvalidArgumentEmptyVector) {
  // An empty vector is refused as INVALID_ARGUMENT ("vector is empty"), not DIMENSION_MISMATCH,
  // even when the store's dimension is fixed.
  auto s = open3();
  EXPECT_VS_ERROR(s.upsert("a", std::vector<float>{}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.upsert("a", nullptr, 0), VS_ERR_INVALID_ARGUMENT);
  s.upsert("b", {1.f, 0.f, 0.f});
  EXPECT_VS_ERROR(s.query(Query{}), VS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s.count(), 1u);
}

TEST_F(ErrorsTest, ReopenWithAnotherMetricIsInvalid) {
  open3(Metric::dot).close();
  Options o;
  o.metric = Metric::euclidean;
  EXPECT_VS_ERROR(Store::open(store_path, o), VS_ERR_INVALID_ARGUMENT);
  o.metric = Metric::cosine;
  EXPECT_VS_ERROR(Store::open(store_path, o), VS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(Store::open(store_path, Options{}).count(), 0u);  // default_metric: the store's own
  o.metric = Metric::dot;
  EXPECT_EQ(Store::open(store_path, o).count(), 0u);
}

TEST_F(ErrorsTest, NotFound) {
  auto s = open3();
  EXPECT_VS_ERROR(s.get("nope"), VS_ERR_NOT_FOUND);
  EXPECT_VS_ERROR(s.remove("nope"), VS_ERR_NOT_FOUND);
  s.upsert("a", {1.f, 0.f, 0.f});
  s.remove("a");
  EXPECT_VS_ERROR(s.remove("a"), VS_ERR_NOT_FOUND);
  EXPECT_EQ(s.count(), 0u);
}

TEST_F(ErrorsTest, LockedOnSecondOpen) {
  auto first = open3();
  EXPECT_VS_ERROR(Store::open(store_path), VS_ERR_LOCKED);
  EXPECT_VS_ERROR(open3(), VS_ERR_LOCKED);
  first.upsert("a", {1.f, 0.f, 0.f});  // the first handle is unaffected
  first.close();
  auto second = Store::open(store_path);  // the lock is released by close
  EXPECT_EQ(second.count(), 1u);
}

TEST_F(ErrorsTest, CorruptMetaFile) {
  {
    auto s = open3();
    s.upsert("a", {1.f, 0.f, 0.f});
  }
  const auto meta = dir.path() / "store" / "vecstore.meta.json";
  ASSERT_TRUE(vstest::fs::exists(meta)) << "the store layout changed: no " << meta;
  {
    std::ofstream out(meta, std::ios::trunc | std::ios::binary);
    out << "this is not json {{{";
  }
  try {
    Store::open(store_path);
    FAIL() << "expected VS_ERR_CORRUPT";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), VS_ERR_CORRUPT) << e.what();
    EXPECT_NE(std::string(e.what()).find("vecstore.meta.json"), std::string::npos) << "names the file: " << e.what();
  }
}

TEST_F(ErrorsTest, IoErrorWhenThePathIsAFile) {
  const std::string file = dir.sub("plain-file");
  { std::ofstream(file) << "x"; }
  try {
    Store::open(file);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), VS_ERR_IO) << e.what();
  }
}

}  // namespace
