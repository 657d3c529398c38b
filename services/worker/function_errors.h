#pragma once
// Errors raised by task functions, carrying the Python-like exception type
// name users see in TaskError.type ("TypeError", "ValueError", ...).
//
// The type travels as a payload on the absl::Status, so functions (builtins
// and plugins alike) return ordinary Status values. Header-only so that
// plugins can use it without linking anything from the worker.

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/cord.h"

namespace taskgrid::worker {

inline constexpr char kErrorTypePayload[] = "taskgrid.dev/error_type";
inline constexpr char kErrorTracebackPayload[] = "taskgrid.dev/traceback";

// An error of the Python exception type `type` (e.g. "ZeroDivisionError").
inline absl::Status FunctionError(absl::string_view type, absl::string_view message,
                                  absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  absl::Status s(code, message);
  s.SetPayload(kErrorTypePayload, absl::Cord(type));
  return s;
}

// The same, with the remote traceback text users read (Python tasks).
inline absl::Status FunctionErrorWithTraceback(absl::string_view type, absl::string_view message,
                                               absl::string_view traceback) {
  absl::Status s = FunctionError(type, message, absl::StatusCode::kUnknown);
  if (!traceback.empty()) s.SetPayload(kErrorTracebackPayload, absl::Cord(traceback));
  return s;
}

inline absl::Status TypeError(absl::string_view message) {
  return FunctionError("TypeError", message);
}
inline absl::Status ValueError(absl::string_view message) {
  return FunctionError("ValueError", message);
}

// The exception type name of a failed function call: the payload if set,
// else a name derived from the status code.
inline std::string ErrorTypeName(const absl::Status& status) {
  if (auto payload = status.GetPayload(kErrorTypePayload)) {
    return std::string(*payload);
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument: return "ValueError";
    case absl::StatusCode::kOutOfRange: return "IndexError";
    case absl::StatusCode::kNotFound: return "KeyError";
    case absl::StatusCode::kUnimplemented: return "NotImplementedError";
    case absl::StatusCode::kResourceExhausted: return "MemoryError";
    case absl::StatusCode::kDeadlineExceeded: return "TimeoutError";
    default: return "FunctionError";
  }
}

// The traceback attached by FunctionErrorWithTraceback, else empty.
inline std::string ErrorTraceback(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorTracebackPayload);
  return payload ? std::string(*payload) : std::string();
}

}  // namespace taskgrid::worker
