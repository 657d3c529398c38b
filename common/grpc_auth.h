#pragma once
// Bearer tokens on gRPC calls, for every taskgrid service started with
// --token-file (scheduler, worker, gateway) and every process calling them.
//
// Incoming: CheckCallToken(tokens, ctx) at the top of each handler (insecure
// server credentials take no AuthMetadataProcessor, so the check is
// explicit) answers UNAUTHENTICATED naming what is wrong.
//
// Outgoing: the process's token (SetOutgoingToken, initially the
// TASKGRID_TOKEN environment variable) goes as "authorization: Bearer
// TOKEN" on every call of every channel MakeChannel creates, through a
// client interceptor; a call whose context already carries an
// authorization header keeps its own.
//
// Thread-safety: all functions may be called from any thread.

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

#include "absl/status/statusor.h"
#include "common/token_store.h"

namespace taskgrid {

// OK when `tokens` is null or disabled, or the call carries
// "authorization: Bearer <known token>"; else UNAUTHENTICATED.
grpc::Status CheckCallToken(const TokenStore* tokens, const grpc::ServerContextBase& ctx);

// The first token of a token file (same format as TokenStore's).
absl::StatusOr<std::string> ReadFirstToken(const std::string& path);

// Sets the token sent on outgoing calls ("" sends none).
void SetOutgoingToken(std::string token);
std::string OutgoingToken();

// The interceptor factories MakeChannel installs.
std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
OutgoingTokenInterceptors();

}  // namespace taskgrid

namespace taskgrid {

// A bidi-stream reactor that only finishes with `status`: what a service
// returns for a stream it refuses (e.g. CheckCallToken failed).
template <class In, class Out>
class RejectedBidiReactor : public grpc::ServerBidiReactor<In, Out> {
 public:
  explicit RejectedBidiReactor(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace taskgrid
