"""Unit tests of bench/loop_delay.py (run with report_test.py)."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import loop_delay  # noqa: E402

SCRAPE = """# TYPE taskgrid_scheduler_event_loop_delay_seconds histogram
taskgrid_scheduler_event_loop_delay_seconds_count 110
taskgrid_scheduler_event_loop_delay_seconds_bucket{le="1e-05"} 10
taskgrid_scheduler_event_loop_delay_seconds_bucket{le="0.0001"} 60
taskgrid_scheduler_event_loop_delay_seconds_bucket{le="0.001"} 100
taskgrid_scheduler_event_loop_delay_seconds_bucket{le="0.01"} 109
taskgrid_scheduler_event_loop_delay_seconds_bucket{le="0.1"} 110
taskgrid_scheduler_event_loop_delay_seconds_bucket{le="+Inf"} 110
"""


class LoopDelayTest(unittest.TestCase):
    def test_buckets_are_parsed_with_inf(self):
        b = loop_delay.parse_buckets(SCRAPE)
        self.assertEqual(b[0.001], 100)
        self.assertEqual(b[math.inf], 110)

    def test_quantiles_are_bucket_bounds_of_the_difference(self):
        before = {1e-05: 10, 0.0001: 10, 0.001: 10, 0.01: 10, 0.1: 10, math.inf: 10}
        s = loop_delay.summarize(before, loop_delay.parse_buckets(SCRAPE))
        self.assertEqual(s["loop_batches"], 100)
        self.assertAlmostEqual(s["loop_delay_p50_ms"], 0.1)  # 50 of 100 by 100 us
        self.assertAlmostEqual(s["loop_delay_p99_ms"], 10.0)  # 99 of 100 by 10 ms
        # the last one waited between 10 and 100 ms
        self.assertAlmostEqual(s["loop_delay_max_ms"], 100.0)

    def test_nothing_observed_gives_none(self):
        b = loop_delay.parse_buckets(SCRAPE)
        self.assertIsNone(loop_delay.summarize(b, b))


if __name__ == "__main__":
    unittest.main()
