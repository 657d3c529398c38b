#include "cli/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace taskgrid::cli {

std::string FormatCount(double n) {
  if (n < 1000) return absl::StrFormat("%.0f", n);
  if (n < 1e6) return absl::StrFormat("%.*fk", n < 1e4 ? 2 : n < 1e5 ? 1 : 0, n / 1e3);
  if (n < 1e9) return absl::StrFormat("%.*fM", n < 1e7 ? 2 : n < 1e8 ? 1 : 0, n / 1e6);
  return absl::StrFormat("%.2fG", n / 1e9);
}

std::string FormatElapsed(double seconds) {
  if (seconds < 60) return absl::StrFormat("%.1fs", seconds);
  const int64_t s = static_cast<int64_t>(seconds);
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

double Rate(const ProgressSnapshot& p) {
  return p.elapsed_seconds > 0 ? p.done / p.elapsed_seconds : 0.0;
}

std::string FormatProgressBar(const ProgressSnapshot& p, int bar_width) {
  const double fraction =
      p.total > 0 ? std::clamp(static_cast<double>(p.done) / p.total, 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(std::floor(fraction * bar_width));
  std::string bar = absl::StrCat("[", std::string(filled, '#'),
                                 std::string(bar_width - filled, '-'), "]");
  const std::string total = absl::StrCat(p.total);
  return absl::StrFormat("%s %*d/%s tasks  %s tasks/s  %d erred  %s", bar,
                         static_cast<int>(total.size()), p.done, total,
                         FormatCount(Rate(p)), p.erred, FormatElapsed(p.elapsed_seconds));
}

std::string FormatProgressLine(const ProgressSnapshot& p) {
  const int percent =
      p.total > 0 ? static_cast<int>(std::floor(100.0 * p.done / p.total)) : 100;
  return absl::StrFormat("progress: %d/%d tasks done (%d%%), %s tasks/s, %d erred, %s elapsed",
                         p.done, p.total, percent, FormatCount(Rate(p)), p.erred,
                         FormatElapsed(p.elapsed_seconds));
}

int64_t EstimateDone(int64_t total, int64_t wanted_done, int64_t wanted_total,
                     const std::map<std::string, int64_t>& tasks_by_state) {
  if (wanted_total > 0 && wanted_done >= wanted_total) return total;
  int64_t pending = 0;
  for (const char* state : {"waiting", "queued", "processing", "no-worker"}) {
    auto it = tasks_by_state.find(state);
    if (it != tasks_by_state.end()) pending += it->second;
  }
  const int64_t lower = std::min(wanted_done, total);
  // A wanted key not finished is at least one task not done.
  const int64_t upper = total - std::min(total, wanted_total - wanted_done);
  return std::clamp(total - pending, lower, std::max(lower, upper));
}

ProgressPrinter::ProgressPrinter(std::FILE* out, bool terminal, double line_interval_seconds)
    : out_(out), terminal_(terminal), line_interval_(line_interval_seconds) {}

void ProgressPrinter::Update(const ProgressSnapshot& p) {
  if (terminal_) {
    // \r and "erase to end of line" keep a shrinking line clean.
    std::fprintf(out_, "\r%s\x1b[K", FormatProgressBar(p).c_str());
    std::fflush(out_);
    return;
  }
  if (last_line_at_ >= 0 && p.elapsed_seconds - last_line_at_ < line_interval_) return;
  last_line_at_ = p.elapsed_seconds;
  std::fprintf(out_, "%s\n", FormatProgressLine(p).c_str());
  std::fflush(out_);
}

void ProgressPrinter::Finish(const ProgressSnapshot& p) {
  if (terminal_) {
    std::fprintf(out_, "\r%s\x1b[K\n", FormatProgressBar(p).c_str());
  } else {
    std::fprintf(out_, "%s\n", FormatProgressLine(p).c_str());
  }
  std::fflush(out_);
}

}  // namespace taskgrid::cli
