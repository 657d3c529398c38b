#pragma once
// In-process fakes for client tests: a scheduler whose ClientSession records
// what the client sends and lets the test send events back, and a worker
// whose GetData serves values the test put there (in small chunks, so
// reassembly is exercised). Both run in a real gRPC server on 127.0.0.1 so
// the client is tested over its real transport, without sleeps: tests wait
// for messages, not for time.
//
// Thread-safety: every public method may be called from any thread.

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/value.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "taskgrid/v1/worker.grpc.pb.h"

namespace taskgrid::testing {

class FakeScheduler final : public v1::Scheduler::Service {
 public:
  grpc::Status ClientSession(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ClientEventBatch, v1::ClientBatch>* stream) override;

  // The next message the client sent after its hello (waits up to 10 s).
  std::optional<v1::ClientMessage> NextMessage();
  // The next message, which must be an UpdateGraph (else nullopt).
  std::optional<v1::UpdateGraph> NextUpdate();
  int batches_received();

  void Send(v1::ClientEventBatch batch);
  void Ack(uint64_t request_id, bool accepted = true, const std::string& error = "");
  void Memory(const std::string& key, const std::vector<std::string>& workers);
  void State(const std::string& key, v1::KeyState state, v1::TaskError error = {});
  // Ends the current session from the scheduler's side.
  void EndSession();
  // The hello of every session opened so far, oldest first.
  std::vector<v1::ClientHello> hellos();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::ClientMessage> received_;
  std::vector<v1::ClientHello> hellos_;
  int batches_ = 0;
  grpc::ServerContext* context_ = nullptr;
  grpc::ServerReaderWriter<v1::ClientEventBatch, v1::ClientBatch>* stream_ = nullptr;
  std::mutex write_mu_;
};

class FakeWorker final : public v1::Worker::Service {
 public:
  explicit FakeWorker(size_t chunk_bytes = 7) : chunk_bytes_(chunk_bytes) {}
  grpc::Status GetData(grpc::ServerContext* context, const v1::GetDataRequest* request,
                       grpc::ServerWriter<v1::DataChunk>* writer) override;

  void Put(const std::string& key, Value v);
  int get_data_calls();
  // Messages sent that carried a batch of whole values.
  int batches_sent();

 private:
  const size_t chunk_bytes_;
  std::mutex mu_;
  std::map<std::string, Value> data_;
  int calls_ = 0;
  int batches_ = 0;
};

// A gRPC server on 127.0.0.1 with any port, hosting the given services.
class FakeServer {
 public:
  explicit FakeServer(std::vector<grpc::Service*> services);
  ~FakeServer();
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// An address where nothing listens (connections are refused).
std::string DeadAddress();

// A TCP listener on 127.0.0.1 that never answers (a hung scheduler).
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

}  // namespace taskgrid::testing
