// A first taskgrid program: one task, a map, and a small graph.
//
//   taskgrid up &                       # a local cluster
//   taskgrid-example-hello [SCHEDULER_ADDRESS]

#include <iostream>

#include "clients/cpp/client.h"
#include "common/flags.h"

using taskgrid::Client;
using taskgrid::Future;
using taskgrid::Value;

namespace {

int Fail(const absl::Status& s) {
  std::cerr << "error: " << s << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string address = taskgrid::ResolveSchedulerAddress(argc > 1 ? argv[1] : "");
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address);
  if (!client.ok()) return Fail(client.status());

  // One task: inc(41), computed on a worker and fetched from it.
  absl::StatusOr<Future> answer = (*client)->Submit("inc", {Value::Int(41)});
  if (!answer.ok()) return Fail(answer.status());
  absl::StatusOr<Value> v = answer->Result();
  if (!v.ok()) return Fail(v.status());
  std::cout << "inc(41) = " << v->DebugString() << "\n";

  // A map of ten tasks, then a task that depends on all of them.
  std::vector<Value> items;
  for (int i = 0; i < 10; ++i) items.push_back(Value::Int(i));
  absl::StatusOr<std::vector<Future>> squares = (*client)->Map("inc", items);
  if (!squares.ok()) return Fail(squares.status());
  taskgrid::ValueList refs;
  for (const Future& f : *squares) refs.push_back(f.AsArg());
  absl::StatusOr<Future> total = (*client)->Submit("sum", {Value::List(refs)});
  if (!total.ok()) return Fail(total.status());
  absl::StatusOr<Value> t = total->Result();
  if (!t.ok()) return Fail(t.status());
  std::cout << "sum(inc(i) for i in range(10)) = " << t->DebugString() << "\n";

  // A graph given as task specs: c = add(a, b) with a = inc(1), b = mul(3, 4).
  std::vector<taskgrid::v1::TaskSpec> graph(3);
  graph[0].set_key("hello-a");
  graph[0].set_function("inc");
  graph[0].add_args()->set_int_value(1);
  graph[1].set_key("hello-b");
  graph[1].set_function("mul");
  graph[1].add_args()->set_int_value(3);
  graph[1].add_args()->set_int_value(4);
  graph[2].set_key("hello-c");
  graph[2].set_function("add");
  graph[2].add_args()->set_ref("hello-a");
  graph[2].add_args()->set_ref("hello-b");
  absl::StatusOr<std::vector<Value>> c = (*client)->Get(graph, {"hello-c"});
  if (!c.ok()) return Fail(c.status());
  std::cout << "add(inc(1), mul(3, 4)) = " << (*c)[0].DebugString() << "\n";

  // Errors name the task, the function and the message.
  absl::StatusOr<Future> bad = (*client)->Submit("fail", {Value::String("on purpose")});
  if (!bad.ok()) return Fail(bad.status());
  std::cout << "fail(...) -> " << bad->Result().status() << "\n";
  return 0;
}
