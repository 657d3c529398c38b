#pragma once
// WorkPool: a few threads for the gRPC handlers' blocking steps (waiting
// for a graph's acknowledgement, fetching a result from a worker, asking
// the scheduler for cluster info), so the callback API's own threads are
// never blocked.
//
// Thread-safety: Post may be called from any thread. The destructor runs
// the work already posted, then joins.

#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace taskgrid::gateway {

class WorkPool {
 public:
  explicit WorkPool(int threads);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  void Post(std::function<void()> work) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run();

  absl::Mutex mu_;
  std::vector<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace taskgrid::gateway
