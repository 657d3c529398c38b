#include "services/worker/data_store.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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


// --- spilling ------------------------------------------------------------

std::string TempBase() {
  std::string pattern = testing::TempDir() + "/data_store_test-XXXXXX";
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

Value ArrayOf(int64_t n, double scale) {
  std::string data(static_cast<size_t>(n) * sizeof(double), '\0');
  for (int64_t i = 0; i < n; ++i) {
    double v = static_cast<double>(i) * scale;
    std::memcpy(data.data() + i * sizeof(double), &v, sizeof(v));
  }
  NDArray a;
  a.dtype = DType::kFloat64;
  a.shape = {n};
  a.data = Blob::FromString(std::move(data));
  return Value::Array(std::move(a));
}

bool Spilled(const DataStore& store, const std::string& key) {
  std::optional<DataStore::KeyInfo> info = store.Describe(key);
  return info.has_value() && info->spilled;
}

TEST(DataStoreSpillTest, SpillsLeastRecentlyUsedAboveTarget) {
  SpillStore spill(TempBase());
  const int64_t each = BytesOf(1000).ByteSize();
  DataStore store(&spill, 3 * each);  // room for three
  store.Put("a", BytesOf(1000));
  store.Put("b", BytesOf(1000));
  store.Put("c", BytesOf(1000));
  EXPECT_EQ(store.spilled_bytes(), 0);
  ASSERT_NE(store.Get("a"), nullptr);  // a is now the most recently used
  store.Put("d", BytesOf(1000));
  EXPECT_TRUE(Spilled(store, "b"));
  EXPECT_FALSE(Spilled(store, "a"));
  EXPECT_FALSE(Spilled(store, "c"));
  EXPECT_EQ(store.memory_bytes(), 3 * each);
  EXPECT_EQ(store.spilled_bytes(), each);
  EXPECT_EQ(store.size(), 4u);
  EXPECT_TRUE(store.Contains("b"));
  EXPECT_EQ(store.Describe("b")->nbytes, each);
  EXPECT_STREQ(store.Describe("b")->type_name, "bytes");

  // Reading b back makes it the most recent: c is the oldest now.
  ASSERT_NE(store.Get("b"), nullptr);
  EXPECT_FALSE(Spilled(store, "b"));
  EXPECT_TRUE(Spilled(store, "c"));
  EXPECT_EQ(store.memory_bytes(), 3 * each);
  EXPECT_EQ(store.spilled_bytes(), each);

  // Explicit passes spill oldest first: c (spilled), then a, then d.
  EXPECT_EQ(store.SpillLeastRecentlyUsed(2 * each), each);
  EXPECT_TRUE(Spilled(store, "a"));
  EXPECT_FALSE(Spilled(store, "d"));
  EXPECT_EQ(store.SpillLeastRecentlyUsed(0), 2 * each);
  EXPECT_EQ(store.memory_bytes(), 0);
  EXPECT_EQ(store.spilled_bytes(), 4 * each);

  // Erasing a spilled key deletes its file.
  EXPECT_EQ(store.Erase("a"), nullptr);
  EXPECT_FALSE(store.Contains("a"));
  EXPECT_EQ(store.spilled_bytes(), 3 * each);
  int files = 0;
  for (auto& f : std::filesystem::directory_iterator(spill.directory())) files += f.is_regular_file();
  EXPECT_EQ(files, 3);
}

// A runtime object (like a Python result) that is or is not picklable.
class RuntimeObject final : public LocalObject {
 public:
  RuntimeObject(int64_t nbytes, absl::StatusOr<Blob> pickled)
      : nbytes_(nbytes), pickled_(std::move(pickled)) {}
  int64_t ByteSize() const override { return nbytes_; }
  const absl::StatusOr<Blob>& Pickled() const override { return pickled_; }

 private:
  const int64_t nbytes_;
  const absl::StatusOr<Blob> pickled_;
};

TEST(DataStoreSpillTest, UnpicklableObjectsStayInMemoryAndOthersSpill) {
  SpillStore spill(TempBase());
  DataStore store(&spill, 0);
  store.Put("lock", Value::LocalPickle(std::make_shared<RuntimeObject>(
                        500, absl::FailedPreconditionError("cannot pickle a result of type lock"))));
  store.Put("obj", Value::LocalPickle(std::make_shared<RuntimeObject>(700, Blob::Copy("pickled"))));
  store.Put("bytes", BytesOf(300));
  // "lock" is the oldest: it is skipped, the others go to disk.
  EXPECT_EQ(store.SpillLeastRecentlyUsed(0), 700 + BytesOf(300).ByteSize());
  EXPECT_FALSE(Spilled(store, "lock"));
  EXPECT_TRUE(Spilled(store, "obj"));
  EXPECT_FALSE(store.spill_failing());
  EXPECT_EQ(store.memory_bytes(), 500);
  // The spilled object comes back as its pickle.
  std::shared_ptr<const Value> back = store.Get("obj");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->local_object(), nullptr);
  EXPECT_EQ(back->as_pickle().ToString(), "pickled");
  // Passes with nothing else to spill end instead of spinning on "lock".
  EXPECT_EQ(store.SpillLeastRecentlyUsed(0), store.Describe("obj")->nbytes);
  EXPECT_EQ(store.SpillLeastRecentlyUsed(0), 0);
  EXPECT_EQ(store.memory_bytes(), 500);
  EXPECT_FALSE(store.spill_failing());
}

TEST(DataStoreSpillTest, RoundTripIsExactForArraysAndNestedValues) {
  SpillStore spill(TempBase());
  DataStore store(&spill, 1);  // everything is spilled
  std::vector<std::pair<std::string, Value>> values = {
      {"array", ArrayOf(100000, 0.25)},
      {"nested", Value::List({ArrayOf(7, -1), Value::String("s"),
                              Value::Map({{"k", Value::Bytes(Blob::Copy(std::string("\0\xff", 2)))}})})},
      {"int", Value::Int(-5)},
      {"last", Value::Double(1.5)},
  };
  for (auto& [k, v] : values) store.Put(k, v);
  EXPECT_TRUE(Spilled(store, "array"));
  EXPECT_TRUE(Spilled(store, "nested"));
  for (auto& [k, v] : values) {
    absl::StatusOr<std::shared_ptr<const Value>> back = store.Load(k);
    ASSERT_TRUE(back.ok()) << k << ": " << back.status();
    EXPECT_EQ(**back, v) << k;
  }
  EXPECT_GT(spill.counters().bytes_out.load(), 800000);
  EXPECT_GT(spill.counters().count_in.load(), 0);
}

TEST(DataStoreSpillTest, CorruptSpillFileLosesTheKeyInsteadOfReturningGarbage) {
  SpillStore spill(TempBase());
  DataStore store(&spill, 0);
  std::vector<std::string> lost;
  store.SetLossHandler([&lost](const std::string& key, const absl::Status&) { lost.push_back(key); });
  Value v = ArrayOf(4096, 3);
  store.Put("x", v);
  store.Put("y", Value::Int(7));
  ASSERT_EQ(store.SpillLeastRecentlyUsed(0), v.ByteSize() + Value::Int(7).ByteSize());
  // Flip one byte in every spill file.
  for (auto& f : std::filesystem::directory_iterator(spill.directory())) {
    std::fstream file(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(0);
    char c = static_cast<char>(file.get());
    file.seekp(0);
    file.put(static_cast<char>(c ^ 0x5a));
  }
  absl::StatusOr<std::shared_ptr<const Value>> back = store.Load("x");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(back.status().message().find("key 'x' was lost"), std::string::npos) << back.status();
  EXPECT_NE(back.status().message().find("CRC-32C"), std::string::npos) << back.status();
  EXPECT_FALSE(store.Contains("x"));
  EXPECT_EQ(store.Get("y"), nullptr);
  EXPECT_EQ(lost, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.spilled_bytes(), 0);
  EXPECT_EQ(store.Load("x").status().code(), absl::StatusCode::kNotFound);
}

TEST(DataStoreSpillTest, FailedWritesKeepValuesInMemory) {
  const std::string base = TempBase();
  const std::string file = base + "/a-file";
  std::ofstream(file) << "not a directory";
  SpillStore spill(file);
  const int64_t each = BytesOf(100).ByteSize();
  DataStore store(&spill, each);
  store.Put("a", BytesOf(100));
  EXPECT_FALSE(store.spill_failing());
  store.Put("b", BytesOf(100));  // above target: the spill fails
  EXPECT_TRUE(store.spill_failing());
  EXPECT_FALSE(Spilled(store, "a"));
  EXPECT_EQ(store.memory_bytes(), 2 * each);
  EXPECT_EQ(store.spilled_bytes(), 0);
  ASSERT_NE(store.Get("a"), nullptr);
  EXPECT_EQ(*store.Get("a"), BytesOf(100));
  EXPECT_EQ(store.SpillLeastRecentlyUsed(0), 0);  // within the retry delay: no attempt
  EXPECT_EQ(spill.counters().write_failures.load(), 1);
  // Memory back under the target clears the failure.
  store.Erase("b");
  EXPECT_FALSE(store.spill_failing());
}

// The worker pauses on a failed spill at once (its handler runs the memory
// policy): the handler fires, with spill_failing() already true, when a
// Put's spill fails, and not when a write succeeds or for the monitor's own
// SpillLeastRecentlyUsed.
TEST(DataStoreSpillTest, FailedWriteOfAPutCallsTheSpillFailureHandler) {
  const std::string base = TempBase();
  const std::string file = base + "/not-a-dir";
  std::ofstream(file) << "not a directory";
  SpillStore broken(file);
  const int64_t each = BytesOf(100).ByteSize();
  DataStore store(&broken, each);
  std::vector<bool> calls;  // spill_failing() seen by each call
  store.SetSpillFailureHandler([&] { calls.push_back(store.spill_failing()); });
  store.Put("a", BytesOf(100));
  EXPECT_TRUE(calls.empty());
  store.Put("b", BytesOf(100));  // above target: the write fails
  EXPECT_EQ(calls, std::vector<bool>{true});
  EXPECT_EQ(*store.Get("b"), BytesOf(100));  // kept in memory, intact
  EXPECT_EQ(store.SpillLeastRecentlyUsed(0), 0);
  EXPECT_EQ(calls.size(), 1u);

  SpillStore working(base + "/spill");
  DataStore healthy(&working, each);
  int healthy_calls = 0;
  healthy.SetSpillFailureHandler([&] { ++healthy_calls; });
  healthy.Put("a", BytesOf(100));
  healthy.Put("b", BytesOf(100));  // spills "a"
  EXPECT_TRUE(Spilled(healthy, "a"));
  EXPECT_EQ(healthy_calls, 0);
}

TEST(DataStoreSpillTest, ConcurrentPutsAndGetsWhileSpilling) {
  SpillStore spill(TempBase());
  const int64_t each = BytesOf(1000).ByteSize();
  DataStore store(&spill, 20 * each);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 200; ++i) {
        std::string key = std::to_string(t) + "-" + std::to_string(i);
        store.Put(key, Value::Bytes(Blob::Copy(std::string(1000, static_cast<char>('a' + t)))));
        std::string old = std::to_string(t) + "-" + std::to_string(i / 2);
        std::shared_ptr<const Value> v = store.Get(old);
        ASSERT_NE(v, nullptr) << old;
        EXPECT_EQ(v->as_bytes().view(), std::string(1000, static_cast<char>('a' + t)));
        // Keys below i/4 are no longer read.
        if (i % 4 == 0 && i >= 4) store.Erase(std::to_string(t) + "-" + std::to_string(i / 4 - 1));
      }
    });
  }
  for (auto& th : threads) th.join();
  int64_t expected = 0;
  for (const DataStore::KeyInfo& k : store.Snapshot()) expected += k.nbytes;
  EXPECT_EQ(store.memory_bytes() + store.spilled_bytes(), expected);
  store.SpillLeastRecentlyUsed(20 * each);
  EXPECT_LE(store.memory_bytes(), 20 * each);
  EXPECT_GT(store.spilled_bytes(), 0);
}

}  // namespace
}  // namespace taskgrid::worker
