#pragma once
// Progress of `taskgrid submit`: what to show (tasks done / total, rate,
// erred count, elapsed time) as a one-line bar redrawn on a terminal or as
// plain lines for logs, plus the estimate of how many graph tasks are done.
//
// The client only hears about the keys it wants, so the done count combines
// those with the scheduler's cluster-wide task counts (ClusterInfo): every
// graph task not waiting, queued, processing or stuck without a worker is
// counted as done.
//
// Thread-safety: pure functions; ProgressPrinter is single-threaded.

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

namespace taskgrid::cli {

struct ProgressSnapshot {
  int64_t done = 0;
  int64_t total = 0;
  int64_t erred = 0;
  double elapsed_seconds = 0;
};

// "950", "12.3k", "4.56M".
std::string FormatCount(double n);
// "0.4s", "12.3s", "2m05s", "1h02m".
std::string FormatElapsed(double seconds);
// Tasks per second over the whole run; 0 before any time has passed.
double Rate(const ProgressSnapshot& p);

// "[#########-----------]  42/100 tasks  1.2k tasks/s  0 erred  3.4s",
// the bar `bar_width` characters wide between the brackets.
std::string FormatProgressBar(const ProgressSnapshot& p, int bar_width = 30);
// "progress: 42/100 tasks done (42%), 1.2k tasks/s, 0 erred, 3.4s elapsed".
std::string FormatProgressLine(const ProgressSnapshot& p);

// Graph tasks done, from `total` graph tasks, the wanted keys finished so
// far (`wanted_done` of `wanted_total`) and the scheduler's task counts by
// state name. Never below what is known for sure, never above total.
int64_t EstimateDone(int64_t total, int64_t wanted_done, int64_t wanted_total,
                     const std::map<std::string, int64_t>& tasks_by_state);

// Draws progress: on a terminal one bar rewritten in place, otherwise a
// plain line at most every `line_interval_seconds` (and always the last).
class ProgressPrinter {
 public:
  ProgressPrinter(std::FILE* out, bool terminal, double line_interval_seconds = 1.0);
  void Update(const ProgressSnapshot& p);
  // Draws the final state and ends the line.
  void Finish(const ProgressSnapshot& p);

 private:
  std::FILE* out_;
  const bool terminal_;
  const double line_interval_;
  double last_line_at_ = -1;
};

}  // namespace taskgrid::cli
