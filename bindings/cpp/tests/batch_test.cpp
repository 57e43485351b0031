// Soft delete, restore, metadata updates, TTL and batches through the C++ wrapper.
#include "test_util.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

using vecstore::BatchOp;
using vecstore::BatchOpKind;
using vecstore::Options;
using vecstore::Store;

namespace {

class BatchTest : public vstest::StoreTest {
 protected:
  void SetUp() override {
    Options o;
    o.dimension = 2;
    store = Store::open(store_path, o);
  }
  std::vector<std::string> ids(std::string_view filter = {}) const {
    std::vector<std::string> out;
    for (const auto& r : store.query(std::vector<float>{1.0f, 0.0f}, 100, filter)) out.push_back(r.id);
    std::sort(out.begin(), out.end());
    return out;
  }
  Store store;
};

using Ids = std::vector<std::string>;

TEST_F(BatchTest, SoftDeleteRestoreAndUpdateMetadata) {
  store.upsert("a", std::vector<float>{1.0f, 0.0f}, R"({"t":"x"})");
  store.upsert("b", std::vector<float>{1.0f, 0.5f});
  store.soft_delete("a");
  EXPECT_EQ(ids(), Ids{"b"});
  EXPECT_EQ(store.count(), 1u);
  EXPECT_VS_ERROR(store.get("a"), VS_ERR_NOT_FOUND);
  EXPECT_VS_ERROR(store.soft_delete("a"), VS_ERR_NOT_FOUND);
  EXPECT_VS_ERROR(store.restore("zz"), VS_ERR_NOT_FOUND);
  store.restore("a");
  EXPECT_EQ(ids(), (Ids{"a", "b"}));
  EXPECT_EQ(store.get("a").metadata_json, R"({"t":"x"})");

  store.update_metadata("b", R"({"t":"y"})");
  EXPECT_EQ(ids("t = 'y'"), Ids{"b"});
  EXPECT_VS_ERROR(store.update_metadata("b", "{bad"), VS_ERR_INVALID_ARGUMENT);
  EXPECT_VS_ERROR(store.update_metadata("zz", "{}"), VS_ERR_NOT_FOUND);
  EXPECT_EQ(store.get("b").metadata_json, R"({"t":"y"})");
  store.update_metadata("b", "");
  EXPECT_EQ(store.get("b").metadata_json, "{}");
}

TEST_F(BatchTest, TtlExpiresAndPersists) {
  store.upsert_with_ttl("short", std::vector<float>{1.0f, 0.0f}, "", 1);
  store.upsert_with_ttl("long", std::vector<float>{1.0f, 0.1f}, "", 3600);
  store.upsert("c", std::vector<float>{1.0f, 0.2f});
  store.set_ttl("c", 1);
  EXPECT_VS_ERROR(store.set_ttl("zz", 1), VS_ERR_NOT_FOUND);
  EXPECT_VS_ERROR(store.set_ttl("c", VS_MAX_TTL_SECONDS + 1), VS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(store.count(), 3u);
  store.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  store = Store::open(store_path);
  EXPECT_EQ(ids(), Ids{"long"});
  EXPECT_EQ(store.count(), 1u);
  EXPECT_EQ(store.expire_ttl_records(), 2u);
  EXPECT_EQ(store.expire_ttl_records(), 0u);
}

TEST_F(BatchTest, BatchAppliesValidOpsAndReportsTheRest) {
  store.upsert("old", std::vector<float>{1.0f, 0.3f});
  std::vector<BatchOp> ops(5);
  ops[0] = {BatchOpKind::upsert, "n1", {1.0f, 0.1f}, R"({"g":1})", 0};
  ops[1] = {BatchOpKind::upsert, "bad", {1.0f, 2.0f, 3.0f}, "", 0};
  ops[2] = {BatchOpKind::soft_delete, "old", {}, "", 0};
  ops[3] = {BatchOpKind::restore, "nobody", {}, "", 0};
  ops[4] = {BatchOpKind::update_metadata, "n1", {}, R"({"g":2})", 0};
  const vecstore::BatchResult r = store.batch_execute(ops);
  EXPECT_EQ(r.succeeded, 3u);
  EXPECT_EQ(r.failed, 2u);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].index, 1u);
  EXPECT_EQ(r.errors[0].code, VS_ERR_DIMENSION_MISMATCH);
  EXPECT_EQ(r.errors[0].operation, "upsert(bad)");
  EXPECT_EQ(r.errors[1].index, 3u);
  EXPECT_EQ(r.errors[1].code, VS_ERR_NOT_FOUND);
  EXPECT_FALSE(r.errors[1].message.empty());
  EXPECT_GE(r.duration_ms, 0.0);
  EXPECT_EQ(ids(), Ids{"n1"});
  EXPECT_EQ(ids("g = 2"), Ids{"n1"});

  // Refused whole: nothing applied.
  std::vector<BatchOp> bad(2);
  bad[0] = {BatchOpKind::upsert, "n2", {1.0f, 0.0f}, "", 0};
  bad[1] = {static_cast<BatchOpKind>(42), "x", {}, "", 0};
  EXPECT_VS_ERROR(store.batch_execute(bad), VS_ERR_INVALID_ARGUMENT);
  bad[1] = {BatchOpKind::remove, std::string("a\0b", 3), {}, "", 0};
  EXPECT_VS_ERROR(store.batch_execute(bad), VS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ids(), Ids{"n1"});

  const std::string json = store.batch_execute_json(
      R"({"operations":[{"op":"upsert","id":"j","vector":[1,0.4]},{"op":"delete","id":"zz"}]})");
  EXPECT_NE(json.find(R"("succeeded":1)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"x("operation":"delete(zz)")x"), std::string::npos) << json;
  EXPECT_VS_ERROR(store.batch_execute_json(R"([{"op":"nope","id":"x"}])"), VS_ERR_INVALID_ARGUMENT);

  store.close();
  store = Store::open(store_path);
  EXPECT_EQ(ids(), (Ids{"j", "n1"}));
}

}  // namespace
