#include "services/worker/spill_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/value_codec.h"

namespace taskgrid::worker {
namespace {

std::string TempBase() {
  std::string pattern = testing::TempDir() + "/spill_store_test-XXXXXX";
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

Value ArrayOf(int64_t n) {
  std::string data(static_cast<size_t>(n) * sizeof(double), '\0');
  for (int64_t i = 0; i < n; ++i) {
    double v = static_cast<double>(i) * 0.5 - 3;
    std::memcpy(data.data() + i * sizeof(double), &v, sizeof(v));
  }
  NDArray a;
  a.dtype = DType::kFloat64;
  a.shape = {n / 4, 4};
  a.data = Blob::FromString(std::move(data));
  return Value::Array(std::move(a));
}

TEST(SpillStoreTest, RoundTripIsByteExact) {
  SpillStore spill(TempBase());
  Value nested = Value::Map({{"array", ArrayOf(1 << 16)},
                             {"bytes", Value::Bytes(Blob::Copy(std::string("\0\1\2xyz", 6)))},
                             {"list", Value::List({Value::Int(-7), Value::Double(2.5),
                                                   Value::String("s"), Value::Null()})}});
  for (const Value& v : {nested, ArrayOf(8), Value::Int(42), Value::Bytes(Blob())}) {
    absl::StatusOr<SpillStore::Record> record = spill.Write(v);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->file_bytes, static_cast<int64_t>(EncodeValue(v).total_bytes));
    absl::StatusOr<Blob> encoded = spill.ReadEncoded(*record);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    // The file holds exactly the wire encoding.
    EXPECT_EQ(encoded->view(), EncodeValue(v).Flatten());
    absl::StatusOr<Value> back = spill.Read(*record);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, v);
    spill.Remove(*record);
    EXPECT_FALSE(spill.Read(*record).ok());
  }
  EXPECT_EQ(spill.counters().count_out.load(), 4);
  EXPECT_EQ(spill.counters().count_in.load(), 8);
}

TEST(SpillStoreTest, CorruptedOrTruncatedFileIsDataLoss) {
  SpillStore spill(TempBase());
  Value v = ArrayOf(1024);
  absl::StatusOr<SpillStore::Record> record = spill.Write(v);
  ASSERT_TRUE(record.ok()) << record.status();
  const std::string path = spill.directory() + "/" + std::to_string(record->id) + ".value";
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << path;
    f.seekp(record->file_bytes / 2);
    f.put('\x7f');
  }
  absl::StatusOr<Value> back = spill.Read(*record);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(back.status().message().find("CRC-32C mismatch"), std::string::npos)
      << back.status();

  ASSERT_EQ(truncate(path.c_str(), record->file_bytes - 1), 0);
  back = spill.Read(*record);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(back.status().message().find("expected"), std::string::npos) << back.status();
  EXPECT_EQ(spill.counters().read_failures.load(), 2);
}

TEST(SpillStoreTest, UnusableDirectoryFailsClearly) {
  const std::string base = TempBase();
  const std::string file = base + "/not-a-directory";
  std::ofstream(file) << "x";
  SpillStore on_file(file);
  absl::StatusOr<SpillStore::Record> record = on_file.Write(Value::Int(1));
  ASSERT_FALSE(record.ok());
  EXPECT_NE(record.status().message().find(file), std::string::npos) << record.status();
  EXPECT_EQ(on_file.counters().write_failures.load(), 1);

  SpillStore missing_parent(base + "/no/such/parent");
  EXPECT_FALSE(missing_parent.Write(Value::Int(1)).ok());
}

TEST(SpillStoreTest, PrivateDirectoryIsRemoved) {
  const std::string base = TempBase();
  std::string dir;
  {
    SpillStore spill(base);
    ASSERT_TRUE(spill.Write(Value::Int(1)).ok());
    dir = spill.directory();
    EXPECT_EQ(dir.rfind(base + "/taskgrid-worker-", 0), 0u) << dir;
    EXPECT_TRUE(std::filesystem::is_directory(dir));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(std::filesystem::is_directory(base));  // the base is not ours
}

}  // namespace
}  // namespace taskgrid::worker
