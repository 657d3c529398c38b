#pragma once
// Internal to value_codec.cc / value_decoder.cc: the protobuf wire-format
// constants of taskgrid.v1.Value (see protos/taskgrid/v1/common.proto).

#include <cstdint>

namespace taskgrid::wire {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// taskgrid.v1.Value field numbers (common.proto).
enum ValueField : uint32_t {
  kNullField = 1, kBoolField = 2, kIntField = 3, kDoubleField = 4,
  kStringField = 5, kBytesField = 6, kListField = 7, kMapField = 8,
  kArrayField = 9, kPickleField = 10, kRefField = 11,
};

}  // namespace taskgrid::wire
