#include "services/worker/scheduler_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>

#include <grpcpp/grpcpp.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/grpc_util.h"

namespace taskgrid::worker {
namespace {

using ::testing::ElementsAre;

// State shared with the test thread, guarded by mu_.
struct Monitor {
  // Waits until pred() holds (evaluated under the lock).
  template <typename Pred>
  void WaitUntil(Pred pred) {
    absl::MutexLock lock(&mu_);
    auto cond = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pred(); };
    mu_.Await(absl::Condition(&cond));
  }
  absl::Mutex mu_;
};

// A scheduler that accepts WorkerSession streams, records what workers
// send and sends what the test queues.
class FakeScheduler final : public v1::Scheduler::Service, public Monitor {
 public:
  grpc::Status WorkerSession(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::WorkerCommandBatch, v1::WorkerBatch>* stream) override {
    v1::WorkerBatch first;
    if (!stream->Read(&first) || first.messages_size() == 0 || !first.messages(0).has_register_()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "register first");
    }
    int session;
    {
      absl::MutexLock lock(&mu_);
      registrations_.push_back(first.messages(0).register_());
      session = ++sessions_;
      end_session_ = false;
      client_done_ = false;
    }
    v1::WorkerCommandBatch ack;
    if (reply_without_ack_) {
      ack.add_commands()->mutable_compute_task()->mutable_spec()->set_key("too-early");
    } else {
      v1::RegisterAck* a = ack.add_commands()->mutable_register_ack();
      a->set_worker_id("w-" + std::to_string(session));
      a->set_heartbeat_interval_seconds(0.02);
    }
    stream->Write(ack);
    std::thread reader([this, stream] {
      v1::WorkerBatch batch;
      while (stream->Read(&batch)) {
        absl::MutexLock lock(&mu_);
        ++batches_;
        for (const auto& m : batch.messages()) received_.push_back(m);
      }
      absl::MutexLock lock(&mu_);
      client_done_ = true;
    });
    for (;;) {
      v1::WorkerCommandBatch out;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !to_send_.empty() || end_session_ || client_done_;
        };
        mu_.Await(absl::Condition(&ready));
        if (end_session_ || client_done_) break;
        out = std::move(to_send_.front());
        to_send_.pop_front();
      }
      stream->Write(out);
    }
    context->TryCancel();  // unblocks the reader if the server ends the session
    reader.join();
    return grpc::Status::OK;
  }

  void SendCommands(v1::WorkerCommandBatch batch) {
    absl::MutexLock lock(&mu_);
    to_send_.push_back(std::move(batch));
  }
  void EndSession() {
    absl::MutexLock lock(&mu_);
    end_session_ = true;
  }
  std::vector<v1::RegisterWorker> registrations_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::WorkerMessage> received_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::WorkerCommandBatch> to_send_ ABSL_GUARDED_BY(mu_);
  int sessions_ ABSL_GUARDED_BY(mu_) = 0;
  int batches_ ABSL_GUARDED_BY(mu_) = 0;
  bool end_session_ ABSL_GUARDED_BY(mu_) = false;
  bool client_done_ ABSL_GUARDED_BY(mu_) = false;
  bool reply_without_ack_ = false;  // set before the first session
};

class RecordingHandler : public SessionHandler, public Monitor {
 public:
  v1::RegisterWorker MakeRegistration() override {
    v1::RegisterWorker r;
    r.set_address("10.0.0.9:1");
    r.set_nthreads(2);
    absl::MutexLock lock(&mu_);
    for (const auto& k : held_) r.add_held_keys()->set_key(k);
    return r;
  }
  void FillHeartbeat(v1::WorkerHeartbeat* hb) override { hb->set_executing(7); }
  void HandleCommands(v1::WorkerCommandBatch* batch) override {
    absl::MutexLock lock(&mu_);
    for (const auto& c : batch->commands()) {
      if (c.has_compute_task()) computed_.push_back(c.compute_task().spec().key());
    }
  }
  void OnSchedulerLost() override {
    absl::MutexLock lock(&mu_);
    ++lost_;
  }
  std::vector<std::string> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> computed_ ABSL_GUARDED_BY(mu_);
  int lost_ ABSL_GUARDED_BY(mu_) = 0;
};

class SchedulerConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&scheduler_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override {
    connection_.reset();
    server_->Shutdown(std::chrono::system_clock::now());
  }
  void Connect() {
    SchedulerConnection::Options o;
    o.address = address_;
    o.retry_interval = absl::Milliseconds(20);
    connection_ = std::make_unique<SchedulerConnection>(o);
    connection_->Start(&handler_);
  }
  static std::unique_ptr<v1::WorkerMessage> Finished(const std::string& key) {
    auto m = std::make_unique<v1::WorkerMessage>();
    m->mutable_task_finished()->set_key(key);
    return m;
  }

  FakeScheduler scheduler_;
  RecordingHandler handler_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<SchedulerConnection> connection_;
};

TEST_F(SchedulerConnectionTest, RegistersExchangesMessagesAndHeartbeats) {
  Connect();
  scheduler_.WaitUntil([&] { return scheduler_.sessions_ == 1; });
  while (!connection_->registered()) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(connection_->worker_id(), "w-1");
  {
    absl::MutexLock lock(&scheduler_.mu_);
    EXPECT_EQ(scheduler_.registrations_[0].address(), "10.0.0.9:1");
    EXPECT_EQ(scheduler_.registrations_[0].nthreads(), 2);
  }

  v1::WorkerCommandBatch batch;
  batch.add_commands()->mutable_compute_task()->mutable_spec()->set_key("t1");
  batch.add_commands()->mutable_compute_task()->mutable_spec()->set_key("t2");
  scheduler_.SendCommands(batch);
  handler_.WaitUntil([&] { return handler_.computed_.size() == 2; });
  {
    absl::MutexLock lock(&handler_.mu_);
    EXPECT_THAT(handler_.computed_, ElementsAre("t1", "t2"));
  }

  std::vector<std::unique_ptr<v1::WorkerMessage>> out;
  out.push_back(Finished("t1"));
  out.push_back(Finished("t2"));
  connection_->Send(std::move(out));
  scheduler_.WaitUntil([&] {
    int finished = 0, heartbeats = 0;
    for (const auto& m : scheduler_.received_) {
      finished += m.has_task_finished();
      heartbeats += m.has_heartbeat() && m.heartbeat().executing() == 7;
    }
    return finished == 2 && heartbeats >= 2;
  });
}

TEST_F(SchedulerConnectionTest, CloseSendsWorkerClosingAndEndsTheSession) {
  Connect();
  while (!connection_->registered()) absl::SleepFor(absl::Milliseconds(1));
  connection_->Close("bye", absl::Seconds(10));
  absl::MutexLock lock(&scheduler_.mu_);
  ASSERT_FALSE(scheduler_.received_.empty());
  const v1::WorkerMessage& last = scheduler_.received_.back();
  ASSERT_TRUE(last.has_closing()) << last.DebugString();
  EXPECT_EQ(last.closing().reason(), "bye");
  EXPECT_TRUE(scheduler_.client_done_);
  EXPECT_EQ(scheduler_.sessions_, 1);  // no reconnect after Close
}

TEST_F(SchedulerConnectionTest, ReconnectsAndReregistersAfterLosingTheScheduler) {
  Connect();
  while (!connection_->registered()) absl::SleepFor(absl::Milliseconds(1));
  {
    absl::MutexLock lock(&handler_.mu_);
    handler_.held_.push_back("kept-key");
  }
  scheduler_.EndSession();
  handler_.WaitUntil([&] { return handler_.lost_ == 1; });
  scheduler_.WaitUntil([&] { return scheduler_.sessions_ == 2; });
  absl::MutexLock lock(&scheduler_.mu_);
  ASSERT_EQ(scheduler_.registrations_.size(), 2u);
  ASSERT_EQ(scheduler_.registrations_[1].held_keys_size(), 1);
  EXPECT_EQ(scheduler_.registrations_[1].held_keys(0).key(), "kept-key");
}

// A port that was free a moment ago.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(SchedulerConnectionTest, RetriesUntilTheSchedulerIsUp) {
  address_ = "127.0.0.1:" + std::to_string(FreePort());
  Connect();
  absl::SleepFor(absl::Milliseconds(100));  // several attempts against a closed port
  EXPECT_FALSE(connection_->registered());
  FakeScheduler late;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
  builder.RegisterService(&late);
  std::unique_ptr<grpc::Server> late_server = builder.BuildAndStart();
  ASSERT_NE(late_server, nullptr);
  late.WaitUntil([&] { return late.sessions_ == 1; });
  while (!connection_->registered()) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(connection_->worker_id(), "w-1");
  connection_.reset();
  late_server->Shutdown(std::chrono::system_clock::now());
}

TEST_F(SchedulerConnectionTest, FirstReplyMustBeRegisterAck) {
  scheduler_.reply_without_ack_ = true;
  Connect();
  // The session is abandoned and retried; nothing reaches the handler.
  scheduler_.WaitUntil([&] { return scheduler_.sessions_ >= 2; });
  EXPECT_FALSE(connection_->registered());
  absl::MutexLock lock(&handler_.mu_);
  EXPECT_TRUE(handler_.computed_.empty());
  EXPECT_EQ(handler_.lost_, 0);
}

TEST_F(SchedulerConnectionTest, MessagesWhileDisconnectedAreDropped) {
  SchedulerConnection::Options o;
  o.address = "127.0.0.1:1";
  SchedulerConnection idle(o);  // never started: no session
  std::vector<std::unique_ptr<v1::WorkerMessage>> out;
  out.push_back(Finished("x"));
  idle.Send(std::move(out));
  EXPECT_FALSE(idle.registered());
  idle.Close("done", absl::Milliseconds(10));
}

}  // namespace
}  // namespace taskgrid::worker
