// Smoke test of the installed package: open a store, write, query, reopen. Exit status 0 = success.
#include <vecstore.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
    return 2;
  }
  try {
    if (vecstore::abi_version() != VS_ABI_VERSION) {
      std::fprintf(stderr, "ABI mismatch: library %u, header %u\n", vecstore::abi_version(), VS_ABI_VERSION);
      return 1;
    }
    const std::string dir = argv[1];
    std::filesystem::remove_all(dir);
    {
      auto store = vecstore::Store::open(dir, vecstore::Options{3});
      store.upsert("a", {1.f, 0.f, 0.f}, R"({"n":1})");
      store.upsert_many({"b", "c"}, std::vector<std::vector<float>>{{0.f, 1.f, 0.f}, {0.f, 0.f, 1.f}});
      const auto hits = store.query(vecstore::Query{{0.9f, 0.1f, 0.f}, 2, "", 0});
      if (hits.size() != 2 || hits[0].id != "a") {
        std::fprintf(stderr, "unexpected query result\n");
        return 1;
      }
    }
    auto store = vecstore::Store::open(dir);
    if (store.count() != 3) {
      std::fprintf(stderr, "expected 3 records after reopening, got %llu\n",
                   static_cast<unsigned long long>(store.count()));
      return 1;
    }
    std::printf("vecstore %s: ok\n", vecstore::version().c_str());
    store.close();
    std::filesystem::remove_all(dir);
    return 0;
  } catch (const vecstore::Error& e) {
    std::fprintf(stderr, "vecstore error %d: %s\n", static_cast<int>(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
