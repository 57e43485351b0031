// One Store shared by many std::threads that query, get and upsert at once.
#include "test_util.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using vecstore::Metric;
using vecstore::Options;
using vecstore::Store;

namespace {

class ThreadsTest : public vstest::StoreTest {};

TEST_F(ThreadsTest, ConcurrentQueriesAndUpserts) {
  Options o;
  o.dimension = 8;
  o.metric = Metric::euclidean;
  auto store = Store::open(store_path, o);
  // Seed records so queries always find something.
  for (int i = 0; i < 20; ++i) {
    std::vector<float> v(8, static_cast<float>(i));
    store.upsert("seed" + std::to_string(i), v);
  }

  constexpr int kWriters = 4;
  constexpr int kReaders = 4;
  constexpr int kPerWriter = 60;
  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;

  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      while (!go.load()) std::this_thread::yield();
      try {
        for (int i = 0; i < kPerWriter; ++i) {
          std::vector<float> v(8, static_cast<float>(w * 1000 + i));
          const std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
          if (i % 10 == 9) {
            // A batch of two, one of them a new id.
            store.upsert_many({id, id + "-batch"}, std::vector<std::vector<float>>{v, v},
                              {R"({"w":)" + std::to_string(w) + "}", ""});
          } else {
            store.upsert(id, v, R"({"w":)" + std::to_string(w) + "}");
          }
          if (store.get(id).id != id) ++failures;
          // An error in one thread must not disturb the others.
          try {
            store.upsert(id, {1.f});
            ++failures;
          } catch (const vecstore::Error& e) {
            if (e.code() != VS_ERR_DIMENSION_MISMATCH) ++failures;
          }
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      while (!go.load()) std::this_thread::yield();
      try {
        for (int i = 0; i < 100; ++i) {
          const std::vector<float> q(8, static_cast<float>(r + i));
          const auto hits = store.query(q, 5);
          if (hits.size() != 5) ++failures;
          for (size_t j = 1; j < hits.size(); ++j) {
            if (hits[j - 1].score < hits[j].score) ++failures;
          }
          if (store.count() < 20) ++failures;
          if (store.stats_json().empty()) ++failures;
          if (store.get("seed" + std::to_string(i % 20)).vector.size() != 8) ++failures;
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0);
  const uint64_t batches_per_writer = kPerWriter / 10;
  EXPECT_EQ(store.count(), 20u + kWriters * (kPerWriter + batches_per_writer));
  store.flush();
  store.close();

  auto reopened = Store::open(store_path, o);
  EXPECT_EQ(reopened.count(), 20u + kWriters * (kPerWriter + batches_per_writer));
  EXPECT_EQ(reopened.get("w3-59").metadata_json, R"({"w":3})");
}

TEST_F(ThreadsTest, ConcurrentDeletesOfTheSameIdSucceedOnce) {
  Options o;
  o.dimension = 2;
  auto store = Store::open(store_path, o);
  for (int round = 0; round < 10; ++round) {
    store.upsert("contested", {1.f, 1.f});
    std::atomic<int> ok{0}, not_found{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&] {
        try {
          store.remove("contested");
          ++ok;
        } catch (const vecstore::Error& e) {
          (e.code() == VS_ERR_NOT_FOUND ? not_found : other)++;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(not_found.load(), 5);
    EXPECT_EQ(other.load(), 0);
  }
  EXPECT_EQ(store.count(), 0u);
}

}  // namespace
