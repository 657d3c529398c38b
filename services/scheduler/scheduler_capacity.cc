// SchedulerState::ReleaseCapacity: shrinking containers after big graphs.

#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {
namespace {

// Below this many slots a table is left alone (not worth a rehash).
constexpr size_t kMinShrinkCapacity = 4096;

// A hash table holding under a quarter of its capacity is rehashed to fit.
template <typename Table>
void ShrinkTable(Table& table) {
  if (table.capacity() > kMinShrinkCapacity && table.size() * 4 < table.capacity()) {
    table.rehash(0);
  }
}

template <typename T>
void ShrinkVector(std::vector<T>& v) {
  if (v.capacity() > kMinShrinkCapacity && v.size() * 4 < v.capacity()) v.shrink_to_fit();
}

}  // namespace

void SchedulerState::ReleaseCapacity() {
  if (draining_) return;
  ShrinkTable(tasks_);
  ShrinkTable(no_worker_);
  ShrinkTable(transfers_);
  ShrinkTable(orphans_);
  ShrinkTable(held_);
  for (auto& [id, client] : clients_) ShrinkTable(client.wants);
  for (auto& [id, w] : workers_) {
    ShrinkTable(w->processing);
    ShrinkTable(w->has_what);
  }
  ShrinkVector(ready_);
  ShrinkVector(release_candidates_);
  ShrinkVector(forget_candidates_);
  ShrinkVector(compute_candidates_);
  ShrinkVector(graveyard_);
}

}  // namespace taskgrid::scheduler
