// StreamOutlet: one write in flight, what is queued meanwhile merged into
// messages under the size limit (and split when one batch is too big by
// itself), order kept, and the queue bound.

#include "services/scheduler/stream_outlet.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::scheduler {
namespace {

using Batch = v1::ClientEventBatch;

// A batch of events whose keys are `name`-0, -1, ... each `key_bytes` long.
Batch Events(const std::string& name, int count, size_t key_bytes) {
  Batch b;
  for (int i = 0; i < count; ++i) {
    std::string key = name + "-" + std::to_string(i);
    key.resize(key_bytes, '.');
    b.add_events()->mutable_key_event()->set_key(key);
  }
  return b;
}

std::string Prefix(const v1::ClientEvent& e) {
  const std::string& key = e.key_event().key();
  return key.substr(0, key.find('.'));
}

class StreamOutletTest : public ::testing::Test {
 protected:
  static constexpr size_t kMaxMessage = 10000;

  StreamOutletTest()
      : outlet_([this](const Batch* b) { written_.push_back(*b); },
                [this] { ++overflows_; }, /*max_queued_bytes=*/100000, kMaxMessage) {}

  // Completes writes until none is in flight; all keys written, in order.
  std::vector<std::string> Drain() {
    while (!outlet_.OnWriteDone(true) && drained_ < written_.size()) ++drained_;
    std::vector<std::string> keys;
    for (const Batch& b : written_) {
      EXPECT_LE(b.ByteSizeLong(), kMaxMessage) << "a message over the limit";
      for (const auto& e : b.events()) keys.push_back(Prefix(e));
    }
    return keys;
  }

  std::vector<Batch> written_;
  size_t drained_ = 0;
  int overflows_ = 0;
  StreamOutlet<Batch> outlet_;
};

TEST_F(StreamOutletTest, QueuedBatchesAreMergedUnderTheMessageLimitInOrder) {
  outlet_.Send(Events("a", 1, 100));  // written at once
  ASSERT_EQ(written_.size(), 1u);
  for (int i = 0; i < 30; ++i) outlet_.Send(Events("b" + std::to_string(i), 1, 1000));
  EXPECT_EQ(written_.size(), 1u) << "nothing else starts while a write is in flight";
  std::vector<std::string> keys = Drain();
  ASSERT_EQ(keys.size(), 31u);
  EXPECT_EQ(keys[0], "a-0");
  for (int i = 0; i < 30; ++i) EXPECT_EQ(keys[i + 1], "b" + std::to_string(i) + "-0");
  // 30 KB queued meanwhile went out in a few merged messages, not 30.
  EXPECT_GE(written_.size(), 4u);
  EXPECT_LE(written_.size(), 6u);
  EXPECT_EQ(overflows_, 0);
}

TEST_F(StreamOutletTest, ABatchOverTheLimitIsSplitInOrder) {
  outlet_.Send(Events("big", 50, 1000));  // ~50 KB at once, nothing in flight
  outlet_.Send(Events("after", 1, 10));
  std::vector<std::string> keys = Drain();
  ASSERT_EQ(keys.size(), 51u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(keys[i], "big-" + std::to_string(i));
  EXPECT_EQ(keys[50], "after-0");
  EXPECT_GE(written_.size(), 6u);
}

TEST_F(StreamOutletTest, AnItemLargerThanTheLimitGoesAlone) {
  Batch b = Events("small", 2, 100);
  b.MergeFrom(Events("huge", 1, 3 * kMaxMessage));
  outlet_.Send(std::move(b));
  outlet_.OnWriteDone(true);
  ASSERT_EQ(written_.size(), 2u);
  EXPECT_EQ(written_[0].events_size(), 2);
  EXPECT_EQ(written_[1].events_size(), 1);
  EXPECT_EQ(Prefix(written_[1].events(0)), "huge-0");
}

TEST_F(StreamOutletTest, AConsumerThatStopsReadingOverflowsOnceAndIsClosed) {
  outlet_.Send(Events("first", 1, 10));  // in flight, never completed
  for (int i = 0; i < 200 && !outlet_.closed(); ++i) outlet_.Send(Events("x", 1, 1000));
  EXPECT_EQ(overflows_, 1);
  EXPECT_TRUE(outlet_.closed());
  outlet_.Send(Events("late", 1, 10));  // dropped
  EXPECT_EQ(overflows_, 1);
  EXPECT_TRUE(outlet_.OnWriteDone(true)) << "closed with nothing in flight: finish";
  EXPECT_EQ(written_.size(), 1u);
}

}  // namespace
}  // namespace taskgrid::scheduler
