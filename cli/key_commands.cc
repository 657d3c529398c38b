// taskgrid result KEY / taskgrid cancel KEY: act on a key by name, from a
// client session of their own.

#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "clients/cpp/client.h"
#include "common/value_json.h"

namespace taskgrid::cli {
namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);

// What both commands start from: the parsed flags, the KEY and a client.
struct KeyCommand {
  Flags flags;
  std::string key;
  std::unique_ptr<Client> client;
};

// Parses "<command> KEY [--scheduler ADDR]" (plus `boolean` flags) and
// connects; on failure prints why and sets *exit_code (2 usage, 1 other).
std::optional<KeyCommand> StartKeyCommand(const char* command, const char* usage, int argc,
                                          char** argv, const std::vector<std::string>& boolean,
                                          int* exit_code) {
  *exit_code = 2;
  std::optional<Flags> flags =
      ParseCommandFlags(command, usage, argc, argv, {"scheduler"}, boolean);
  if (!flags.has_value()) return std::nullopt;
  if (flags->positional().size() != 1) {
    std::cerr << "usage: " << usage << "\n";
    return std::nullopt;
  }
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(ResolveSchedulerAddress(flags->GetString("scheduler", "")), kConnectTimeout);
  if (!client.ok()) {
    *exit_code = Fail(client.status());
    return std::nullopt;
  }
  std::string key = flags->positional()[0];
  return KeyCommand{*std::move(flags), std::move(key), *std::move(client)};
}

}  // namespace

int RunResult(int argc, char** argv) {
  int exit_code;
  std::optional<KeyCommand> cmd = StartKeyCommand(
      "result", "taskgrid result KEY [--scheduler ADDR] [--json]", argc, argv, {"json"},
      &exit_code);
  if (!cmd.has_value()) return exit_code;
  absl::StatusOr<Value> value = cmd->client->FutureOf(cmd->key).Result();
  if (!value.ok()) return Fail(value.status());
  std::cout << (cmd->flags.GetBool("json") ? ValueToJson(*value).dump() : value->DebugString())
            << "\n";
  return 0;
}

int RunCancel(int argc, char** argv) {
  int exit_code;
  std::optional<KeyCommand> cmd = StartKeyCommand(
      "cancel", "taskgrid cancel KEY [--scheduler ADDR]", argc, argv, {}, &exit_code);
  if (!cmd.has_value()) return exit_code;
  const std::string& key = cmd->key;
  // Wanting the key first makes the scheduler answer either way: a
  // rejection when it doesn't know the key, else the cancellation event
  // (after a "memory" event if it had finished).
  Future f = cmd->client->FutureOf(key);
  if (absl::Status s = cmd->client->CancelKeys({key}, /*force=*/true); !s.ok()) return Fail(s);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string status = f.status();
    if (status == "cancelled") {
      std::cout << "cancelled " << key << "\n";
      return 0;
    }
    // Unknown key (the update was rejected) or no scheduler: give up. An
    // erred or finished key still gets its cancellation event.
    absl::Status error = f.Exception();
    if (absl::IsInvalidArgument(error) || absl::IsUnavailable(error)) return Fail(error);
    f.Wait(std::chrono::milliseconds(5));
    if (f.done()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Fail(absl::DeadlineExceededError(
      absl::StrCat("the scheduler did not confirm the cancellation of ", key)));
}

}  // namespace taskgrid::cli
