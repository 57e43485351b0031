// vecstore::Namespaces: lifecycle and persistence, data through namespace Stores, quotas, status,
// stats, backups and restore, deletion, hostile names, and threads in different namespaces while
// namespaces are created and deleted.
#include "test_util.hpp"

#include <string>
#include <thread>
#include <vector>

namespace {

using vecstore::Namespaces;
using vecstore::NamespaceStatus;
using vecstore::Quotas;

class NamespaceTest : public ::testing::Test {
 protected:
  vstest::TempDir dir;
  std::string root = dir.sub("root");

  Namespaces open() {
    vecstore::Options o;
    o.dimension = 3;
    return Namespaces::open(root, o);
  }
  static bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
  }
};

TEST_F(NamespaceTest, CreateListGetPersist) {
  {
    Namespaces m = open();
    m.create("acme", "Acme Corp", Quotas{100, 0, 50.0});
    m.create("beta");
    EXPECT_VS_ERROR(m.create("acme"), VS_ERR_ALREADY_EXISTS);
    m.set_status("beta", NamespaceStatus::suspended);
    vecstore::Store s = m.store("acme");
    s.upsert("doc", std::vector<float>{1, 0, 0}, R"({"k":"v"})");
    const std::string list = m.list_json();
    EXPECT_TRUE(has(list, R"("id":"acme")") && has(list, R"("name":"Acme Corp")")) << list;
    EXPECT_TRUE(has(list, R"("max_vectors":100)") && has(list, R"("status":"suspended")")) << list;
    EXPECT_VS_ERROR(Namespaces::open(root), VS_ERR_LOCKED);
  }
  Namespaces m = open();
  EXPECT_TRUE(has(m.get_json("beta"), R"("status":"suspended")"));
  vecstore::Store s = m.store("acme");
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(s.get("doc").metadata_json, R"({"k":"v"})");
  EXPECT_VS_ERROR(m.store("beta").count(), VS_ERR_NAMESPACE_SUSPENDED);
  EXPECT_VS_ERROR(m.get_json("missing"), VS_ERR_NOT_FOUND);
  for (const char* bad : {"", "..", "../x", "/abs", "a/b", ".hidden", "a b"}) {
    EXPECT_VS_ERROR(m.create(bad), VS_ERR_INVALID_ARGUMENT);
  }
  EXPECT_VS_ERROR(m.create(std::string("a\0b", 3)), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(m.create(std::string(65, 'x')), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(m.update_quotas("acme", Quotas{0, 0, -1.0}), VS_ERR_INVALID_ARGUMENT);
  m.close();
  EXPECT_VS_ERROR(m.list_json(), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(s.count(), VS_ERR_NOT_FOUND);  // the manager closed its stores
}

TEST_F(NamespaceTest, QuotasRateLimitAndStats) {
  Namespaces m = open();
  m.create("t", "", Quotas{2, 0, 0.0});
  vecstore::Store s = m.store("t");
  const std::vector<float> three{1, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT_VS_ERROR(s.upsert_many({"a", "b", "c"}, three, 3), VS_ERR_QUOTA_EXCEEDED);
  EXPECT_EQ(s.count(), 0u);
  s.upsert_many({"a", "b"}, vecstore::Span(three.data(), 6), 3);
  s.upsert("a", std::vector<float>{0, 0, 1});  // replacement
  EXPECT_VS_ERROR(s.upsert("c", std::vector<float>{0, 0, 1}), VS_ERR_QUOTA_EXCEEDED);

  m.update_quotas("t", Quotas{0, 0, 2.0});
  int limited = 0;
  for (int i = 0; i < 6; ++i) {
    try {
      s.count();
    } catch (const vecstore::Error& e) {
      EXPECT_EQ(e.code(), VS_ERR_RATE_LIMITED);
      ++limited;
    }
  }
  EXPECT_GE(limited, 3);
  m.update_quotas("t", Quotas{});
  const std::string st = m.stats_json("t");
  EXPECT_TRUE(has(st, R"("vector_count":2)")) << st;
  EXPECT_TRUE(has(st, R"("write":{"refused":2,"served":2})")) << st;
  EXPECT_FALSE(has(st, R"("last_activity_at":null)")) << st;
}

TEST_F(NamespaceTest, BackupRestoreDelete) {
  Namespaces m = open();
  m.create("t");
  vecstore::Store s = m.store("t");
  for (int i = 0; i < 30; ++i) {
    s.upsert("r" + std::to_string(i), std::vector<float>{1, static_cast<float>(i), 0.5f});
  }
  const std::vector<float> probe{0.1f, 4, 1};
  const auto before = s.query(probe, 30);
  m.backup("t", "b1");
  EXPECT_VS_ERROR(m.backup("t", "b1"), VS_ERR_ALREADY_EXISTS);
  EXPECT_VS_ERROR(m.backup("t", "../up"), VS_ERR_INVALID_ARGUMENT);
  for (int i = 0; i < 10; ++i) s.remove("r" + std::to_string(i));
  EXPECT_TRUE(has(m.list_backups_json("t"), R"("name":"b1")"));
  EXPECT_TRUE(has(m.list_backups_json("t"), R"("vector_count":30)"));
  m.restore("t", "b1");
  const auto after = s.query(probe, 30);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].score, before[i].score);
  }
  m.delete_backup("t", "b1");
  EXPECT_VS_ERROR(m.restore("t", "b1"), VS_ERR_NOT_FOUND);
  m.remove("t");
  EXPECT_VS_ERROR(s.count(), VS_ERR_NOT_FOUND);
  m.create("t");
  EXPECT_VS_ERROR(s.count(), VS_ERR_NOT_FOUND);  // never the new namespace of the same id
  EXPECT_EQ(m.store("t").count(), 0u);
}

TEST_F(NamespaceTest, ThreadsInManyNamespacesWithChurn) {
  Namespaces m = open();
  EXPECT_VS_ERROR(m.set_max_open_stores(0), VS_ERR_INVALID_ARGUMENT);
  m.set_max_open_stores(2);  // stores get closed and reopened under the threads
  constexpr int kWorkers = 4;
  for (int w = 0; w < kWorkers; ++w) m.create("n" + std::to_string(w));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      try {
        vecstore::Store s = m.store("n" + std::to_string(w));
        for (int i = 0; i < 100; ++i) {
          s.upsert("r" + std::to_string(i), std::vector<float>{static_cast<float>(w + 1), static_cast<float>(i), 1});
          s.query(std::vector<float>{1, 1, 1}, 3);
        }
        if (s.count() != 100u) ++failures;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 10; ++i) {
      const std::string id = "tmp" + std::to_string(i);
      try {
        m.create(id);
        vecstore::Store s = m.store(id);
        s.upsert("a", std::vector<float>{1, 0, 0});
        m.remove(id);
        try {
          s.count();
          ++failures;
        } catch (const vecstore::Error& e) {
          if (e.code() != VS_ERR_NOT_FOUND) ++failures;
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    }
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_FALSE(has(m.list_json(), "tmp"));
}

}  // namespace
