#pragma once
// JsonLogSink: a glog sink that writes each log event to stderr as one JSON
// object per line, for log pipelines (Loki, Elasticsearch, Cloud Logging):
//   {"time":"2026-11-26T10:15:46.123456Z","level":"INFO","service":"taskgrid-scheduler",
//    "message":"worker 10.0.0.7:8788 registered ...","worker":"10.0.0.7:8788",
//    "file":"session_reactors.cc","line":223,"thread":1234}
// Fields `worker`, `key` and `client` are taken from the message where it
// names one ("worker <id>", "key <k>", "task <k>", "client <id>").
//
// Thread-safety: send() may be called from any thread (glog serialises
// calls to a sink; each line is written with a single write(2)).

#include <glog/logging.h>

#include <string>

#include "absl/strings/string_view.h"

namespace taskgrid {

// The JSON line (with '\n') for one event; exposed for tests.
std::string FormatJsonLogLine(google::LogSeverity severity, const char* base_filename,
                              int line, const google::LogMessageTime& time,
                              absl::string_view service, absl::string_view message,
                              long thread_id);

class JsonLogSink final : public google::LogSink {
 public:
  explicit JsonLogSink(std::string service) : service_(std::move(service)) {}

  void send(google::LogSeverity severity, const char* full_filename, const char* base_filename,
            int line, const google::LogMessageTime& time, const char* message,
            size_t message_len) override;

 private:
  const std::string service_;
};

}  // namespace taskgrid
