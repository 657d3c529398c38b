#include "services/scheduler/compute_task_wire.h"

#include <google/protobuf/unknown_field_set.h>

#include <string>

#include "gtest/gtest.h"
#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::scheduler {
namespace {

TEST(ComputeTaskWireTest, ParsesBackAsTheSameComputeTask) {
  v1::TaskSpec spec;
  spec.set_key("inc-1");
  spec.set_function("inc");
  spec.set_runtime("builtin");
  spec.add_args()->set_ref("dep-0");
  spec.mutable_resources()->insert({"GPU", 1.0});
  const std::string run_spec = spec.SerializeAsString();

  for (int64_t priority : {int64_t{0}, int64_t{7}, int64_t{-(int64_t{1} << 40)}}) {
    ComputeTaskCommand cmd;
    cmd.key = "inc-1";
    cmd.run_spec = &run_spec;
    cmd.priority = priority;
    cmd.who_has.push_back({"dep-0", {"127.0.0.1:1", "127.0.0.1:2"}, 123456789});
    cmd.who_has.push_back({"dep-empty", {}, 0});
    std::string wire;
    AppendComputeTaskWire(cmd, &wire);

    v1::ComputeTask parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    EXPECT_EQ(parsed.spec().SerializeAsString(), run_spec);
    EXPECT_EQ(parsed.priority(), priority);
    ASSERT_EQ(parsed.who_has_size(), 2);
    EXPECT_EQ(parsed.who_has(0).key(), "dep-0");
    ASSERT_EQ(parsed.who_has(0).workers_size(), 2);
    EXPECT_EQ(parsed.who_has(0).workers(1), "127.0.0.1:2");
    EXPECT_EQ(parsed.who_has(0).nbytes(), 123456789);
    EXPECT_EQ(parsed.who_has(1).key(), "dep-empty");
    EXPECT_EQ(parsed.who_has(1).workers_size(), 0);
  }
}

TEST(ComputeTaskWireTest, CarriedInsideAWorkerCommandAsItsComputeTask) {
  const std::string run_spec = [] {
    v1::TaskSpec spec;
    spec.set_key("k");
    spec.set_function("add");
    return spec.SerializeAsString();
  }();
  ComputeTaskCommand cmd;
  cmd.key = "k";
  cmd.run_spec = &run_spec;
  v1::WorkerCommandBatch batch;
  v1::WorkerCommand* c = batch.add_commands();
  AppendComputeTaskWire(
      cmd, c->GetReflection()->MutableUnknownFields(c)->AddLengthDelimited(
               v1::WorkerCommand::kComputeTaskFieldNumber));
  batch.add_commands()->mutable_free_keys()->add_keys("gone");

  v1::WorkerCommandBatch received;
  ASSERT_TRUE(received.ParseFromString(batch.SerializeAsString()));
  ASSERT_EQ(received.commands_size(), 2);
  ASSERT_TRUE(received.commands(0).has_compute_task());
  EXPECT_EQ(received.commands(0).compute_task().spec().key(), "k");
  EXPECT_EQ(received.commands(0).compute_task().spec().function(), "add");
  EXPECT_TRUE(received.commands(1).has_free_keys());
}

}  // namespace
}  // namespace taskgrid::scheduler
