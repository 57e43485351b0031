// Filtered queries through the C++ wrapper: only matching records, and k of them when k match.
#include "test_util.hpp"

#include <random>
#include <string>
#include <thread>
#include <vector>

using vecstore::Metric;
using vecstore::Options;
using vecstore::Query;
using vecstore::Result;
using vecstore::Store;

namespace {

constexpr std::size_t kDim = 8;
constexpr int kCount = 2000;

class FilterTest : public vstest::StoreTest {
 protected:
  void SetUp() override {
    Options o;
    o.dimension = kDim;
    o.metric = Metric::dot;
    store = Store::open(store_path, o);
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<std::string> ids;
    std::vector<std::string> metas;
    std::vector<float> flat;
    for (int i = 0; i < kCount; ++i) {
      ids.push_back("r" + std::to_string(i));
      metas.push_back(R"({"group":)" + std::to_string(i % 100) + R"(,"kind":")" + (i % 2 ? "odd" : "even") +
                      R"(","name":"n)" + std::to_string(i) + R"("})");
      for (std::size_t d = 0; d < kDim; ++d) flat.push_back(u(rng));
    }
    store.upsert_many(ids, vecstore::Span(flat), kDim, metas);
  }

  static int number_of(const Result& r) { return std::stoi(r.id.substr(1)); }

  std::vector<float> query_vector(unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> q(kDim);
    for (auto& x : q) x = u(rng);
    return q;
  }

  Store store;
};

TEST_F(FilterTest, SelectiveAndBroadFiltersReturnOnlyMatchesAndEnoughOfThem) {
  struct Case {
    std::string filter;
    bool (*match)(int);
    int matches;
  };
  const std::vector<Case> cases = {
      {"group = 7", [](int i) { return i % 100 == 7; }, 20},
      {"group < 10", [](int i) { return i % 100 < 10; }, 200},
      {"kind = 'odd'", [](int i) { return i % 2 == 1; }, 1000},
      {"kind = 'odd' AND group IN (1, 3, 5)", [](int i) { return i % 100 == 1 || i % 100 == 3 || i % 100 == 5; },
       60},
      {"name CONTAINS '999'", [](int i) { return std::to_string(i).find("999") != std::string::npos; }, 2},
      {"group >= 1000", [](int) { return false; }, 0},
  };
  unsigned seed = 1;
  for (const auto& c : cases) {
    for (uint32_t k : {1u, 10u, 100u}) {
      const auto q = query_vector(seed++);
      const auto res = store.query(vecstore::Span(q), k, c.filter);
      const std::size_t want = std::min<std::size_t>(k, static_cast<std::size_t>(c.matches));
      ASSERT_EQ(res.size(), want) << c.filter << " k=" << k;
      for (std::size_t j = 0; j < res.size(); ++j) {
        EXPECT_TRUE(c.match(number_of(res[j]))) << c.filter << ": " << res[j].id << " " << res[j].metadata_json;
        if (j > 0) EXPECT_LE(res[j].score, res[j - 1].score);
      }
    }
  }
}

TEST_F(FilterTest, SyntaxErrorsThrowWithAPosition) {
  const auto q = query_vector(1);
  for (const char* bad : {"group =", "group = 1 2", "(group = 1", "kind = 'odd", "group IN 1", "OR"}) {
    try {
      (void)store.query(vecstore::Span(q), 10, bad);
      ADD_FAILURE() << bad << " did not throw";
    } catch (const vecstore::Error& e) {
      EXPECT_EQ(e.code(), VS_ERR_FILTER_SYNTAX) << bad;
      EXPECT_NE(std::string(e.what()).find("position"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(store.count(), static_cast<uint64_t>(kCount));
}

TEST_F(FilterTest, QueriesRunWhileAnotherThreadInserts) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int i = 0; i < 500 && !stop; ++i) {
      std::vector<float> v(kDim);
      for (auto& x : v) x = u(rng);
      store.upsert("w" + std::to_string(i), vecstore::Span(v), R"({"group":7,"kind":"new"})");
    }
  });
  for (unsigned i = 0; i < 200; ++i) {
    const auto q = query_vector(100 + i);
    const auto res = store.query(vecstore::Span(q), 10, "group = 7");
    ASSERT_EQ(res.size(), 10u);
    for (const auto& r : res) EXPECT_NE(r.metadata_json.find("\"group\":7"), std::string::npos) << r.metadata_json;
  }
  stop = true;
  writer.join();
}

}  // namespace
