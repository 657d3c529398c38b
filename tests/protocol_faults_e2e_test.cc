// End-to-end tests of malformed session streams against the real
// scheduler, sent with raw gRPC (generated stubs, or a generic stub for
// bytes no stub would send): a ClientHello or worker registration that
// declares an API version other than v1, a message cut off in the middle,
// a stream that ends right after its hello, and one cancelled in the middle
// of a graph. Each gets a clear status (or a clean end); afterwards the
// scheduler still serves a normal client and worker and holds nothing for
// the broken streams.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "tests/e2e_util.h"
#include "tests/client_checks.h"
#include "tests/local_cluster.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;
using testing::LocalCluster;
using testing::Spec;
using testing::WaitUntil;

class ProtocolFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LocalCluster::Options options;
    options.workers = 1;
    cluster_ = std::make_unique<LocalCluster>(options);
    ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
    channel_ = grpc::CreateChannel(cluster_->scheduler_address(),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Scheduler::NewStub(channel_);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << cluster_->Logs();
  }

  // Sends `bytes` as the only message of a session stream `method`
  // ("ClientSession" or "WorkerSession"), half-closes, reads until the end
  // and returns the final status; `replies` counts the messages read.
  grpc::Status SendRaw(const std::string& method, const std::string& bytes, int* replies) {
    return SendRaw(method, std::vector<std::string>{bytes}, replies);
  }
  // The same with several messages, in order.
  grpc::Status SendRaw(const std::string& method, const std::vector<std::string>& messages,
                       int* replies) {
    grpc::TemplatedGenericStub<grpc::ByteBuffer, grpc::ByteBuffer> generic(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::CompletionQueue cq;
    auto call = generic.PrepareCall(&ctx, "/taskgrid.v1.Scheduler/" + method, &cq);
    auto step = [&cq] {
      void* tag = nullptr;
      bool ok = false;
      return cq.Next(&tag, &ok) && ok;
    };
    call->StartCall(nullptr);
    grpc::Status status;
    if (step()) {
      bool sent = true;
      for (const std::string& bytes : messages) {
        grpc::Slice slice(bytes);
        grpc::ByteBuffer message(&slice, 1);
        call->Write(message, nullptr);
        if (!(sent = step())) break;
      }
      if (sent) {
        call->WritesDone(nullptr);
        step();
      }
      grpc::ByteBuffer reply;
      *replies = -1;
      do {
        ++*replies;
        call->Read(&reply, nullptr);
      } while (step());
    }
    call->Finish(&status, nullptr);
    step();
    return status;
  }

  // The scheduler still works: one client session, one worker, and a new
  // task computes.
  void ExpectSchedulerServes() {
    EXPECT_TRUE(WaitUntil([&] {
      auto info = cluster_->ClusterInfo();
      return info.ok() && info->clients() == 0 && info->workers_size() == 1 &&
             testing::TasksIn(*info, "memory") + testing::TasksIn(*info, "processing") +
                     testing::TasksIn(*info, "waiting") + testing::TasksIn(*info, "queued") ==
                 0;
    })) << "the broken streams left sessions or tasks behind";
    EXPECT_TRUE(cluster_->scheduler_process().running());
    testing::ExpectNewClientComputes(cluster_->scheduler_address());
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

TEST_F(ProtocolFaultsTest, UnsupportedApiVersionIsRefusedNamingTheVersions) {
  {
    grpc::ClientContext ctx;
    auto stream = stub_->ClientSession(&ctx);
    v1::ClientBatch batch;
    v1::ClientHello* hello = batch.add_messages()->mutable_hello();
    hello->set_name("from-the-future");
    hello->set_api_version("v2");
    *batch.add_messages()->mutable_update_graph()->add_tasks() = Spec("v2-task", "inc", {Value::Int(1)});
    ASSERT_TRUE(stream->Write(batch));
    stream->WritesDone();
    v1::ClientEventBatch events;
    EXPECT_FALSE(stream->Read(&events)) << "a refused client got " << events.DebugString();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("unsupported api_version \"v2\""));
    EXPECT_THAT(status.error_message(), HasSubstr("speaks v1"));
  }
  {
    grpc::ClientContext ctx;
    auto stream = stub_->WorkerSession(&ctx);
    v1::WorkerBatch batch;
    v1::RegisterWorker* reg = batch.add_messages()->mutable_register_();
    reg->set_address("127.0.0.1:1");
    reg->set_name("future-worker");
    reg->set_nthreads(1);
    reg->set_api_version("v2");
    ASSERT_TRUE(stream->Write(batch));
    stream->WritesDone();
    v1::WorkerCommandBatch commands;
    EXPECT_FALSE(stream->Read(&commands));
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("unsupported api_version \"v2\""));
  }
  EXPECT_THAT(cluster_->scheduler_process().Stderr(), HasSubstr("refused worker 127.0.0.1:1"));
  ExpectSchedulerServes();
}

// A message that does not parse ends the stream at once with
// INVALID_ARGUMENT naming the stream and the message type: nothing of it
// is applied (no session, no worker, no task) and no reply is sent.
TEST_F(ProtocolFaultsTest, MessagesCutOffMidwayAreRefusedAndApplyNothing) {
  v1::ClientBatch client_batch;
  client_batch.add_messages()->mutable_hello()->set_name("cut-off");
  v1::UpdateGraph* ug = client_batch.add_messages()->mutable_update_graph();
  for (int i = 0; i < 100; ++i) {
    *ug->add_tasks() = Spec(absl::StrCat("cut-", i), "inc", {Value::Int(i)});
    ug->add_wanted_keys(absl::StrCat("cut-", i));
  }
  const std::string whole = client_batch.SerializeAsString();
  const std::string cut = whole.substr(0, whole.size() / 2);
  ASSERT_FALSE(v1::ClientBatch().ParseFromString(cut));
  int replies = -1;
  grpc::Status client_status = SendRaw("ClientSession", cut, &replies);
  EXPECT_EQ(client_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << client_status.error_message();
  EXPECT_THAT(client_status.error_message(),
              HasSubstr("ClientSession message 1 (" + std::to_string(cut.size()) +
                        " bytes) does not parse as taskgrid.v1.ClientBatch"));
  EXPECT_EQ(replies, 0) << "the cut-off hello was welcomed";

  v1::WorkerBatch worker_batch;
  v1::RegisterWorker* reg = worker_batch.add_messages()->mutable_register_();
  reg->set_address("127.0.0.1:2");
  reg->set_name("cut-off-worker");
  reg->set_nthreads(1);
  for (int i = 0; i < 50; ++i) reg->add_functions(absl::StrCat("builtin/f", i));
  const std::string whole_worker = worker_batch.SerializeAsString();
  const std::string cut_worker = whole_worker.substr(0, whole_worker.size() - 7);
  ASSERT_FALSE(v1::WorkerBatch().ParseFromString(cut_worker));
  grpc::Status worker_status = SendRaw("WorkerSession", cut_worker, &replies);
  EXPECT_EQ(worker_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << worker_status.error_message();
  EXPECT_THAT(worker_status.error_message(),
              HasSubstr("does not parse as taskgrid.v1.WorkerBatch"));
  EXPECT_EQ(replies, 0) << "the cut-off registration was acknowledged";
  EXPECT_THAT(cluster_->scheduler_process().Stderr(),
              ::testing::Not(HasSubstr("worker 127.0.0.1:2 registered")));
  ExpectSchedulerServes();
}

// A bad message after good ones: what came before was applied (the client
// was welcomed), the bad one is named by its position, and the session
// ends like a disconnect (its tasks are released).
TEST_F(ProtocolFaultsTest, ABadMessageAfterAGoodOneIsNamedAndEndsTheSession) {
  v1::ClientBatch hello;
  hello.add_messages()->mutable_hello()->set_name("good-then-bad");
  v1::UpdateGraph* ug = hello.add_messages()->mutable_update_graph();
  *ug->add_tasks() = Spec("good-then-bad-1", "inc", {Value::Int(1)});
  ug->add_wanted_keys("good-then-bad-1");
  int replies = -1;
  grpc::Status status = SendRaw(
      "ClientSession", std::vector<std::string>{hello.SerializeAsString(), "\xff\xff\xff"},
      &replies);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("ClientSession message 2 (3 bytes) does not parse"));
  EXPECT_GE(replies, 1) << "the hello before the bad message was not welcomed";
  ExpectSchedulerServes();
}

TEST_F(ProtocolFaultsTest, StreamsEndingAfterTheHelloOrMidGraphLeaveNothingBehind) {
  {  // Ends right after the hello: welcomed, then a clean end.
    grpc::ClientContext ctx;
    auto stream = stub_->ClientSession(&ctx);
    v1::ClientBatch batch;
    batch.add_messages()->mutable_hello()->set_name("hello-only");
    ASSERT_TRUE(stream->Write(batch));
    stream->WritesDone();
    v1::ClientEventBatch events;
    ASSERT_TRUE(stream->Read(&events));
    ASSERT_GE(events.events_size(), 1);
    EXPECT_TRUE(events.events(0).has_welcome());
    while (stream->Read(&events)) {
    }
    const grpc::Status finished = stream->Finish();
    EXPECT_TRUE(finished.ok()) << finished.error_code() << ": " << finished.error_message();
  }
  {  // A worker stream that ends right after registering.
    grpc::ClientContext ctx;
    auto stream = stub_->WorkerSession(&ctx);
    v1::WorkerBatch batch;
    v1::RegisterWorker* reg = batch.add_messages()->mutable_register_();
    reg->set_address("127.0.0.1:3");
    reg->set_name("register-only");
    reg->set_nthreads(1);
    reg->add_functions("builtin/inc");
    ASSERT_TRUE(stream->Write(batch));
    stream->WritesDone();
    v1::WorkerCommandBatch commands;
    while (stream->Read(&commands)) {
    }
    stream->Finish();
  }
  {  // Cancelled in the middle of sending a graph of slow tasks.
    grpc::ClientContext ctx;
    auto stream = stub_->ClientSession(&ctx);
    v1::ClientBatch batch;
    batch.add_messages()->mutable_hello()->set_name("mid-graph");
    v1::UpdateGraph* ug = batch.add_messages()->mutable_update_graph();
    for (int i = 0; i < 200; ++i) {
      *ug->add_tasks() = Spec(absl::StrCat("slow-", i), "sleep", {Value::Double(0.05)});
      ug->add_wanted_keys(absl::StrCat("slow-", i));
    }
    ASSERT_TRUE(stream->Write(batch));
    v1::ClientEventBatch events;
    ASSERT_TRUE(stream->Read(&events));  // the welcome: the session exists
    ASSERT_TRUE(WaitUntil([&] {
      auto info = cluster_->ClusterInfo();
      return info.ok() && testing::TasksIn(*info, "processing") > 0;
    }));
    ctx.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ExpectSchedulerServes();
}

}  // namespace
}  // namespace taskgrid
