// Compaction, its settings, soft delete / restore / TTL, and the maintenance thread.
#include "test_util.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using vecstore::CompactionConfig;
using vecstore::Metric;
using vecstore::Options;
using vecstore::Store;

namespace {

std::vector<float> vec4(int i) {
  return {static_cast<float>(i % 17) + 1.0f, static_cast<float>(i % 5), static_cast<float>(i / 17), 0.5f};
}

class CompactTest : public vstest::StoreTest {
 protected:
  Store filled(int n) {
    Options o;
    o.dimension = 4;
    o.metric = Metric::euclidean;
    Store s = Store::open(store_path, o);
    for (int i = 0; i < n; i++) s.upsert("r" + std::to_string(i), vec4(i));
    return s;
  }
  static std::vector<std::string> top_ids(const Store& s, int i) {
    std::vector<std::string> ids;
    for (const auto& r : s.query(vec4(i), 5)) ids.push_back(r.id);
    return ids;
  }
};

TEST_F(CompactTest, CompactRemovesSoftDeletedRecordsForGood) {
  std::vector<std::string> before;
  {
    Store s = filled(100);
    for (int i = 0; i < 30; i++) s.soft_delete("r" + std::to_string(i));
    s.remove("r30");
    before = top_ids(s, 50);
    EXPECT_EQ(s.compact(), 30u);
    EXPECT_EQ(s.count(), 69u);
    EXPECT_EQ(top_ids(s, 50), before);
    EXPECT_VS_ERROR(s.restore("r3"), VS_ERR_NOT_FOUND);
    EXPECT_VS_ERROR(s.get("r3"), VS_ERR_NOT_FOUND);
    EXPECT_NE(s.stats_json().find("\"tombstones\":0"), std::string::npos);
    EXPECT_EQ(s.compact(), 0u);
  }
  Store s = Store::open(store_path);
  EXPECT_EQ(s.count(), 69u);
  EXPECT_EQ(top_ids(s, 50), before);
  EXPECT_VS_ERROR(s.restore("r3"), VS_ERR_NOT_FOUND);
}

TEST_F(CompactTest, RestoreBeforeCompactionBringsARecordBack) {
  Store s = filled(10);
  s.soft_delete("r1");
  EXPECT_VS_ERROR(s.get("r1"), VS_ERR_NOT_FOUND);
  EXPECT_EQ(s.count(), 9u);
  s.restore("r1");
  EXPECT_EQ(s.get("r1").id, "r1");
  EXPECT_VS_ERROR(s.soft_delete("nope"), VS_ERR_NOT_FOUND);
}

TEST_F(CompactTest, MaybeCompactFollowsTheThresholdsAndTheConfigIsPersisted) {
  const CompactionConfig cfg{true, 6, 0.1};
  {
    Store s = filled(100);
    for (int i = 0; i < 5; i++) s.soft_delete("r" + std::to_string(i));
    auto r = s.maybe_compact();
    EXPECT_FALSE(r.triggered);
    EXPECT_NE(r.reason.find("disabled"), std::string::npos) << r.reason;
    s.set_compaction_config(cfg);
    r = s.maybe_compact();
    EXPECT_FALSE(r.triggered);
    EXPECT_NE(r.reason.find("below both"), std::string::npos) << r.reason;
    s.soft_delete("r5");
    r = s.maybe_compact();
    EXPECT_TRUE(r.triggered);
    EXPECT_EQ(r.removed_count, 6u);
    EXPECT_EQ(r.tombstones_removed, 0u);
    EXPECT_GE(r.duration_ms, 0.0);
    EXPECT_NE(r.reason.find("min_deleted_records"), std::string::npos) << r.reason;
    EXPECT_VS_ERROR(s.set_compaction_config(CompactionConfig{true, 1, 1.5}), VS_ERR_INVALID_ARGUMENT);
  }
  Store s = Store::open(store_path);
  const CompactionConfig got = s.compaction_config();
  EXPECT_TRUE(got.enabled);
  EXPECT_EQ(got.min_deleted_records, 6u);
  EXPECT_DOUBLE_EQ(got.min_deleted_ratio, 0.1);
  EXPECT_EQ(s.count(), 94u);
}

TEST_F(CompactTest, MaintenanceThreadExpiresATtlRecordAndStopsOnClose) {
  Store s = filled(3);
  s.set_compaction_config(CompactionConfig{true, 1, 1.0});
  s.upsert_with_ttl("session", vec4(99), "", 1);
  EXPECT_EQ(s.get("session").id, "session");
  EXPECT_VS_ERROR(s.start_maintenance(std::chrono::milliseconds(0)), VS_ERR_INVALID_ARGUMENT);
  s.start_maintenance(std::chrono::milliseconds(20));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  std::string stats;
  while (std::chrono::steady_clock::now() < deadline) {
    stats = s.stats_json();
    if (stats.find("\"compactions\":1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(stats.find("\"expired\":1,"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"compactions\":1"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"errors\":0"), std::string::npos) << stats;
  EXPECT_VS_ERROR(s.get("session"), VS_ERR_NOT_FOUND);
  EXPECT_EQ(s.count(), 3u);
  s.stop_maintenance();
  EXPECT_NE(s.stats_json().find("\"maintenance\":null"), std::string::npos);
  // A thread on a one-hour interval does not delay close().
  s.start_maintenance(std::chrono::hours(1));
  const auto t = std::chrono::steady_clock::now();
  s.close();
  EXPECT_LT(std::chrono::steady_clock::now() - t, std::chrono::milliseconds(500));
  Store again = Store::open(store_path);  // the directory lock was released
  EXPECT_EQ(again.count(), 3u);
}

TEST_F(CompactTest, TtlCalls) {
  Store s = filled(2);
  s.set_ttl("r0", 3600);
  s.set_ttl("r0", 0);
  EXPECT_VS_ERROR(s.set_ttl("nope", 5), VS_ERR_NOT_FOUND);
  EXPECT_EQ(s.expire_ttl_records(), 0u);
  EXPECT_EQ(s.count(), 2u);
}

}  // namespace
