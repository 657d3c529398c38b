#pragma once
// The subcommands of the `taskgrid` CLI. Each takes the arguments after the
// subcommand name (argv[0] is the subcommand) and returns the exit status:
// 0 on success, 1 on failure (the error printed to stderr), 2 on bad usage.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flags.h"

namespace taskgrid::cli {

int RunUp(int argc, char** argv);
int RunSubmit(int argc, char** argv);
int RunStatus(int argc, char** argv);
int RunResult(int argc, char** argv);
int RunCancel(int argc, char** argv);

// Parses flags for `command`; on error prints it with the usage line and
// returns nullopt (the caller exits with 2).
std::optional<Flags> ParseCommandFlags(const char* command, const char* usage, int argc,
                                       char** argv, const std::vector<std::string>& known,
                                       const std::vector<std::string>& boolean = {});

// Prints "error: <message>" to stderr and returns 1.
int Fail(const absl::Status& status);

}  // namespace taskgrid::cli
