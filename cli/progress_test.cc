#include "cli/progress.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ProgressFormatTest, CountsAreShortened) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(950), "950");
  EXPECT_EQ(FormatCount(1234), "1.23k");
  EXPECT_EQ(FormatCount(12345), "12.3k");
  EXPECT_EQ(FormatCount(123456), "123k");
  EXPECT_EQ(FormatCount(4560000), "4.56M");
}

TEST(ProgressFormatTest, ElapsedTimeReadsNaturally) {
  EXPECT_EQ(FormatElapsed(0.42), "0.4s");
  EXPECT_EQ(FormatElapsed(12.34), "12.3s");
  EXPECT_EQ(FormatElapsed(125), "2m05s");
  EXPECT_EQ(FormatElapsed(3725), "1h02m");
}

TEST(ProgressFormatTest, BarShowsDoneTotalRateErredAndTime) {
  ProgressSnapshot p{/*done=*/50, /*total=*/100, /*erred=*/2, /*elapsed_seconds=*/2.0};
  EXPECT_EQ(FormatProgressBar(p, 10), "[#####-----]  50/100 tasks  25 tasks/s  2 erred  2.0s");
}

TEST(ProgressFormatTest, BarIsFullAndEmptyAtTheEnds) {
  ProgressSnapshot none{0, 8, 0, 0};
  EXPECT_THAT(FormatProgressBar(none, 4), StartsWith("[----] 0/8 tasks  0 tasks/s"));
  ProgressSnapshot all{8, 8, 0, 1};
  EXPECT_THAT(FormatProgressBar(all, 4), StartsWith("[####] 8/8 tasks  8 tasks/s"));
  // More done than total (estimates) never overflows the bar.
  ProgressSnapshot over{9, 8, 0, 1};
  EXPECT_THAT(FormatProgressBar(over, 4), StartsWith("[####]"));
}

TEST(ProgressFormatTest, PlainLineForLogs) {
  ProgressSnapshot p{1500, 2000, 0, 0.5};
  EXPECT_EQ(FormatProgressLine(p),
            "progress: 1500/2000 tasks done (75%), 3.00k tasks/s, 0 erred, 0.5s elapsed");
}

TEST(EstimateDoneTest, CountsGraphTasksNotPendingInTheCluster) {
  std::map<std::string, int64_t> counts = {
      {"waiting", 30}, {"processing", 2}, {"queued", 8}, {"memory", 50}, {"released", 10}};
  EXPECT_EQ(EstimateDone(100, 0, 1, counts), 60);
}

TEST(EstimateDoneTest, AllWantedKeysDoneMeansEverythingIsDone) {
  EXPECT_EQ(EstimateDone(100, 3, 3, {{"waiting", 500}}), 100);
}

TEST(EstimateDoneTest, StaysWithinWhatIsKnown) {
  // Other clients' pending work can't push the estimate below the wanted
  // keys already done ...
  EXPECT_EQ(EstimateDone(100, 5, 10, {{"waiting", 1000}}), 5);
  // ... and unfinished wanted keys keep it below the total.
  EXPECT_EQ(EstimateDone(100, 5, 10, {}), 95);
}

// Reads back what a ProgressPrinter wrote to a temporary file.
std::string Printed(bool terminal, const std::vector<ProgressSnapshot>& updates,
                    const ProgressSnapshot& last) {
  std::FILE* f = std::tmpfile();
  {
    ProgressPrinter printer(f, terminal, /*line_interval_seconds=*/1.0);
    for (const ProgressSnapshot& p : updates) printer.Update(p);
    printer.Finish(last);
  }
  std::rewind(f);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

TEST(ProgressPrinterTest, PlainLinesAreRateLimitedAndTheLastIsAlwaysPrinted) {
  std::string out = Printed(false, {{1, 10, 0, 0.1}, {2, 10, 0, 0.5}, {5, 10, 0, 1.2}},
                            {10, 10, 0, 1.3});
  EXPECT_EQ(out,
            "progress: 1/10 tasks done (10%), 10 tasks/s, 0 erred, 0.1s elapsed\n"
            "progress: 5/10 tasks done (50%), 4 tasks/s, 0 erred, 1.2s elapsed\n"
            "progress: 10/10 tasks done (100%), 8 tasks/s, 0 erred, 1.3s elapsed\n");
}

TEST(ProgressPrinterTest, TerminalRedrawsOneLineInPlace) {
  std::string out = Printed(true, {{1, 2, 0, 1}}, {2, 2, 1, 2});
  EXPECT_THAT(out, StartsWith("\r[###############---------------] 1/2 tasks"));
  EXPECT_THAT(out, HasSubstr("\r[##############################] 2/2 tasks  1 tasks/s  1 erred"));
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

}  // namespace
}  // namespace taskgrid::cli
