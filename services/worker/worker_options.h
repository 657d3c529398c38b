#pragma once
// The worker's command line (flags and TASKGRID_* environment variables):
//
//   taskgrid-worker [SCHEDULER_ADDRESS] [--nthreads N] [--memory-limit 4GiB]
//       [--resources GPU=1,MEMORY=2e9] [--name NAME] [--host H] [--port 0]
//       [--metrics-port 0] [--local-directory DIR] [--plugin LIB.so]...
//       [--allow-exec] [--python | --no-python] [--fetch-stall-timeout 30s]
//       [--memory-target-fraction 0.6] [--memory-spill-fraction 0.7]
//       [--memory-pause-fraction 0.8] [--memory-terminate-fraction 0.95]
//       [--close-timeout 10s] [--contact-address HOST:PORT]
//
// Stateless; thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace taskgrid::worker {

struct WorkerOptions {
  std::string scheduler_address;
  int nthreads = 1;
  int64_t memory_limit = 0;  // bytes; 0 = no limit
  // Fractions of memory_limit (0 disables each; see memory_monitor.h):
  // managed bytes above target and process bytes above spill spill to
  // disk, above pause no new task starts, above terminate the worker exits.
  double memory_target_fraction = 0.6;
  double memory_spill_fraction = 0.7;
  double memory_pause_fraction = 0.8;
  double memory_terminate_fraction = 0.95;
  // How long a closing worker waits for its data to be handed off and for
  // transfers in progress.
  double close_timeout_seconds = 10;
  // A transfer from a peer that receives nothing for this long is given up
  // and retried (see GrpcPeerFetcher::Options).
  double fetch_stall_timeout_seconds = 30;
  std::map<std::string, double> resources;
  std::string name;  // empty: the worker's address
  std::string host = "127.0.0.1";
  int port = 0;          // 0: any free port
  int metrics_port = 0;  // 0: any free port
  // The address advertised to the scheduler (and so to peers and clients)
  // instead of host:port; empty: host:port.
  std::string contact_address;
  std::string local_directory;
  // Bearer tokens the worker requires of callers; its first token is also
  // what the worker sends (default: TASKGRID_TOKEN). Empty: no auth.
  std::string token_file;
  std::vector<std::string> plugins;
  bool allow_exec = false;
  // The python runtime is on when the worker is built with it; --python
  // makes its absence an error, --no-python turns it off.
  bool require_python = false;
  bool no_python = false;
  bool help = false;
};

// Errors name the flag and the bad value.
absl::StatusOr<WorkerOptions> ParseWorkerOptions(int argc, char** argv);
std::string WorkerUsage();

// "0.6" -> 0.6; "0", "false", "off", "no" -> 0 (disabled). Errors name the text.
absl::StatusOr<double> ParseFraction(const std::string& text);

// Physical memory of this machine in bytes (the default --memory-limit).
int64_t PhysicalMemoryBytes();

// The host part of the address to advertise: `host` itself, or for a
// wildcard bind address (0.0.0.0, ::, empty) this machine's primary IP.
std::string AdvertisedHost(const std::string& host);

// Whether `host` is a numeric IPv4 or IPv6 address (not a name).
bool IsIpLiteral(const std::string& host);

// "host:port", with brackets around an IPv6 host ("[::1]:80").
std::string JoinHostPort(const std::string& host, int port);

}  // namespace taskgrid::worker
