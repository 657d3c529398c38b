#include "bench/bench_stats.h"

#include <vector>

#include "gtest/gtest.h"

namespace taskgrid::bench {
namespace {

std::vector<double> OneToHundred() {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  return v;
}

TEST(PercentileTest, NearestRankOfOneToHundred) {
  std::vector<double> v = OneToHundred();
  EXPECT_EQ(Percentile(v, 50), 50);
  EXPECT_EQ(Percentile(v, 99), 99);
  EXPECT_EQ(Percentile(v, 100), 100);
  EXPECT_EQ(Percentile(v, 0), 1);
}

TEST(PercentileTest, RoundsTheRankUp) {
  std::vector<double> v = {10, 20, 30};
  EXPECT_EQ(Percentile(v, 50), 20);   // rank ceil(1.5) = 2
  EXPECT_EQ(Percentile(v, 99), 30);   // rank ceil(2.97) = 3
  EXPECT_EQ(Percentile(v, 34), 20);   // rank ceil(1.02) = 2
}

TEST(MedianTest, OddAndEvenCountsInAnyOrder) {
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(Median({7}), 7);
}

}  // namespace
}  // namespace taskgrid::bench
