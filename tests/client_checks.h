#pragma once
// Assertions end-to-end tests share that drive a real cluster through the
// C++ client.

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "clients/cpp/client.h"
#include "common/value.h"

namespace taskgrid::testing {

// A new client session on the scheduler at `address` computes inc(41) = 42
// within 30 s: the cluster still serves new work.
inline void ExpectNewClientComputes(const std::string& address) {
  auto client = Client::Connect(address);
  ASSERT_TRUE(client.ok()) << client.status();
  auto f = (*client)->Submit("inc", {Value::Int(41)});
  ASSERT_TRUE(f.ok()) << f.status();
  auto v = f->Result(std::chrono::seconds(30));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), 42);
}

}  // namespace taskgrid::testing
