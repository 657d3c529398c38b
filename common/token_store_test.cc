#include "common/token_store.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace taskgrid {
namespace {

std::string WriteTokenFile(const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/gateway_tokens_" +
                     std::to_string(getpid()) + "_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::ofstream(path) << text;
  return path;
}

TEST(BearerTokenTest, ExtractsTheCredential) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("  bearer   abc  "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken(""), "");
}

TEST(TokenStoreTest, DisabledWithoutFileAcceptsEverything) {
  TokenStore store("");
  EXPECT_FALSE(store.enabled());
  EXPECT_TRUE(store.Reload().ok());
  EXPECT_TRUE(store.Check(""));
}

TEST(TokenStoreTest, AcceptsOnlyListedTokens) {
  TokenStore store(WriteTokenFile("# comment\nalpha\n\n  beta  \n"));
  ASSERT_TRUE(store.Reload().ok());
  EXPECT_EQ(store.size(), 2u);
  EXPECT_TRUE(store.Check("Bearer alpha"));
  EXPECT_TRUE(store.Check("Bearer beta"));
  EXPECT_FALSE(store.Check("Bearer gamma"));
  EXPECT_FALSE(store.Check("Bearer # comment"));
  EXPECT_FALSE(store.Check("alpha"));
  EXPECT_FALSE(store.Check(""));
}

TEST(TokenStoreTest, ReloadRotatesTokensAndKeepsOldOnBadFile) {
  const std::string path = WriteTokenFile("old\n");
  TokenStore store(path);
  ASSERT_TRUE(store.Reload().ok());
  std::ofstream(path) << "new\n";
  ASSERT_TRUE(store.Reload().ok());
  EXPECT_FALSE(store.Check("Bearer old"));
  EXPECT_TRUE(store.Check("Bearer new"));
  std::ofstream(path) << "\n# nothing\n";
  EXPECT_FALSE(store.Reload().ok());
  EXPECT_TRUE(store.Check("Bearer new"));
  unlink(path.c_str());
  EXPECT_FALSE(store.Reload().ok());
  EXPECT_TRUE(store.Check("Bearer new"));
}

}  // namespace
}  // namespace taskgrid
