#include "common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace taskgrid {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain-ascii_key"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));               // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));              // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));              // U+D7FF, below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));          // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));          // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
}

TEST(Utf8Test, RejectsMalformedText) {
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\x80"));               // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xC3"));               // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));           // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));       // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));       // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));       // truncated 4-byte form
  EXPECT_FALSE(IsValidUtf8("ok\xE2\x28\xA1"));     // bad continuation
}

TEST(Utf8Test, EscapeForErrorShowsBadBytesAndCapsLength) {
  EXPECT_EQ(EscapeForError("k\xFFy"), "k\\xffy");
  EXPECT_EQ(EscapeForError(std::string(300, 'a'), 4), "aaaa... (300 bytes)");
}

}  // namespace
}  // namespace taskgrid
