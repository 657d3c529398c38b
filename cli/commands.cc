// Helpers shared by the subcommands.

#include "cli/commands.h"

#include <iostream>

#include "common/grpc_auth.h"

namespace taskgrid::cli {

std::optional<Flags> ParseCommandFlags(const char* command, const char* usage, int argc,
                                       char** argv, const std::vector<std::string>& known,
                                       const std::vector<std::string>& boolean) {
  // Every command takes --token-file: its first token goes on every call
  // (default: the TASKGRID_TOKEN environment variable).
  std::vector<std::string> with_token = known;
  with_token.push_back("token-file");
  absl::StatusOr<Flags> flags = Flags::Parse(argc, argv, with_token, boolean);
  if (!flags.ok()) {
    std::cerr << "taskgrid " << command << ": " << flags.status().message() << "\n"
              << "usage: " << usage << " [--token-file FILE]\n";
    return std::nullopt;
  }
  if (flags->Has("token-file")) {
    absl::StatusOr<std::string> token = ReadFirstToken(flags->GetString("token-file", ""));
    if (!token.ok()) {
      std::cerr << "taskgrid " << command << ": flag --token-file: " << token.status().message()
                << "\n";
      return std::nullopt;
    }
    SetOutgoingToken(*token);
  }
  return *std::move(flags);
}

int Fail(const absl::Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return 1;
}

}  // namespace taskgrid::cli
