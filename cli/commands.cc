// Helpers shared by the subcommands.

#include "cli/commands.h"

#include <iostream>

namespace taskgrid::cli {

std::optional<Flags> ParseCommandFlags(const char* command, const char* usage, int argc,
                                       char** argv, const std::vector<std::string>& known,
                                       const std::vector<std::string>& boolean) {
  absl::StatusOr<Flags> flags = Flags::Parse(argc, argv, known, boolean);
  if (!flags.ok()) {
    std::cerr << "taskgrid " << command << ": " << flags.status().message() << "\n"
              << "usage: " << usage << "\n";
    return std::nullopt;
  }
  return *std::move(flags);
}

int Fail(const absl::Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return 1;
}

}  // namespace taskgrid::cli
