#include "common/grpc_util.h"

#include <future>

#include <grpcpp/generic/generic_stub.h>

#include "gtest/gtest.h"

namespace taskgrid {
namespace {

grpc::ByteBuffer ToBuffer(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  (void)b.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// grpc.health.v1.Health/Check through a generic stub, so the test needs no
// generated health stubs. Returns the status and the raw response bytes.
std::pair<grpc::Status, std::string> HealthCheck(grpc::Channel* channel,
                                                 const std::string& service) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(channel, [](grpc::Channel*) {}));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  // HealthCheckRequest{service = 1}: a length-delimited field 1.
  std::string request;
  if (!service.empty()) {
    request.push_back('\x0a');
    for (uint64_t n = service.size(); ; n >>= 7) {
      request.push_back(static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0)));
      if (n < 0x80) break;
    }
    request += service;
  }
  grpc::ByteBuffer req = ToBuffer(request), resp;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  return {s, s.ok() ? FromBuffer(resp) : ""};
}

TEST(GrpcUtilTest, ServerHasHealthAndLargeMessagesPass) {
  grpc::ServerBuilder builder;
  ConfigureServerBuilder(&builder);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);
  ASSERT_NE(server->GetHealthCheckService(), nullptr);

  std::shared_ptr<grpc::Channel> channel = MakeChannel("127.0.0.1:" + std::to_string(port));
  auto [status, body] = HealthCheck(channel.get(), "");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(body, std::string("\x08\x01", 2));  // status: SERVING

  // A 10 MiB request is over gRPC's default 4 MiB receive limit (the
  // server would answer RESOURCE_EXHAUSTED); with ours it reaches the health
  // service, which refuses a service name that long as unparsable.
  auto [big_status, unused] = HealthCheck(channel.get(), std::string(10 << 20, 'x'));
  EXPECT_EQ(big_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << big_status.error_message();
  server->Shutdown();
}

TEST(GrpcUtilTest, ChannelArguments) {
  grpc::ChannelArguments args = DefaultChannelArguments();
  grpc_channel_args c = args.c_channel_args();
  bool local_pool = false;
  int max_receive = 0;
  for (size_t i = 0; i < c.num_args; ++i) {
    std::string key = c.args[i].key;
    if (key == GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL) local_pool = c.args[i].value.integer == 1;
    if (key == GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH) max_receive = c.args[i].value.integer;
  }
  EXPECT_TRUE(local_pool);
  EXPECT_EQ(max_receive, kMaxGrpcMessageBytes);
}

}  // namespace
}  // namespace taskgrid
