#include "services/gateway/limits.h"

#include "gtest/gtest.h"

namespace taskgrid::gateway {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(CheckJsonDepthTest, AcceptsUpToTheLimitAndNamesItBeyond) {
  EXPECT_TRUE(CheckJsonDepth(Nested(3), 3).ok());
  absl::Status s = CheckJsonDepth(Nested(4), 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("limit of 3"), std::string::npos) << s;
  EXPECT_TRUE(CheckJsonDepth(R"({"a": [1, {"b": 2}], "c": {}})", 3).ok());
  EXPECT_FALSE(CheckJsonDepth(R"({"a": [1, {"b": [2]}]})", 3).ok());
}

TEST(CheckJsonDepthTest, IgnoresBracketsInStrings) {
  EXPECT_TRUE(CheckJsonDepth(R"({"k": "[[[[[[{{{{", "e": "\"[[[["})", 1).ok());
}

TEST(StreamLimiterTest, LimitsEachClientSeparately) {
  StreamLimiter limiter(2);
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_FALSE(limiter.TryAcquire("a"));
  EXPECT_TRUE(limiter.TryAcquire("b"));
  limiter.Release("a");
  EXPECT_EQ(limiter.open("a"), 1);
  EXPECT_TRUE(limiter.TryAcquire("a"));
  limiter.Release("zz");  // unknown: harmless
  EXPECT_EQ(limiter.open("zz"), 0);
}

TEST(ClientIdentityTest, PrefersTheToken) {
  EXPECT_EQ(ClientIdentity("Bearer t1", "10.0.0.1"), "token:t1");
  EXPECT_EQ(ClientIdentity("", "10.0.0.1"), "peer:10.0.0.1");
}

TEST(GrpcPeerHostTest, DropsSchemeAndPort) {
  EXPECT_EQ(GrpcPeerHost("ipv4:127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(GrpcPeerHost("ipv6:[::1]:5000"), "::1");
  EXPECT_EQ(GrpcPeerHost("ipv6:%5B::1%5D:5000"), "::1");
}

}  // namespace
}  // namespace taskgrid::gateway
