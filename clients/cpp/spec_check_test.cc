#include "clients/cpp/spec_check.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::client {
namespace {

using ::testing::HasSubstr;

v1::TaskSpec Valid() {
  v1::TaskSpec spec;
  spec.set_key("caf\xC3\xA9");
  spec.set_function("add");
  spec.add_args()->set_ref("x");
  v1::Value* nested = spec.add_args()->mutable_list_value()->add_items();
  (*nested->mutable_map_value()->mutable_entries())["name"].set_string_value("ok");
  return spec;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(SpecCheckTest, WellFormedTextPasses) {
  EXPECT_TRUE(CheckSpecText(Valid()).ok());
  EXPECT_TRUE(CheckWantedKeys({"a", "caf\xC3\xA9"}).ok());
}

TEST(SpecCheckTest, EachTextFieldIsChecked) {
  v1::TaskSpec key = Valid();
  key.set_key("k\xFF");
  EXPECT_THAT(Message(CheckSpecText(key)), HasSubstr("task key \"k\\xff\" is not valid UTF-8"));

  v1::TaskSpec ref = Valid();
  ref.mutable_args(0)->set_ref("dep\xC0");
  EXPECT_THAT(Message(CheckSpecText(ref)), HasSubstr("a reference in args[0] \"dep\\xc0\""));

  v1::TaskSpec deep = Valid();
  (*deep.mutable_args(1)->mutable_list_value()->mutable_items(0)->mutable_map_value()
        ->mutable_entries())["name"]
      .set_string_value("\xED\xA0\x80");
  EXPECT_THAT(Message(CheckSpecText(deep)), HasSubstr("a string in args[1]"));

  v1::TaskSpec fn = Valid();
  fn.set_function("f\xFE");
  EXPECT_THAT(Message(CheckSpecText(fn)), HasSubstr("the function name"));

  v1::TaskSpec res = Valid();
  (*res.mutable_resources())["GPU\xFF"] = 1;
  EXPECT_THAT(Message(CheckSpecText(res)), HasSubstr("a resource name"));

  EXPECT_THAT(Message(CheckWantedKeys({"ok", "bad\x80"})),
              HasSubstr("wanted key \"bad\\x80\" is not valid UTF-8"));
}

}  // namespace
}  // namespace taskgrid::client
