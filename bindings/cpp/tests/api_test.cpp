// The happy paths of every vecstore::Store method, the free functions and the option defaults.
#include "test_util.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

using vecstore::Metric;
using vecstore::Options;
using vecstore::Query;
using vecstore::Result;
using vecstore::Span;
using vecstore::Store;

namespace {

Options dim_opts(uint32_t dim, Metric m = Metric::cosine) {
  Options o;
  o.dimension = dim;
  o.metric = m;
  return o;
}

class ApiTest : public vstest::StoreTest {};

TEST(Version, MatchesHeader) {
  const std::string expected = std::to_string(VS_VERSION_MAJOR) + "." + std::to_string(VS_VERSION_MINOR) + "." +
                               std::to_string(VS_VERSION_PATCH);
  EXPECT_EQ(vecstore::version(), expected);
  EXPECT_EQ(vecstore::abi_version(), static_cast<uint32_t>(VS_ABI_VERSION));
}

TEST(Defaults, OptionsMatchTheCLibrary) {
  const vs_store_options c = vs_store_options_default();
  const Options o;
  EXPECT_EQ(o.dimension, c.dimension);
  EXPECT_EQ(static_cast<vs_metric>(o.metric), c.metric);
  EXPECT_EQ(o.hnsw_m, c.hnsw_m);
  EXPECT_EQ(o.ef_construction, c.ef_construction);
  EXPECT_EQ(o.ef_search, c.ef_search);
  EXPECT_EQ(static_cast<vs_durability>(o.durability), c.durability);
  EXPECT_EQ(o.build_threads, c.build_threads);
  EXPECT_EQ(o.checkpoint_bytes, c.checkpoint_bytes);
  EXPECT_EQ(static_cast<vs_quantization>(o.quantization), c.quantization);

  const vs_store_options converted = o.to_c();
  EXPECT_EQ(converted.struct_size, c.struct_size);
  // Every byte of every field (the tail padding after log_recovery holds no value: its bytes are
  // whatever the stack held, and differed once VS_METRIC_DEFAULT changed the code around them).
  const std::size_t fields_end = offsetof(vs_store_options, log_recovery) + sizeof c.log_recovery;
  EXPECT_EQ(0, std::memcmp(&converted, &c, fields_end));
}

TEST(Defaults, QueryMatchesTheCLibrary) {
  const vs_query c = vs_query_default();
  const Query q;
  EXPECT_EQ(q.k, c.k);
  EXPECT_EQ(q.ef_search, c.ef_search);
  EXPECT_TRUE(q.filter.empty());
  EXPECT_EQ(c.filter, nullptr);
}

TEST(Defaults, EnumValuesMatchTheCConstants) {
  EXPECT_EQ(static_cast<uint32_t>(Metric::cosine), static_cast<uint32_t>(VS_METRIC_COSINE));
  EXPECT_EQ(static_cast<uint32_t>(Metric::euclidean), static_cast<uint32_t>(VS_METRIC_EUCLIDEAN));
  EXPECT_EQ(static_cast<uint32_t>(Metric::dot), static_cast<uint32_t>(VS_METRIC_DOT));
  EXPECT_EQ(static_cast<uint32_t>(Metric::default_metric), static_cast<uint32_t>(VS_METRIC_DEFAULT));
  EXPECT_EQ(static_cast<uint32_t>(vecstore::Durability::process), static_cast<uint32_t>(VS_DURABILITY_PROCESS));
  EXPECT_EQ(static_cast<uint32_t>(vecstore::Durability::sync), static_cast<uint32_t>(VS_DURABILITY_SYNC));
  EXPECT_EQ(static_cast<uint32_t>(vecstore::Quantization::automatic), static_cast<uint32_t>(VS_QUANTIZATION_AUTO));
  EXPECT_EQ(static_cast<uint32_t>(vecstore::Quantization::none), static_cast<uint32_t>(VS_QUANTIZATION_NONE));
  EXPECT_EQ(static_cast<uint32_t>(vecstore::Quantization::int8), static_cast<uint32_t>(VS_QUANTIZATION_INT8));
}

// Options{} reopens a store of any metric (with another ef_search); an explicit other metric is
// refused; a new store opened with Options{} is cosine.
TEST_F(ApiTest, DefaultOptionsReopenAnyStore) {
  const Metric metrics[] = {Metric::cosine, Metric::euclidean, Metric::dot};
  const char* names[] = {"\"metric\":\"cosine\"", "\"metric\":\"euclidean\"", "\"metric\":\"dot\""};
  for (int m = 0; m < 3; m++) {
    const std::string path = dir.sub("m" + std::to_string(m));
    {
      auto s = Store::open(path, dim_opts(2, metrics[m]));
      const float v[] = {3.0f, 4.0f};
      s.upsert("a", Span(v, 2));
    }
    Options o;
    o.ef_search = 99;
    {
      auto s = Store::open(path, o);
      EXPECT_EQ(s.count(), 1u);
      EXPECT_NE(s.stats_json().find(names[m]), std::string::npos) << s.stats_json();
    }
    Options other;
    other.metric = metrics[(m + 1) % 3];
    try {
      Store::open(path, other);
      ADD_FAILURE() << "metric " << m << " store opened with another metric";
    } catch (const vecstore::Error& e) {
      EXPECT_EQ(e.code(), VS_ERR_INVALID_ARGUMENT);
    }
  }
  auto s = Store::open(dir.sub("new"), Options{});
  const float v[] = {3.0f, 4.0f};
  s.upsert("a", Span(v, 2));
  EXPECT_NE(s.stats_json().find(names[0]), std::string::npos) << s.stats_json();
}

TEST_F(ApiTest, UpsertGetCountRemove) {
  auto s = Store::open(store_path, dim_opts(3, Metric::euclidean));
  EXPECT_TRUE(s.is_open());
  EXPECT_TRUE(static_cast<bool>(s));
  EXPECT_NE(s.native_handle(), nullptr);
  EXPECT_EQ(s.count(), 0u);

  s.upsert("a", {1.f, 2.f, 3.f}, R"({"color":"red","n":1})");
  s.upsert("b", std::vector<float>{4.f, 5.f, 6.f});
  EXPECT_EQ(s.count(), 2u);

  Result a = s.get("a");
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.score, 0.f);
  EXPECT_EQ(a.vector, (std::vector<float>{1.f, 2.f, 3.f}));
  EXPECT_NE(a.metadata_json.find(R"("color":"red")"), std::string::npos) << a.metadata_json;
  EXPECT_NE(a.metadata_json.find(R"("n":1)"), std::string::npos) << a.metadata_json;

  Result b = s.get(std::string_view("b"));
  EXPECT_EQ(b.metadata_json, "{}");
  EXPECT_EQ(b.vector, (std::vector<float>{4.f, 5.f, 6.f}));

  // Replacing keeps the count and changes vector and metadata.
  s.upsert("a", {7.f, 8.f, 9.f});
  EXPECT_EQ(s.count(), 2u);
  a = s.get("a");
  EXPECT_EQ(a.vector, (std::vector<float>{7.f, 8.f, 9.f}));
  EXPECT_EQ(a.metadata_json, "{}");

  s.remove("a");
  EXPECT_EQ(s.count(), 1u);
  EXPECT_VS_ERROR(s.get("a"), VS_ERR_NOT_FOUND);
  s.flush();
}

TEST_F(ApiTest, UpsertAcceptsEveryKindOfFloatRange) {
  auto s = Store::open(store_path, dim_opts(2, Metric::dot));
  const std::vector<float> vec{1.f, 2.f};
  const std::array<float, 2> arr{3.f, 4.f};
  const float carr[2] = {5.f, 6.f};
  const float* ptr = carr;
  s.upsert("vector", vec);
  s.upsert("array", arr);
  s.upsert("c-array", carr);
  s.upsert("pointer", ptr, 2);
  s.upsert("span", Span(ptr, 2), "");
  s.upsert("braced", {7.f, 8.f});
  s.upsert(std::string("string-id"), {9, 10});
  EXPECT_EQ(s.count(), 7u);
  EXPECT_EQ(s.get("array").vector, (std::vector<float>{3.f, 4.f}));
  EXPECT_EQ(s.get("pointer").vector, (std::vector<float>{5.f, 6.f}));
  EXPECT_EQ(s.get("string-id").vector, (std::vector<float>{9.f, 10.f}));
}

TEST_F(ApiTest, DimensionComesFromTheFirstVector) {
  auto s = Store::open(store_path);  // dimension 0
  s.upsert("a", {1.f, 0.f, 0.f, 0.f});
  const std::string stats = s.stats_json();
  EXPECT_NE(stats.find(R"("dimension":4)"), std::string::npos) << stats;
  EXPECT_VS_ERROR(s.upsert("b", {1.f, 0.f}), VS_ERR_DIMENSION_MISMATCH);
}

TEST_F(ApiTest, StatsJson) {
  auto s = Store::open(store_path, dim_opts(2, Metric::dot));
  s.upsert("a", {1.f, 2.f});
  s.upsert("b", {3.f, 4.f});
  const std::string stats = s.stats_json();
  EXPECT_EQ(stats.front(), '{');
  EXPECT_EQ(stats.back(), '}');
  EXPECT_NE(stats.find(R"("count":2)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("dimension":2)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("metric":"dot")"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("log_bytes":)"), std::string::npos) << stats;
}

TEST_F(ApiTest, CosineScoresAndNormalisedVectors) {
  auto s = Store::open(store_path, dim_opts(2, Metric::cosine));
  s.upsert("same", {2.f, 0.f});
  s.upsert("orthogonal", {0.f, 5.f});
  s.upsert("opposite", {-3.f, 0.f});
  s.upsert("diagonal", {1.f, 1.f});

  const auto hits = s.query(Query{{1.f, 0.f}, 4, "", 0});
  ASSERT_EQ(hits.size(), 4u);
  EXPECT_EQ(hits[0].id, "same");
  EXPECT_NEAR(hits[0].score, 1.f, 1e-5);
  EXPECT_EQ(hits[1].id, "diagonal");
  EXPECT_NEAR(hits[1].score, std::sqrt(0.5f), 1e-5);
  EXPECT_EQ(hits[2].id, "orthogonal");
  EXPECT_NEAR(hits[2].score, 0.f, 1e-5);
  EXPECT_EQ(hits[3].id, "opposite");
  EXPECT_NEAR(hits[3].score, -1.f, 1e-5);
  for (const auto& h : hits) {
    EXPECT_TRUE(h.vector.empty()) << "query results carry no vectors";
    EXPECT_EQ(h.metadata_json, "{}");
  }

  // get returns the stored, unit-length vector.
  const auto v = s.get("diagonal").vector;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NEAR(v[0], std::sqrt(0.5f), 1e-6);
  EXPECT_NEAR(v[1], std::sqrt(0.5f), 1e-6);
  const auto w = s.get("orthogonal").vector;
  EXPECT_NEAR(w[1], 1.f, 1e-6);
}

TEST_F(ApiTest, EuclideanScores) {
  auto s = Store::open(store_path, dim_opts(2, Metric::euclidean));
  s.upsert("origin", {0.f, 0.f});
  s.upsert("far", {3.f, 4.f});   // distance 5 from the origin
  s.upsert("near", {0.f, 1.f});  // distance 1
  const auto hits = s.query({0.f, 0.f}, 3);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].id, "origin");
  EXPECT_NEAR(hits[0].score, 1.f, 1e-6);
  EXPECT_EQ(hits[1].id, "near");
  EXPECT_NEAR(hits[1].score, 0.5f, 1e-6);        // 1 / (1 + 1)
  EXPECT_EQ(hits[2].id, "far");
  EXPECT_NEAR(hits[2].score, 1.f / 6.f, 1e-6);   // 1 / (1 + 5): the true, not squared, distance
}

TEST_F(ApiTest, DotScores) {
  auto s = Store::open(store_path, dim_opts(2, Metric::dot));
  s.upsert("a", {1.f, 2.f});
  s.upsert("b", {3.f, 4.f});
  s.upsert("c", {-1.f, 0.f});
  const std::vector<float> q{3.f, 4.f};
  const auto hits = s.query(q.data(), q.size(), 3);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].id, "b");
  EXPECT_FLOAT_EQ(hits[0].score, 25.f);
  EXPECT_EQ(hits[1].id, "a");
  EXPECT_FLOAT_EQ(hits[1].score, 11.f);
  EXPECT_EQ(hits[2].id, "c");
  EXPECT_FLOAT_EQ(hits[2].score, -3.f);
}

TEST_F(ApiTest, QueryKAndEfSearchAndMetadata) {
  auto s = Store::open(store_path, dim_opts(2, Metric::euclidean));
  for (int i = 0; i < 20; ++i) {
    s.upsert("id" + std::to_string(i), {static_cast<float>(i), 0.f}, R"({"i":)" + std::to_string(i) + "}");
  }
  Query q;
  q.vector = {0.f, 0.f};
  q.k = 5;
  q.ef_search = 100;
  auto hits = s.query(q);
  ASSERT_EQ(hits.size(), 5u);
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(hits[i].id, "id" + std::to_string(i));
    EXPECT_EQ(hits[i].metadata_json, R"({"i":)" + std::to_string(i) + "}");
    if (i > 0) {
      EXPECT_GE(hits[i - 1].score, hits[i].score);
    }
  }
  // Default k is 10; a k above the count gives every record.
  EXPECT_EQ(s.query(Span(q.vector)).size(), 10u);
  EXPECT_EQ(s.query(q.vector, 1000).size(), 20u);
  EXPECT_EQ(s.query(q.vector, VS_MAX_K).size(), 20u);
}

TEST_F(ApiTest, QueryOnAnEmptyStore) {
  auto s = Store::open(store_path, dim_opts(3));
  EXPECT_TRUE(s.query({1.f, 0.f, 0.f}).empty());
}

TEST_F(ApiTest, UpsertManyFlat) {
  auto s = Store::open(store_path, dim_opts(2, Metric::euclidean));
  const std::vector<std::string> ids{"a", "b", "c"};
  const std::vector<float> flat{0.f, 0.f, 1.f, 1.f, 2.f, 2.f};
  s.upsert_many(ids, flat, 2);
  EXPECT_EQ(s.count(), 3u);
  EXPECT_EQ(s.get("c").vector, (std::vector<float>{2.f, 2.f}));
  EXPECT_EQ(s.get("a").metadata_json, "{}");

  // With metadata (an empty entry = none), from a pointer-based view, replacing "a".
  s.upsert_many({"a", "d"}, Span(flat.data() + 2, 4), 2, {R"({"x":true})", ""});
  EXPECT_EQ(s.count(), 4u);
  EXPECT_EQ(s.get("a").vector, (std::vector<float>{1.f, 1.f}));
  EXPECT_EQ(s.get("a").metadata_json, R"({"x":true})");
  EXPECT_EQ(s.get("d").metadata_json, "{}");

  // n = 0 is a no-op.
  s.upsert_many({}, std::vector<float>{}, 2);
  EXPECT_EQ(s.count(), 4u);
}

TEST_F(ApiTest, UpsertManyNested) {
  auto s = Store::open(store_path, dim_opts(3, Metric::dot));
  s.upsert_many({"a", "b"}, std::vector<std::vector<float>>{{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}},
                {R"({"k":"v"})", R"({"k":"w"})"});
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.get("b").vector, (std::vector<float>{4.f, 5.f, 6.f}));
  EXPECT_EQ(s.get("b").metadata_json, R"({"k":"w"})");
  // A later duplicate id wins within one call.
  s.upsert_many({"x", "x"}, std::vector<std::vector<float>>{{1.f, 1.f, 1.f}, {2.f, 2.f, 2.f}});
  EXPECT_EQ(s.count(), 3u);
  EXPECT_EQ(s.get("x").vector, (std::vector<float>{2.f, 2.f, 2.f}));
  // Empty input is a no-op.
  s.upsert_many({}, std::vector<std::vector<float>>{});
  EXPECT_EQ(s.count(), 3u);
}

TEST_F(ApiTest, PersistsAcrossCloseAndReopen) {
  {
    auto s = Store::open(store_path, dim_opts(2, Metric::euclidean));
    s.upsert("a", {1.f, 2.f}, R"({"tag":"first"})");
    s.upsert_many({"b", "c", "gone"}, std::vector<float>{3.f, 4.f, 5.f, 6.f, 7.f, 8.f}, 2);
    s.upsert("b", {30.f, 40.f});  // replaced
    s.remove("gone");
    s.close();
    EXPECT_FALSE(s.is_open());
  }
  {
    // Explicit options: dimension 0 = taken from disk; the metric must match the store's.
    Options reopen;
    reopen.metric = Metric::euclidean;
    auto s = Store::open(store_path, reopen);
    EXPECT_EQ(s.count(), 3u);
    EXPECT_EQ(s.get("a").vector, (std::vector<float>{1.f, 2.f}));
    EXPECT_EQ(s.get("a").metadata_json, R"({"tag":"first"})");
    EXPECT_EQ(s.get("b").vector, (std::vector<float>{30.f, 40.f}));
    EXPECT_VS_ERROR(s.get("gone"), VS_ERR_NOT_FOUND);
    const std::string stats = s.stats_json();
    EXPECT_NE(stats.find(R"("metric":"euclidean")"), std::string::npos) << stats;
    const auto hits = s.query({1.f, 2.f}, 1);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].id, "a");
    s.upsert("d", {0.f, 0.f});
  }
  // Reopening with the same explicit options, or with none, works too; destructors closed the store.
  EXPECT_EQ(Store::open(store_path, dim_opts(2, Metric::euclidean)).count(), 4u);
  EXPECT_EQ(Store::open(store_path).count(), 4u);
}

TEST_F(ApiTest, OpenWithoutOptionsPassesNullOptions) {
  // A new store opened without options gets every default: cosine, dimension from the first vector.
  {
    auto s = Store::open(store_path);
    s.upsert("a", {3.f, 4.f});
    EXPECT_NE(s.stats_json().find(R"("metric":"cosine")"), std::string::npos);
    EXPECT_NEAR(s.get("a").vector.at(0), 0.6f, 1e-6);
  }
  // Reopening without options (NULL options) takes an existing store's own metric and dimension.
  const std::string other = dir.sub("dot");
  Options o;
  o.metric = Metric::dot;
  Store::open(other, o).upsert("a", {1.f, 2.f});
  auto s = Store::open(other);
  EXPECT_NE(s.stats_json().find(R"("metric":"dot")"), std::string::npos) << s.stats_json();
  EXPECT_EQ(s.get("a").vector, (std::vector<float>{1.f, 2.f}));
  s.close();
  // Options{} (Metric::default_metric) reopen it too; an explicit cosine must match.
  EXPECT_EQ(Store::open(other, Options{}).count(), 1u);
  Options cosine;
  cosine.metric = Metric::cosine;
  EXPECT_VS_ERROR(Store::open(other, cosine), VS_ERR_INVALID_ARGUMENT);
}

TEST_F(ApiTest, SyncDurabilityAndOtherOptions) {
  Options o;
  o.dimension = 2;
  o.durability = vecstore::Durability::sync;
  o.hnsw_m = 8;
  o.ef_construction = 50;
  o.ef_search = 20;
  o.build_threads = 0;
  auto s = Store::open(store_path, o);
  s.upsert("a", {1.f, 0.f});
  s.flush();
  EXPECT_EQ(s.count(), 1u);
}

TEST_F(ApiTest, UnicodeIdsAndMetadata) {
  auto s = Store::open(store_path, dim_opts(2));
  const std::string id = "h\xC3\xA9llo-\xE2\x9C\x93";  // "héllo-✓"
  s.upsert(id, {1.f, 1.f}, "{\"name\":\"\xC3\xA9t\xC3\xA9\"}");
  EXPECT_EQ(s.get(id).id, id);
  EXPECT_NE(s.get(id).metadata_json.find("\xC3\xA9t\xC3\xA9"), std::string::npos);
  EXPECT_EQ(s.query({1.f, 1.f}, 1).at(0).id, id);
}

}  // namespace
