// Query explain and query estimate through the C++ wrapper.
#include "test_util.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using vecstore::Options;
using vecstore::Query;
using vecstore::Store;

namespace {

constexpr std::size_t kN = 3000;  // above the 2000 where the graph takes over from the exact scan
constexpr std::size_t kDim = 8;

/// The number after "key": in a compact JSON text (-1 when absent).
double json_num(const std::string& json, const std::string& key) {
  const std::string pat = "\"" + key + "\":";
  const auto at = json.find(pat);
  return at == std::string::npos ? -1.0 : std::strtod(json.c_str() + at + pat.size(), nullptr);
}

bool has(const std::string& json, const std::string& text) { return json.find(text) != std::string::npos; }

class ExplainTest : public vstest::StoreTest {
 protected:
  void SetUp() override {
    Options o;
    o.dimension = kDim;
    store = Store::open(store_path, o);
    std::vector<std::string> ids, metas;
    std::vector<float> flat;
    uint64_t seed = 0x2545F4914F6CDD1DULL;
    for (std::size_t i = 0; i < kN; ++i) {
      ids.push_back("r" + std::to_string(i));
      metas.push_back(std::string("{\"cat\":\"") + (i % 2 == 0 ? "a" : "b") + "\",\"n\":" + std::to_string(i % 10) + "}");
      for (std::size_t d = 0; d < kDim; ++d) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        flat.push_back(static_cast<float>(static_cast<double>(seed % 2000001) / 1e6 - 1.0));
      }
    }
    store.upsert_many(ids, vecstore::Span(flat), kDim, metas);
  }
  static Query query(std::string filter) {
    Query q;
    q.vector = {0.1f, -0.2f, 0.3f, 0.05f, 0.0f, 0.2f, -0.1f, 0.4f};
    q.k = 10;
    q.ef_search = 16;
    q.filter = std::move(filter);
    return q;
  }
  Store store;
};

TEST_F(ExplainTest, ExplainReturnsTheQueryResultsWithReasons) {
  struct Case {
    std::string filter, plan;
    double matches;  // slots the metadata index lists for an exact scan
  };
  // The plan follows the metadata index's exact match count m: the matching slots are scanned when
  // m * m < 4 * ef * 2M * n (here 4 * 16 * 32 * 3000), the graph is searched otherwise. 2700 of 3000
  // pass "n != 4" (graph), 1800 "cat = 'a' OR n = 3" and 300 "n = 4" (scans of the listed matches).
  for (const Case& c : {Case{"", "graph", 0}, Case{"n != 4", "graph", 0}, Case{"cat = 'a' OR n = 3", "exact_scan", 1800},
                        Case{"n = 4", "exact_scan", 300}}) {
    const Query q = query(c.filter);
    const auto plain = store.query(q);
    const auto ex = store.query_explain(q);
    ASSERT_EQ(plain.size(), 10u);
    ASSERT_EQ(ex.size(), plain.size());
    for (std::size_t i = 0; i < ex.size(); ++i) {
      const std::string& e = ex[i].explanation_json;
      EXPECT_EQ(ex[i].id, plain[i].id);
      EXPECT_EQ(std::memcmp(&ex[i].score, &plain[i].score, sizeof(float)), 0);
      EXPECT_EQ(ex[i].metadata_json, plain[i].metadata_json);
      EXPECT_TRUE(plain[i].explanation_json.empty());
      EXPECT_EQ(json_num(e, "rank"), static_cast<double>(i + 1)) << e;
      EXPECT_NEAR(json_num(e, "raw_score"), ex[i].score, 1e-6);
      EXPECT_TRUE(has(e, "\"distance_metric\":\"Cosine\"")) << e;
      EXPECT_TRUE(has(e, "\"plan\":\"" + c.plan + "\"")) << c.filter << ": " << e;
      EXPECT_TRUE(has(e, "\"explanation_text\":\"Ranked #" + std::to_string(i + 1) + " with score")) << e;
      if (c.plan == "graph") {
        EXPECT_GT(json_num(e, "nodes_visited"), 0.0) << e;
        EXPECT_GT(json_num(e, "graph_distance_calculations"), json_num(e, "nodes_visited")) << e;
      } else {
        EXPECT_EQ(json_num(e, "nodes_visited"), 0.0) << e;
        EXPECT_EQ(json_num(e, "distance_calculations"), c.matches) << e;
      }
      const std::string& meta = ex[i].metadata_json;
      if (c.filter.empty()) {
        EXPECT_TRUE(has(e, "\"filter_details\":null")) << e;
      } else if (c.filter == "n != 4") {
        EXPECT_FALSE(has(meta, "\"n\":4")) << meta;
        EXPECT_TRUE(has(e, "\"passed\":true")) << e;
      } else if (c.filter == "n = 4") {
        EXPECT_TRUE(has(meta, "\"n\":4")) << meta;
        EXPECT_TRUE(has(e, "\"matched_conditions\":[\"n = 4\"]")) << e;
      } else {
        const bool is_a = has(meta, "\"cat\":\"a\""), is_3 = has(meta, "\"n\":3");
        EXPECT_TRUE(is_a || is_3) << meta;
        const std::string want = is_a && is_3 ? R"("matched_conditions":["cat = 'a'","n = 3"])"
                                 : is_a       ? R"("matched_conditions":["cat = 'a'"])"
                                              : R"("matched_conditions":["n = 3"])";
        EXPECT_TRUE(has(e, want)) << meta << " " << e;
      }
    }
  }
  Query bad = query("");
  bad.vector.pop_back();
  EXPECT_VS_ERROR(store.query_explain(bad), VS_ERR_DIMENSION_MISMATCH);
  EXPECT_VS_ERROR(store.query_explain(query("cat =")), VS_ERR_FILTER_SYNTAX);
}

TEST_F(ExplainTest, EstimateReportsInvalidQueriesWithoutThrowing) {
  struct Case {
    Query q;
    std::string code, text;
  };
  std::vector<Case> cases;
  cases.push_back({query(""), "dimension_mismatch", "dimension"});
  cases.back().q.vector.pop_back();
  cases.push_back({query(""), "invalid_argument", "k must be"});
  cases.back().q.k = 0;
  cases.push_back({query(""), "invalid_argument", "k must be"});
  cases.back().q.k = VS_MAX_K + 1;
  cases.push_back({query("n >"), "filter_syntax", "position"});
  cases.push_back({query(""), "invalid_argument", "non-finite"});
  cases.back().q.vector[1] = std::numeric_limits<float>::infinity();
  for (const Case& c : cases) {
    const std::string json = store.estimate_query(c.q);
    EXPECT_TRUE(has(json, "\"valid\":false")) << json;
    EXPECT_TRUE(has(json, "\"error_codes\":[\"" + c.code + "\"]")) << json;
    EXPECT_TRUE(has(json, c.text)) << json;
    EXPECT_TRUE(has(json, "\"plan\":null")) << json;
  }
  EXPECT_VS_ERROR(store.estimate_query(query(std::string("n = 1\0x", 7))), VS_ERR_INVALID_ARGUMENT);
}

TEST_F(ExplainTest, EstimatePredictsThePlanExplainReports) {
  for (const std::string filter : {"", "n != 4", "cat = 'a' OR n = 3", "n = 4"}) {
    const Query q = query(filter);
    const std::string est = store.estimate_query(q);
    const std::string ex = store.query_explain(q).at(0).explanation_json;
    EXPECT_TRUE(has(est, "\"valid\":true")) << est;
    const std::string plan = has(ex, "\"plan\":\"graph\"") ? "graph" : "exact_scan";
    EXPECT_TRUE(has(est, "\"plan\":\"" + plan + "\"")) << filter << ": " << est;
    const double e = json_num(est, "estimated_distance_calculations"), m = json_num(ex, "distance_calculations");
    EXPECT_TRUE(e > m / 3 && e < m * 3) << "estimated " << e << ", measured " << m;
    const double cost = json_num(est, "cost_estimate");
    EXPECT_TRUE(cost > 0.0 && cost <= 1.0) << est;
    EXPECT_GT(json_num(est, "estimated_duration_ms"), 0.0) << est;
  }
  Store closed;
  EXPECT_VS_ERROR(closed.estimate_query(query("")), VS_ERR_INVALID_ARGUMENT);
}

}  // namespace
