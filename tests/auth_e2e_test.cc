// End-to-end tests of --token-file on the scheduler: the real
// taskgrid-scheduler and taskgrid-worker binaries on 127.0.0.1. Workers and
// this test's client send their token through common/grpc_auth.h (workers
// take it from TASKGRID_TOKEN); calls without a known token are refused
// with UNAUTHENTICATED and the scheduler keeps serving everyone else.

#include <stdlib.h>

#include <fstream>
#include <thread>

#include "clients/cpp/client.h"
#include "common/grpc_auth.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "taskgrid/v1/worker.grpc.pb.h"
#include "tests/client_checks.h"
#include "tests/local_cluster.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;
using testing::LocalCluster;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = testing::MakeTempDir("auth_e2e");
    token_file_ = dir + "/tokens";
    std::ofstream(token_file_) << "# cluster tokens\n" << kClientToken << "\n" << kWorkerToken << "\n";
    // Workers inherit the environment; this process sends its own token.
    setenv("TASKGRID_TOKEN", kWorkerToken, 1);
    SetOutgoingToken(kClientToken);
    LocalCluster::Options options;
    options.workers = 1;
    options.scheduler_args = {"--token-file", token_file_};
    cluster_ = std::make_unique<LocalCluster>(options);
    absl::Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s << cluster_->Logs();
    // Worker 0 took its token from TASKGRID_TOKEN; worker 1 has its own
    // --token-file, which also guards the calls made to it.
    auto added = cluster_->AddWorker({"--token-file", token_file_});
    ASSERT_TRUE(added.ok()) << added.status() << cluster_->Logs();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << cluster_->Logs();
    SetOutgoingToken("");
    unsetenv("TASKGRID_TOKEN");
  }

  // A stub whose channel adds no token (not MakeChannel's).
  std::unique_ptr<v1::Scheduler::Stub> BareStub() {
    return v1::Scheduler::NewStub(
        grpc::CreateChannel(cluster_->scheduler_address(), grpc::InsecureChannelCredentials()));
  }
  grpc::Status ClusterInfoWith(const std::string& authorization) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    v1::ClusterInfoResponse resp;
    return BareStub()->ClusterInfo(&ctx, v1::ClusterInfoRequest(), &resp);
  }
  void ExpectTheClusterWorks() {
    testing::ExpectNewClientComputes(cluster_->scheduler_address());
  }

  std::string token_file_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(AuthTest, RightTokenWorksMissingOrWrongTokenIsUnauthenticated) {
  // The worker registered with its token (Start waited for it) and the
  // client's token runs tasks.
  ExpectTheClusterWorks();
  EXPECT_TRUE(ClusterInfoWith(std::string("Bearer ") + kClientToken).ok());

  grpc::Status missing = ClusterInfoWith("");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.error_message(), HasSubstr("missing bearer token"));
  grpc::Status wrong = ClusterInfoWith("Bearer not-a-token");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.error_message(), HasSubstr("invalid bearer token"));
  EXPECT_EQ(ClusterInfoWith("Basic abc").error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // The client session stream is refused the same way.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", "Bearer not-a-token");
    auto stub = BareStub();
    auto stream = stub->ClientSession(&ctx);
    v1::ClientBatch hello;
    hello.add_messages()->mutable_hello()->set_name("intruder");
    stream->Write(hello);
    stream->WritesDone();
    v1::ClientEventBatch ignored;
    while (stream->Read(&ignored)) {
    }
    grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("invalid bearer token"));
  }
  // A C++ client with a wrong token gets the scheduler's message.
  SetOutgoingToken("not-a-token");
  {
    auto client = Client::Connect(cluster_->scheduler_address());
    absl::Status failure = client.status();
    if (client.ok()) {
      auto f = (*client)->Submit("inc", {Value::Int(1)});
      failure = f.ok() ? f->Result(std::chrono::seconds(10)).status() : f.status();
    }
    EXPECT_FALSE(failure.ok());
    EXPECT_THAT(std::string(failure.message()), HasSubstr("bearer token"));
  }
  SetOutgoingToken(kClientToken);

  // A worker with --token-file refuses calls without a token; this
  // process's token (in its file) is served.
  {
    auto bare = v1::Worker::NewStub(
        grpc::CreateChannel(cluster_->worker_address(1), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::WorkerStatus status;
    grpc::Status s = bare->Status(&ctx, v1::WorkerStatusRequest(), &status);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("missing bearer token"));
    EXPECT_TRUE(cluster_->WorkerStatus(1).ok());
  }
  // Its data port too: GetData and PutData with no or a wrong token.
  for (const std::string& authorization : {std::string(), std::string("Bearer not-a-token")}) {
    auto bare = v1::Worker::NewStub(
        grpc::CreateChannel(cluster_->worker_address(1), grpc::InsecureChannelCredentials()));
    const char* expected = authorization.empty() ? "missing bearer token" : "invalid bearer token";
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
      v1::GetDataRequest request;
      request.add_keys("anything");
      auto reader = bare->GetData(&ctx, request);
      v1::DataChunk chunk;
      EXPECT_FALSE(reader->Read(&chunk)) << "GetData served a chunk without a valid token";
      grpc::Status s = reader->Finish();
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr(expected));
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
      v1::PutDataResponse response;
      auto writer = bare->PutData(&ctx, &response);
      v1::DataChunk chunk;
      chunk.set_key("planted");
      writer->Write(chunk);
      writer->WritesDone();
      grpc::Status s = writer->Finish();
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr(expected));
    }
  }
  {
    auto held = cluster_->WorkerStatus(1);
    ASSERT_TRUE(held.ok());
    for (const auto& key : held->keys()) EXPECT_NE(key, "planted");
  }

  // Nothing of that disturbed the scheduler: it still serves, and logged why.
  EXPECT_TRUE(cluster_->scheduler_process().running());
  ExpectTheClusterWorks();
  EXPECT_THAT(cluster_->scheduler_process().Stderr(),
              HasSubstr("refused: invalid bearer token"));
}

TEST_F(AuthTest, WorkerWithAWrongTokenIsRefusedRegistration) {
  testing::Subprocess intruder(
      {testing::BinaryPath("taskgrid-worker"), cluster_->scheduler_address(), "--host",
       "127.0.0.1", "--port", "0", "--metrics-port", "0", "--name", "intruder"},
      cluster_->dir() + "/intruder", {"TASKGRID_TOKEN=wrong-token"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline &&
         intruder.Stderr().find("cannot register with scheduler") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(intruder.Stderr(), HasSubstr("cannot register with scheduler"));
  EXPECT_THAT(intruder.Stderr(), HasSubstr("invalid bearer token"));
  EXPECT_THAT(cluster_->scheduler_process().Stderr(),
              HasSubstr("worker registration from"));
  auto info = cluster_->ClusterInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->workers_size(), 2);
  for (const auto& w : info->workers()) EXPECT_NE(w.name(), "intruder");
  ExpectTheClusterWorks();
}

}  // namespace
}  // namespace taskgrid
