#pragma once
// The OpenAPI 3 description of the gateway's REST API, served at
// GET /v1/openapi.json. It lists exactly the routes rest_server.cc and
// rest_routes.cc install (the end-to-end test walks every documented path
// and method against a running gateway).
//
// Thread-safety: pure function.

#include "nlohmann/json.hpp"

namespace taskgrid::gateway {

const nlohmann::json& OpenApiDocument();

}  // namespace taskgrid::gateway
