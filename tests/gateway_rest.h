#pragma once
// REST helpers for gateway end-to-end tests: submit a job, read JSON, poll
// a job's state. Failures are reported as gtest failures, not exceptions.
//
// Thread-safety: as httplib::Client (one test thread).

#include <httplib.h>

#include <string>

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace taskgrid::testing {

// POSTs a job (JSON text); returns its id ("" on failure, with the test failed).
inline std::string SubmitJob(httplib::Client& http, const std::string& body) {
  httplib::Result r = http.Post("/v1/jobs", body, "application/json");
  EXPECT_TRUE(r) << httplib::to_string(r.error());
  if (!r) return "";
  EXPECT_EQ(r->status, 201) << r->body;
  return r->status == 201 ? nlohmann::json::parse(r->body)["id"].get<std::string>() : "";
}

// GETs `path` as JSON (a discarded value if the body is not JSON); the
// HTTP status goes to *status when given.
inline nlohmann::json GetJson(httplib::Client& http, const std::string& path,
                              int* status = nullptr) {
  httplib::Result r = http.Get(path.c_str());
  if (!r) {
    ADD_FAILURE() << path << ": " << httplib::to_string(r.error());
    return nullptr;
  }
  if (status != nullptr) *status = r->status;
  return nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
}

inline bool JobIn(httplib::Client& http, const std::string& id, const std::string& state) {
  nlohmann::json job = GetJson(http, "/v1/jobs/" + id);
  return job.is_object() && job.value("state", "") == state;
}

}  // namespace taskgrid::testing
