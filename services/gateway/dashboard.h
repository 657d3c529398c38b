#pragma once
// The live dashboard served at GET /: one static HTML page with inline CSS
// and JavaScript, embedded in the binary (no CDN, no build step). The page
// polls GET /v1/cluster and GET /v1/jobs every second and draws workers
// (threads, memory, running tasks, keys held), task counts by state and
// each job's progress. With a token file, open it as /?token=TOKEN; the
// script sends the token as a bearer header on its API calls.
//
// Thread-safety: returns an immutable string.

#include <string>

namespace taskgrid::gateway {

const std::string& DashboardHtml();

}  // namespace taskgrid::gateway
