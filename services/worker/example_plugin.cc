// An example taskgrid plugin (see plugin_api.h): build it with
// taskgrid_add_plugin() and start a worker with
//   taskgrid-worker --plugin libtaskgrid_example_plugin.so
// to offer "plugin/square" and "plugin/word_count".
#include <cctype>

#include "absl/strings/str_cat.h"
#include "services/worker/plugin_api.h"

namespace {

using taskgrid::Value;
using taskgrid::ValueList;
using taskgrid::ValueMap;

// square(x): x * x, int stays int.
absl::StatusOr<Value> Square(const ValueList& args, const ValueMap& kwargs) {
  if (args.size() != 1 || !kwargs.empty() || !args[0].is_number()) {
    return taskgrid::worker::TypeError("square: expected one number");
  }
  if (args[0].kind() == Value::Kind::kInt) {
    int64_t x = args[0].as_int(), r;
    if (__builtin_mul_overflow(x, x, &r)) {
      return taskgrid::worker::FunctionError("OverflowError", "square: integer overflow");
    }
    return Value::Int(r);
  }
  return Value::Double(args[0].as_double() * args[0].as_double());
}

// word_count(text): number of whitespace-separated words.
absl::StatusOr<Value> WordCount(const ValueList& args, const ValueMap& kwargs) {
  if (args.size() != 1 || !kwargs.empty() || args[0].kind() != Value::Kind::kString) {
    return taskgrid::worker::TypeError("word_count: expected one str");
  }
  int64_t words = 0;
  bool in_word = false;
  for (unsigned char c : args[0].as_string()) {
    bool space = std::isspace(c) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return Value::Int(words);
}

}  // namespace

TASKGRID_REGISTER_FUNCTION(square, Square);
TASKGRID_REGISTER_FUNCTION(word_count, WordCount);
