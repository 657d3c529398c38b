#include "clients/cpp/fake_cluster_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "common/chunking.h"
#include "common/data_chunk_proto.h"
#include "common/value_codec.h"

namespace taskgrid::testing {

grpc::Status FakeScheduler::ClientSession(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ClientEventBatch, v1::ClientBatch>* stream) {
  v1::ClientBatch batch;
  if (!stream->Read(&batch) || batch.messages_size() == 0 || !batch.messages(0).has_hello()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected a hello first");
  }
  {
    std::lock_guard<std::mutex> wl(write_mu_);
    std::lock_guard<std::mutex> l(mu_);
    context_ = context;
    stream_ = stream;
    hellos_.push_back(batch.messages(0).hello());
  }
  v1::ClientEventBatch welcome;
  welcome.add_events()->mutable_welcome()->set_client_id("client-7");
  Send(welcome);
  auto record = [this](v1::ClientBatch& b, int skip) {
    std::lock_guard<std::mutex> l(mu_);
    ++batches_;
    for (int i = skip; i < b.messages_size(); ++i) received_.push_back(b.messages(i));
    cv_.notify_all();
  };
  record(batch, 1);
  while (stream->Read(&batch)) record(batch, 0);
  std::lock_guard<std::mutex> wl(write_mu_);
  std::lock_guard<std::mutex> l(mu_);
  context_ = nullptr;
  stream_ = nullptr;
  return grpc::Status::OK;
}

std::optional<v1::ClientMessage> FakeScheduler::NextMessage() {
  std::unique_lock<std::mutex> l(mu_);
  if (!cv_.wait_for(l, std::chrono::seconds(10), [this] { return !received_.empty(); })) {
    return std::nullopt;
  }
  v1::ClientMessage m = std::move(received_.front());
  received_.pop_front();
  return m;
}

std::optional<v1::UpdateGraph> FakeScheduler::NextUpdate() {
  std::optional<v1::ClientMessage> m = NextMessage();
  if (!m.has_value() || !m->has_update_graph()) {
    LOG(ERROR) << "expected an UpdateGraph, got "
               << (m.has_value() ? m->ShortDebugString() : "nothing");
    return std::nullopt;
  }
  return m->update_graph();
}

int FakeScheduler::batches_received() {
  std::lock_guard<std::mutex> l(mu_);
  return batches_;
}

void FakeScheduler::Send(v1::ClientEventBatch batch) {
  std::lock_guard<std::mutex> wl(write_mu_);
  grpc::ServerReaderWriter<v1::ClientEventBatch, v1::ClientBatch>* stream;
  {
    std::lock_guard<std::mutex> l(mu_);
    stream = stream_;
  }
  if (stream != nullptr) stream->Write(batch);
}

void FakeScheduler::Ack(uint64_t request_id, bool accepted, const std::string& error) {
  v1::ClientEventBatch b;
  v1::GraphAck* ack = b.add_events()->mutable_graph_ack();
  ack->set_request_id(request_id);
  ack->set_accepted(accepted);
  ack->set_error(error);
  Send(std::move(b));
}

void FakeScheduler::Memory(const std::string& key, const std::vector<std::string>& workers) {
  v1::ClientEventBatch b;
  v1::KeyEvent* ev = b.add_events()->mutable_key_event();
  ev->set_key(key);
  ev->set_state(v1::KEY_STATE_MEMORY);
  for (const std::string& w : workers) ev->add_workers(w);
  Send(std::move(b));
}

void FakeScheduler::State(const std::string& key, v1::KeyState state, v1::TaskError error) {
  v1::ClientEventBatch b;
  v1::KeyEvent* ev = b.add_events()->mutable_key_event();
  ev->set_key(key);
  ev->set_state(state);
  if (!error.message().empty() || !error.function().empty()) *ev->mutable_error() = error;
  Send(std::move(b));
}

std::vector<v1::ClientHello> FakeScheduler::hellos() {
  std::lock_guard<std::mutex> l(mu_);
  return hellos_;
}

void FakeScheduler::EndSession() {
  std::lock_guard<std::mutex> l(mu_);
  if (context_ != nullptr) context_->TryCancel();
}

grpc::Status FakeWorker::GetData(grpc::ServerContext*, const v1::GetDataRequest* request,
                                 grpc::ServerWriter<v1::DataChunk>* writer) {
  std::map<std::string, Value> data;
  {
    std::lock_guard<std::mutex> l(mu_);
    ++calls_;
    data = data_;
  }
  // Like a real worker, packs whole values and errors into batches when
  // the receiver accepts them; values of several chunks go on their own.
  v1::DataChunk batch;
  auto flush = [&] {
    if (batch.batch_size() == 0) return;
    writer->Write(batch);
    batch.Clear();
    std::lock_guard<std::mutex> l(mu_);
    ++batches_;
  };
  const bool batching = request->max_batch_bytes() > 0;
  for (const std::string& key : request->keys()) {
    v1::DataChunk chunk;
    chunk.set_key(key);
    auto it = data.find(key);
    if (it == data.end()) {
      chunk.set_error("not held here");
      if (batching) {
        *batch.add_batch() = chunk;
      } else {
        writer->Write(chunk);
      }
      continue;
    }
    EncodedValue encoded = EncodeValue(it->second);
    if (batching && encoded.total_bytes <= chunk_bytes_) {
      ForEachChunk(encoded, chunk_bytes_, [&](const ChunkView& c) {
        ChunkToProto(c, batch.add_batch());
        batch.mutable_batch()->rbegin()->set_key(key);
        return true;
      });
      continue;
    }
    flush();
    ForEachChunk(encoded, chunk_bytes_, [&](const ChunkView& c) {
      ChunkToProto(c, &chunk);
      return writer->Write(chunk);
    });
  }
  flush();
  return grpc::Status::OK;
}

void FakeWorker::Put(const std::string& key, Value v) {
  std::lock_guard<std::mutex> l(mu_);
  data_[key] = std::move(v);
}

int FakeWorker::batches_sent() {
  std::lock_guard<std::mutex> l(mu_);
  return batches_;
}

int FakeWorker::get_data_calls() {
  std::lock_guard<std::mutex> l(mu_);
  return calls_;
}

FakeServer::FakeServer(std::vector<grpc::Service*> services) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  server_ = builder.BuildAndStart();
  CHECK(server_ != nullptr && port > 0) << "cannot start a test server";
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeServer::~FakeServer() { server_->Shutdown(std::chrono::system_clock::now()); }

namespace {

// A socket bound to 127.0.0.1 on any port; *address gets "127.0.0.1:PORT".
int BindLoopback(std::string* address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  CHECK_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  *address = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  return fd;
}

}  // namespace

std::string DeadAddress() {
  std::string address;
  close(BindLoopback(&address));
  return address;
}

SilentListener::SilentListener() {
  fd_ = BindLoopback(&address_);
  CHECK_EQ(listen(fd_, 16), 0);
}

SilentListener::~SilentListener() { close(fd_); }

}  // namespace taskgrid::testing
