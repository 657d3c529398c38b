// taskgrid: the user CLI. `main` only dispatches to a subcommand.

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "common/logging.h"

namespace taskgrid::cli {
namespace {

constexpr char kUsage[] =
    "usage: taskgrid <command> [options]\n"
    "\n"
    "commands:\n"
    "  up [--workers 2] [--nthreads 1] [--port 8786] [--metrics-port 9786] [--gateway]\n"
    "        start a local cluster (scheduler + workers); Ctrl-C stops it\n"
    "  submit GRAPH.json [--scheduler ADDR] [--json]\n"
    "        run a JSON task graph and print \"KEY VALUE\" per wanted key\n"
    "  status [--scheduler ADDR]      workers and task counts\n"
    "  result KEY [--scheduler ADDR] [--json]\n"
    "                                 print the value of a key\n"
    "  cancel KEY [--scheduler ADDR]  cancel a key (for every client)\n"
    "\n"
    "ADDR defaults to $TASKGRID_SCHEDULER_ADDRESS, else 127.0.0.1:8786; every flag\n"
    "can also be set as TASKGRID_<FLAG> (e.g. TASKGRID_NTHREADS=4).\n";

}  // namespace
}  // namespace taskgrid::cli

int main(int argc, char** argv) {
  using namespace taskgrid::cli;
  taskgrid::InitLogging(argv[0]);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  // The subcommand sees itself as argv[0].
  int sub_argc = argc - 1;
  char** sub_argv = argv + 1;
  if (command == "up") return RunUp(sub_argc, sub_argv);
  if (command == "submit") return RunSubmit(sub_argc, sub_argv);
  if (command == "status") return RunStatus(sub_argc, sub_argv);
  if (command == "result") return RunResult(sub_argc, sub_argv);
  if (command == "cancel") return RunCancel(sub_argc, sub_argv);
  std::cerr << "taskgrid: unknown command \"" << command << "\"\n\n" << kUsage;
  return 2;
}
