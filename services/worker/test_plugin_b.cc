// A second plugin for plugin_loader_test: checks that plugins keep separate
// function lists and that C++ exceptions are contained.
#include <stdexcept>

#include "services/worker/plugin_api.h"

namespace {

absl::StatusOr<taskgrid::Value> Cube(const taskgrid::ValueList& args, const taskgrid::ValueMap&) {
  if (args.size() != 1 || !args[0].is_number()) {
    return taskgrid::worker::TypeError("cube: expected one number");
  }
  double x = args[0].as_number();
  return taskgrid::Value::Double(x * x * x);
}

absl::StatusOr<taskgrid::Value> Throws(const taskgrid::ValueList&, const taskgrid::ValueMap&) {
  throw std::runtime_error("thrown from a plugin");
}

}  // namespace

TASKGRID_REGISTER_FUNCTION(cube, Cube);
TASKGRID_REGISTER_FUNCTION(throws, Throws);
