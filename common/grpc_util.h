#pragma once
// Shared gRPC settings so every server and channel in taskgrid agrees on
// message limits and bulk-transfer tuning: health checking and reflection on
// every server, 64 MiB messages, BDP probing and large write buffers for the
// DataChunk streams, and one connection per peer channel.
//
// Thread-safety: plain functions; call ConfigureServerBuilder before
// BuildAndStart().

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace taskgrid {

inline constexpr int kMaxGrpcMessageBytes = 64 << 20;

// Enables the default health service and server reflection (both are
// process-global switches that only take effect for servers built after
// this call), applies the message-size and flow-control settings, and
// counts calls into the gRPC server metrics (common/grpc_server_metrics.h).
void ConfigureServerBuilder(grpc::ServerBuilder* builder);

// The channel arguments MakeChannel uses, for callers that need to add
// their own (e.g. credentials other than insecure).
grpc::ChannelArguments DefaultChannelArguments();

// An insecure channel to `address` with its own subchannel pool, so two
// channels to the same peer do not share (and serialise on) one connection.
// Its calls carry the process's bearer token (common/grpc_auth.h).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

}  // namespace taskgrid
