#include "common/grpc_auth.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace taskgrid {
namespace {

struct OutgoingTokenHolder {
  absl::Mutex mu;
  std::string token ABSL_GUARDED_BY(mu);
};

OutgoingTokenHolder& Holder() {
  static OutgoingTokenHolder* holder = [] {
    auto* h = new OutgoingTokenHolder;
    if (const char* env = std::getenv("TASKGRID_TOKEN")) {
      absl::MutexLock lock(&h->mu);
      h->token = env;
    }
    return h;
  }();
  return *holder;
}

class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(std::string token) : token_(std::move(token)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::multimap<std::string, std::string>* md = methods->GetSendInitialMetadata();
      if (md->find("authorization") == md->end()) {
        md->emplace("authorization", absl::StrCat("Bearer ", token_));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string token_;
};

class TokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    std::string token = OutgoingToken();
    // No token: an interceptor that only proceeds is not needed.
    if (token.empty()) return nullptr;
    return new TokenInterceptor(std::move(token));
  }
};

}  // namespace

grpc::Status CheckCallToken(const TokenStore* tokens, const grpc::ServerContextBase& ctx) {
  if (tokens == nullptr || !tokens->enabled()) return grpc::Status::OK;
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing bearer token (metadata authorization: Bearer TOKEN; "
                        "clients: --token-file or TASKGRID_TOKEN)");
  }
  if (!tokens->Check(absl::string_view(it->second.data(), it->second.size()))) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "invalid bearer token (not in the service's --token-file)");
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::string> ReadFirstToken(const std::string& path) {
  absl::StatusOr<std::vector<std::string>> tokens = ReadTokenFile(path);
  if (!tokens.ok()) return tokens.status();
  return tokens->front();
}

void SetOutgoingToken(std::string token) {
  OutgoingTokenHolder& h = Holder();
  absl::MutexLock lock(&h.mu);
  h.token = std::move(token);
}

std::string OutgoingToken() {
  OutgoingTokenHolder& h = Holder();
  absl::MutexLock lock(&h.mu);
  return h.token;
}

std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
OutgoingTokenInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<TokenInterceptorFactory>());
  return out;
}

}  // namespace taskgrid
