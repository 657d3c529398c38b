#include "services/worker/worker_options.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/strings/str_split.h"
#include "common/flags.h"

namespace taskgrid::worker {

absl::StatusOr<WorkerOptions> ParseWorkerOptions(int argc, char** argv) {
  absl::StatusOr<Flags> flags =
      Flags::Parse(argc, argv,
                   {"fetch-stall-timeout", "nthreads", "memory-limit", "resources", "name", "host", "port",
                    "metrics-port", "local-directory", "plugin", "memory-target-fraction",
                    "memory-spill-fraction", "memory-pause-fraction",
                    "memory-terminate-fraction", "close-timeout", "token-file",
                    "contact-address"},
                   {"allow-exec", "help", "python", "no-python"});
  if (!flags.ok()) return flags.status();
  WorkerOptions o;
  o.help = flags->GetBool("help");
  if (flags->positional().size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected at most one SCHEDULER_ADDRESS, got ", flags->positional().size(), " arguments"));
  }
  o.scheduler_address =
      ResolveSchedulerAddress(flags->positional().empty() ? "" : flags->positional()[0]);

  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  absl::StatusOr<int64_t> nthreads = flags->GetInt("nthreads", hardware);
  if (!nthreads.ok()) return nthreads.status();
  if (*nthreads < 1 || *nthreads > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --nthreads: ", *nthreads, " is not between 1 and 4096"));
  }
  o.nthreads = static_cast<int>(*nthreads);

  std::string memory = flags->GetString("memory-limit", "auto");
  if (memory == "auto") {
    // This worker's share of the machine: its threads' share of the cores.
    o.memory_limit = static_cast<int64_t>(static_cast<double>(PhysicalMemoryBytes()) *
                                          std::min(1.0, static_cast<double>(o.nthreads) / hardware));
  } else {
    absl::StatusOr<int64_t> bytes = ParseByteSize(memory);
    if (!bytes.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("flag --memory-limit: ", bytes.status().message()));
    }
    o.memory_limit = *bytes;
  }

  struct FractionFlag {
    const char* name;
    double* out;
  };
  for (FractionFlag f : {FractionFlag{"memory-target-fraction", &o.memory_target_fraction},
                         FractionFlag{"memory-spill-fraction", &o.memory_spill_fraction},
                         FractionFlag{"memory-pause-fraction", &o.memory_pause_fraction},
                         FractionFlag{"memory-terminate-fraction", &o.memory_terminate_fraction}}) {
    if (!flags->Has(f.name)) continue;
    absl::StatusOr<double> v = ParseFraction(flags->GetString(f.name, ""));
    if (!v.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", f.name, ": ", v.status().message()));
    }
    *f.out = *v;
  }
  // Durations: "10s", "500ms" or plain seconds, between min and 1h.
  struct DurationFlag {
    const char* name;
    absl::Duration min;
    double* seconds_out;
  };
  for (DurationFlag f :
       {DurationFlag{"close-timeout", absl::ZeroDuration(), &o.close_timeout_seconds},
        DurationFlag{"fetch-stall-timeout", absl::Milliseconds(1), &o.fetch_stall_timeout_seconds}}) {
    if (!flags->Has(f.name)) continue;
    const std::string text = flags->GetString(f.name, "");
    absl::Duration d;
    double seconds;
    if (absl::SimpleAtod(text, &seconds)) {
      d = absl::Seconds(seconds);
    } else if (!absl::ParseDuration(text, &d)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "flag --", f.name, ": '", text, "' is not a duration (e.g. 10s, 500ms, 2.5)"));
    }
    if (d < f.min || d > absl::Hours(1)) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", f.name, ": '", text,
                                                     "' is not between ",
                                                     absl::FormatDuration(f.min), " and 1h"));
    }
    *f.seconds_out = absl::ToDoubleSeconds(d);
  }

  if (flags->Has("resources")) {
    absl::StatusOr<std::map<std::string, double>> r = ParseResources(flags->GetString("resources", ""));
    if (!r.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("flag --resources: ", r.status().message()));
    }
    o.resources = *std::move(r);
  }

  o.name = flags->GetString("name", "");
  o.token_file = flags->GetString("token-file", "");
  o.host = flags->GetString("host", "127.0.0.1");
  for (const char* name : {"port", "metrics-port"}) {
    absl::StatusOr<int64_t> port = flags->GetInt(name, 0);
    if (!port.ok()) return port.status();
    if (*port < 0 || *port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, ": ", *port, " is not a port number (0-65535)"));
    }
    (std::string(name) == "port" ? o.port : o.metrics_port) = static_cast<int>(*port);
  }
  o.contact_address = flags->GetString("contact-address", "");
  if (!o.contact_address.empty()) {
    const size_t colon = o.contact_address.rfind(':');
    int64_t contact_port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(o.contact_address.substr(colon + 1), &contact_port) ||
        contact_port <= 0 || contact_port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "flag --contact-address: '", o.contact_address, "' is not HOST:PORT"));
    }
  }
  o.local_directory = flags->GetString("local-directory", "");
  for (const std::string& value : flags->GetAll("plugin")) {
    // TASKGRID_PLUGIN can only hold one value: allow a comma-separated list.
    for (absl::string_view path : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      o.plugins.emplace_back(path);
    }
  }
  o.allow_exec = flags->GetBool("allow-exec");
  o.require_python = flags->GetBool("python");
  o.no_python = flags->GetBool("no-python");
  if (o.require_python && o.no_python) {
    return absl::InvalidArgumentError("flags --python and --no-python contradict each other");
  }
  return o;
}

std::string WorkerUsage() {
  return "usage: taskgrid-worker [SCHEDULER_ADDRESS] [--nthreads N] [--memory-limit 4GiB|auto]\n"
         "         [--resources GPU=1,MEMORY=2e9] [--name NAME] [--host H] [--port 0]\n"
         "         [--metrics-port 0] [--local-directory DIR] [--plugin LIB.so]... [--allow-exec]\n"
         "         [--python | --no-python]   (python runtime: on when built with it)\n"
         "         [--fetch-stall-timeout 30s]   (a peer transfer silent this long is retried)\n"
         "         [--memory-target-fraction 0.6] [--memory-spill-fraction 0.7]\n"
         "         [--memory-pause-fraction 0.8] [--memory-terminate-fraction 0.95]\n"
         "         [--close-timeout 10s]   (fractions of --memory-limit; 0 or false disables)\n"
         "         [--contact-address HOST:PORT]   (the address peers, clients and the\n"
         "                                scheduler are told, when it is not the one the\n"
         "                                worker listens on: NAT, port forwarding, a proxy)\n"
         "         [--token-file FILE]   (callers need a bearer token of FILE; the worker\n"
         "                                sends its first token, else $TASKGRID_TOKEN)\n"
         "Every flag can also be set as TASKGRID_<FLAG> (e.g. TASKGRID_NTHREADS);\n"
         "SCHEDULER_ADDRESS defaults to $TASKGRID_SCHEDULER_ADDRESS, else 127.0.0.1:8786.\n";
}

absl::StatusOr<double> ParseFraction(const std::string& text) {
  if (text == "false" || text == "off" || text == "no") return 0.0;
  double v;
  if (!absl::SimpleAtod(text, &v) || !(v >= 0 && v <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a fraction between 0 and 1 (0 or false disables)"));
  }
  return v;
}

int64_t PhysicalMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? static_cast<int64_t>(pages) * page_size : 0;
}

std::string AdvertisedHost(const std::string& host) {
  if (!host.empty() && host != "0.0.0.0" && host != "::" && host != "[::]") return host;
  // The address the kernel would use to reach the outside: connect() on a
  // UDP socket sends nothing but picks the source address by routing.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd >= 0) {
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(9);
    inet_pton(AF_INET, "192.0.2.1", &remote.sin_addr);  // TEST-NET-1, never routed to
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    if (connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      char buf[INET_ADDRSTRLEN];
      if (inet_ntop(AF_INET, &local.sin_addr, buf, sizeof(buf)) != nullptr) {
        close(fd);
        return buf;
      }
    }
    close(fd);
  }
  // No route (an isolated machine): the hostname's address, else loopback.
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* res = nullptr;
    if (getaddrinfo(name, nullptr, &hints, &res) == 0 && res != nullptr) {
      char buf[INET_ADDRSTRLEN];
      auto* addr = reinterpret_cast<sockaddr_in*>(res->ai_addr);
      std::string out = inet_ntop(AF_INET, &addr->sin_addr, buf, sizeof(buf)) ? buf : "";
      freeaddrinfo(res);
      if (!out.empty()) return out;
    }
  }
  return "127.0.0.1";
}

bool IsIpLiteral(const std::string& host) {
  in_addr v4;
  in6_addr v6;
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

std::string JoinHostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos && host.front() != '[') {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace taskgrid::worker
