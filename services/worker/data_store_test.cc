#include "services/worker/data_store.h"

#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

namespace taskgrid::worker {
namespace {

Value BytesOf(size_t n) { return Value::Bytes(Blob::Copy(std::string(n, 'x'))); }

TEST(DataStoreTest, PutGetEraseTrackBytes) {
  DataStore store;
  EXPECT_EQ(store.Get("a"), nullptr);
  int64_t na = store.Put("a", BytesOf(100));
  EXPECT_EQ(na, BytesOf(100).ByteSize());
  int64_t nb = store.Put("b", Value::Int(1));
  EXPECT_EQ(store.total_bytes(), na + nb);
  EXPECT_EQ(store.size(), 2u);
  ASSERT_NE(store.Get("a"), nullptr);
  EXPECT_EQ(*store.Get("a"), BytesOf(100));
  EXPECT_TRUE(store.Contains("b"));
  EXPECT_EQ(store.Lookup("b").nbytes, nb);
  EXPECT_EQ(store.Lookup("zzz").value, nullptr);

  // Replacing a key replaces its bytes.
  int64_t na2 = store.Put("a", BytesOf(10));
  EXPECT_EQ(store.total_bytes(), na2 + nb);

  std::shared_ptr<const Value> erased = store.Erase("a");
  ASSERT_NE(erased, nullptr);
  EXPECT_EQ(*erased, BytesOf(10));
  EXPECT_EQ(store.Erase("a"), nullptr);
  EXPECT_EQ(store.total_bytes(), nb);
  EXPECT_EQ(store.size(), 1u);
}

TEST(DataStoreTest, ReaderKeepsValueAliveAfterErase) {
  DataStore store;
  store.Put("k", BytesOf(64));
  std::shared_ptr<const Value> held = store.Get("k");
  store.Erase("k");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->as_bytes().size(), 64u);
}

TEST(DataStoreTest, SnapshotListsKeysWithSizes) {
  DataStore store;
  store.Put("x", Value::Int(1));
  store.Put("y", BytesOf(5));
  std::vector<DataStore::KeyInfo> snap = store.Snapshot();
  std::sort(snap.begin(), snap.end(), [](auto& a, auto& b) { return a.key < b.key; });
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].key, "x");
  EXPECT_EQ(snap[1].key, "y");
  EXPECT_EQ(snap[1].nbytes, BytesOf(5).ByteSize());
}

TEST(DataStoreTest, ConcurrentWritersKeepTotalConsistent) {
  DataStore store;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 500; ++i) {
        std::string key = std::to_string(t) + "-" + std::to_string(i);
        store.Put(key, BytesOf(10));
        if (i % 2 == 0) store.Erase(key);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store.size(), 4u * 250);
  EXPECT_EQ(store.total_bytes(), static_cast<int64_t>(4 * 250) * BytesOf(10).ByteSize());
}

}  // namespace
}  // namespace taskgrid::worker
