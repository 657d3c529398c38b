#include "services/worker/worker_service.h"

#include <grpcpp/grpcpp.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "common/chunking.h"
#include "common/data_chunk_proto.h"
#include "common/grpc_util.h"
#include "common/value_codec.h"

namespace taskgrid::worker {
namespace {

using ::testing::HasSubstr;

class RecordingHandler : public WorkerServiceHandler {
 public:
  std::vector<v1::KeyLocation> HandlePutData(std::vector<std::pair<std::string, Value>> values,
                                             const std::string& client_id) override {
    put_by = client_id;
    std::vector<v1::KeyLocation> out;
    for (auto& [key, value] : values) {
      v1::KeyLocation loc;
      loc.set_key(key);
      loc.add_workers("here:1");
      loc.set_nbytes(value.ByteSize());
      out.push_back(loc);
      put.emplace_back(key, value);
    }
    return out;
  }
  void HandleStatus(v1::WorkerStatus* status) override {
    status->set_address("here:1");
    status->set_keys_held(42);
  }
  std::vector<std::pair<std::string, Value>> put;
  std::string put_by;
};

class WorkerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    ConfigureServerBuilder(&builder);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = v1::Worker::NewStub(MakeChannel("127.0.0.1:" + std::to_string(port)));
  }
  void TearDown() override { server_->Shutdown(); }

  struct Fetched {
    std::map<std::string, Value> values;
    std::map<std::string, std::string> errors;
    std::map<std::string, int> chunks;
    std::vector<std::string> order;  // keys as their last chunk arrived
    int messages = 0;
    int batches = 0;
    std::set<std::string> batched;  // keys that came inside a batch
    grpc::Status status;
  };

  // GetData with the generated (typed) stub, as any client would.
  Fetched Get(const std::vector<std::string>& keys, int64_t max_chunk = 0,
              int64_t max_batch = 0) {
    Fetched out;
    v1::GetDataRequest request;
    for (const auto& k : keys) request.add_keys(k);
    request.set_requester("test");
    request.set_max_chunk_bytes(max_chunk);
    request.set_max_batch_bytes(max_batch);
    grpc::ClientContext context;
    auto reader = stub_->GetData(&context, request);
    v1::DataChunk message;
    std::map<std::string, ChunkAssembler> assemblers;
    auto take = [&](const v1::DataChunk& chunk) {
      ++out.chunks[chunk.key()];
      if (!chunk.error().empty()) {
        out.errors[chunk.key()] = chunk.error();
        out.order.push_back(chunk.key());
        return;
      }
      ChunkAssembler& a = assemblers[chunk.key()];
      absl::Status s = a.Add(chunk.total_bytes(), chunk.offset(), chunk.data(), chunk.last(),
                             chunk.crc32c());
      EXPECT_TRUE(s.ok()) << s;
      if (a.complete()) {
        absl::StatusOr<Value> v = DecodeValue(a.Take());
        EXPECT_TRUE(v.ok()) << v.status();
        if (v.ok()) out.values[chunk.key()] = *v;
        out.order.push_back(chunk.key());
      }
    };
    while (reader->Read(&message)) {
      ++out.messages;
      if (message.batch_size() == 0) {
        take(message);
        continue;
      }
      ++out.batches;
      EXPECT_TRUE(message.key().empty() && message.data().empty() && !message.last());
      for (const v1::DataChunk& entry : message.batch()) {
        EXPECT_TRUE(!entry.error().empty() || (entry.offset() == 0 && entry.last()));
        out.batched.insert(entry.key());
        take(entry);
      }
    }
    out.status = reader->Finish();
    return out;
  }

  DataStore store_;
  WorkerStats stats_{1};
  RecordingHandler handler_;
  WorkerService service_{&store_, &stats_, &handler_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Worker::Stub> stub_;
};

Value BytesOf(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return Value::Bytes(Blob::FromString(std::move(s)));
}

TEST_F(WorkerServiceTest, StreamsValuesOfEverySize) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1} << 20, size_t{5} << 20}) {
    std::string key = "bytes-" + std::to_string(n);
    store_.Put(key, BytesOf(n));
    Fetched f = Get({key});
    ASSERT_TRUE(f.status.ok()) << f.status.error_message();
    ASSERT_EQ(f.values.count(key), 1u) << key;
    EXPECT_EQ(f.values[key], BytesOf(n));
    // Default chunks are 1 MiB: 5 MiB of payload plus framing needs 6.
    int expected_chunks = static_cast<int>(EncodeValue(BytesOf(n)).total_bytes / kDefaultChunkBytes) + 1;
    EXPECT_EQ(f.chunks[key], expected_chunks) << key;
  }
  EXPECT_EQ(WorkerStats::Read(stats_.transfers_out), 4);
  EXPECT_GE(WorkerStats::Read(stats_.transfer_bytes_out), int64_t{6} << 20);
}

TEST_F(WorkerServiceTest, UnknownKeyGetsAnErrorChunk) {
  store_.Put("a", Value::Int(1));
  store_.Put("c", Value::List({Value::String("x"), BytesOf(3000000)}));
  Fetched f = Get({"a", "missing", "c"});
  ASSERT_TRUE(f.status.ok()) << f.status.error_message();
  EXPECT_EQ(f.values["a"], Value::Int(1));
  EXPECT_EQ(f.values["c"], Value::List({Value::String("x"), BytesOf(3000000)}));
  EXPECT_EQ(f.values.count("missing"), 0u);
  EXPECT_THAT(f.errors["missing"], HasSubstr("'missing' is not held"));
  EXPECT_EQ(f.chunks["missing"], 1);
}

TEST_F(WorkerServiceTest, HonoursRequestedChunkSize) {
  store_.Put("v", BytesOf(100000));
  Fetched f = Get({"v"}, 16384);
  ASSERT_TRUE(f.status.ok());
  EXPECT_EQ(f.values["v"], BytesOf(100000));
  EXPECT_EQ(f.chunks["v"], 7);  // 100000 + framing bytes in 16 KiB chunks
  // Tiny requests are raised to the minimum rather than producing
  // thousands of messages.
  Fetched g = Get({"v"}, 1);
  EXPECT_EQ(g.chunks["v"], 25);
}

TEST_F(WorkerServiceTest, SmallValuesComeInBatchesOnlyWhenAsked) {
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) {
    keys.push_back("small-" + std::to_string(i));
    store_.Put(keys.back(), Value::Int(i));
    if (i == 700) {
      // Too big to batch, and one without a value: both between batches.
      keys.push_back("big");
      store_.Put("big", BytesOf(200000));
      keys.push_back("missing");
    }
  }
  keys.push_back("big-tail");  // the stream ends with chunks, not a batch
  store_.Put("big-tail", BytesOf(100000));
  Fetched plain = Get(keys);
  ASSERT_TRUE(plain.status.ok()) << plain.status.error_message();
  EXPECT_EQ(plain.batches, 0);
  EXPECT_EQ(plain.messages, static_cast<int>(keys.size()));

  Fetched f = Get(keys, 0, /*max_batch=*/16 << 10);
  ASSERT_TRUE(f.status.ok()) << f.status.error_message();
  EXPECT_EQ(f.order, keys);
  ASSERT_EQ(f.values.size(), keys.size() - 1);
  EXPECT_EQ(f.values["big-tail"], BytesOf(100000));
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(f.values["small-" + std::to_string(i)], Value::Int(i));
  EXPECT_EQ(f.values["big"], BytesOf(200000));
  EXPECT_THAT(f.errors["missing"], HasSubstr("'missing' is not held"));
  EXPECT_EQ(f.batched.count("big"), 0u);
  EXPECT_EQ(f.batched.count("missing"), 1u);
  EXPECT_EQ(f.batched.size(), keys.size() - 2);
  // ~30 bytes per small entry: a handful of 16 KiB batches, and each big
  // value in a message of its own.
  EXPECT_EQ(f.messages, f.batches + 2);
  EXPECT_GE(f.batches, 3);
  EXPECT_LE(f.batches, 8);
  EXPECT_EQ(WorkerStats::Read(stats_.transfers_out), 2 * 2002);
}

TEST_F(WorkerServiceTest, EmptyRequestFinishesCleanly) {
  Fetched f = Get({});
  EXPECT_TRUE(f.status.ok());
  EXPECT_TRUE(f.values.empty());
}

TEST_F(WorkerServiceTest, PutDataStoresWholeValues) {
  grpc::ClientContext context;
  v1::PutDataResponse response;
  auto writer = stub_->PutData(&context, &response);
  std::vector<std::pair<std::string, Value>> sent = {{"p1", Value::Int(5)},
                                                     {"p2", BytesOf(2500000)}};
  for (const auto& [key, value] : sent) {
    ForEachChunk(EncodeValue(value), 1 << 20, [&, &key = key](const ChunkView& c) {
      v1::DataChunk chunk;
      chunk.set_key(key);
      chunk.set_client_id("client:3");  // a scatter
      ChunkToProto(c, &chunk);
      return writer->Write(chunk);
    });
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(handler_.put_by, "client:3");
  ASSERT_EQ(response.stored_size(), 2);
  EXPECT_EQ(response.stored(0).key(), "p1");
  EXPECT_EQ(response.stored(1).workers(0), "here:1");
  ASSERT_EQ(handler_.put.size(), 2u);
  EXPECT_EQ(handler_.put[1].second, BytesOf(2500000));
}

TEST_F(WorkerServiceTest, PutDataRejectsCorruptChunks) {
  grpc::ClientContext context;
  v1::PutDataResponse response;
  auto writer = stub_->PutData(&context, &response);
  v1::DataChunk chunk;
  chunk.set_key("bad");
  chunk.set_total_bytes(3);
  chunk.set_data("abc");
  chunk.set_last(true);
  chunk.set_crc32c(12345);  // wrong
  writer->Write(chunk);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'bad'"));
  EXPECT_TRUE(handler_.put.empty());
}

TEST_F(WorkerServiceTest, Status) {
  grpc::ClientContext context;
  v1::WorkerStatus status;
  ASSERT_TRUE(stub_->Status(&context, v1::WorkerStatusRequest(), &status).ok());
  EXPECT_EQ(status.address(), "here:1");
  EXPECT_EQ(status.keys_held(), 42);
}

}  // namespace
}  // namespace taskgrid::worker
