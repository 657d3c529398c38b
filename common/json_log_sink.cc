#include "common/json_log_sink.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace taskgrid {
namespace {

const char* LevelName(google::LogSeverity severity) {
  switch (severity) {
    case google::GLOG_INFO: return "INFO";
    case google::GLOG_WARNING: return "WARNING";
    case google::GLOG_ERROR: return "ERROR";
    default: return "FATAL";
  }
}

// The word after `label ` in `message`, without trailing punctuation
// ("worker 10.0.0.7:8788 registered" -> "10.0.0.7:8788"); empty if absent.
std::string WordAfter(absl::string_view message, absl::string_view label) {
  size_t pos = 0;
  while ((pos = message.find(label, pos)) != absl::string_view::npos) {
    const bool starts_word = pos == 0 || message[pos - 1] == ' ' || message[pos - 1] == '(';
    const size_t value = pos + label.size();
    if (starts_word && value < message.size() && message[value] == ' ') {
      size_t end = message.find_first_of(" \t", value + 1);
      absl::string_view word = message.substr(value + 1, end == absl::string_view::npos
                                                             ? absl::string_view::npos
                                                             : end - value - 1);
      while (!word.empty() && (word.back() == ',' || word.back() == ';' || word.back() == ':' ||
                               word.back() == ')')) {
        word.remove_suffix(1);
      }
      if (!word.empty() && word != "is" && word != "stream") return std::string(word);
    }
    pos = value;
  }
  return "";
}

}  // namespace

std::string FormatJsonLogLine(google::LogSeverity severity, const char* base_filename,
                              int line, const google::LogMessageTime& time,
                              absl::string_view service, absl::string_view message,
                              long thread_id) {
  std::tm utc;
  const time_t seconds = time.timestamp();
  gmtime_r(&seconds, &utc);
  nlohmann::json j;
  j["time"] = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", utc.tm_year + 1900,
                              utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                              time.usec());
  j["level"] = LevelName(severity);
  j["service"] = std::string(service);
  j["message"] = std::string(message);
  for (const char* field : {"worker", "key", "client"}) {
    std::string v = WordAfter(message, field);
    if (!v.empty()) j[field] = v;
  }
  if (!j.contains("key")) {
    std::string v = WordAfter(message, "task");
    if (!v.empty()) j["key"] = v;
  }
  j["file"] = base_filename != nullptr ? base_filename : "";
  j["line"] = line;
  j["thread"] = thread_id;
  // Replace invalid UTF-8 rather than throw: a log line must never fail.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void JsonLogSink::send(google::LogSeverity severity, const char*, const char* base_filename,
                       int line, const google::LogMessageTime& time, const char* message,
                       size_t message_len) {
  const std::string out =
      FormatJsonLogLine(severity, base_filename, line, time, service_,
                        absl::string_view(message, message_len),
                        static_cast<long>(syscall(SYS_gettid)));
  // One write per line so lines from several threads never interleave.
  ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

}  // namespace taskgrid
