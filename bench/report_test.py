"""Unit tests of the bench report: the ratio's orientation, target checks,
the table and the JSON/PNG outputs.

    /usr/bin/python3 -m unittest discover -s bench -p '*_test.py'
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_spec  # noqa: E402
import report  # noqa: E402

ROW = {(r.workload, r.metric): r for r in bench_spec.ROWS}
MAP = ROW[("map", "tasks_per_s")]
P50 = ROW[("latency", "p50_us")]
MEMORY = ROW[("memory", "bytes_per_task")]

RESULTS = {
    "taskgrid": {"map": {"tasks_per_s": 120000.0},
                 "latency": {"p50_us": 80.0, "p99_us": 200.0},
                 "memory": {"bytes_per_task": 1500.0}},
    "dask_default": {"map": {"tasks_per_s": 600.0},
                     "latency": {"p50_us": 10000.0, "p99_us": 20000.0},
                     "memory": {"bytes_per_task": 6000.0}},
    "dask_best": {"map": {"tasks_per_s": 3000.0},
                  "latency": {"p50_us": 12000.0, "p99_us": 30000.0},
                  "memory": {"error": "exit 1: boom"}},
}


class SpeedupTest(unittest.TestCase):
    def test_throughput_divides_taskgrid_by_the_faster_dask(self):
        self.assertAlmostEqual(report.speedup(RESULTS, MAP), 40.0)

    def test_latency_divides_the_faster_dask_by_taskgrid(self):
        self.assertAlmostEqual(report.speedup(RESULTS, P50), 125.0)

    def test_an_erred_dask_run_is_left_out_of_the_better_dask(self):
        self.assertAlmostEqual(report.speedup(RESULTS, MEMORY), 4.0)

    def test_missing_taskgrid_gives_no_ratio(self):
        self.assertIsNone(report.speedup({"dask_best": RESULTS["dask_best"]}, MAP))


class TargetTest(unittest.TestCase):
    def test_higher_is_better_rows_meet_at_or_above_target(self):
        self.assertTrue(report.meets_target(RESULTS, MAP))

    def test_lower_is_better_rows_miss_above_target(self):
        self.assertTrue(report.meets_target(RESULTS, P50))
        self.assertFalse(report.meets_target(RESULTS, MEMORY))


class OutputTest(unittest.TestCase):
    def test_table_shows_values_errors_and_the_ratio_orientation(self):
        text = "\n".join(report.table_lines(RESULTS))
        self.assertIn("120,000", text)
        self.assertIn("40.0x", text)
        self.assertIn("error", text)
        self.assertIn("bigger is better", text)

    def test_gateway_rows_are_taskgrid_only(self):
        results = {"taskgrid": {"gateway_rest": {"p50_us": 900.0, "p99_us": 2000.0}},
                   "dask_default": RESULTS["dask_default"]}
        line = next(l for l in report.table_lines(results)
                    if l.startswith("gateway REST one-task job submit->result p50"))
        self.assertIn("900", line)
        self.assertEqual(line.split().count("n/a"), 2)
        row = ROW[("gateway_rest", "p50_us")]
        self.assertIsNone(report.speedup(results, row))

    def test_json_and_chart_are_written(self):
        with tempfile.TemporaryDirectory() as tmp:
            json_path = os.path.join(tmp, "bench.json")
            png_path = os.path.join(tmp, "bench.png")
            report.write_json(RESULTS, {"quick": True}, json_path)
            report.draw_chart(RESULTS, png_path, "test")
            with open(json_path) as f:
                data = json.load(f)
            map_row = next(r for r in data["rows"] if r["workload"] == "map")
            self.assertEqual(map_row["taskgrid"], 120000.0)
            self.assertAlmostEqual(map_row["x_better_than_best_dask"], 40.0)
            with open(png_path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_a_dask_run_stopped_at_its_bound_reads_did_not_finish(self):
        results = {"taskgrid": {"tree1m": {"seconds": 30.0}},
                   "dask_default": {"tree1m": {"dnf_s": 120}},
                   "dask_best": {"tree1m": {"dnf_s": 120}}}
        row = ROW[("tree1m", "seconds")]
        line = next(l for l in report.table_lines(results)
                    if l.startswith(row.label))
        self.assertEqual(line.count("did not finish in 120 s"), 2)
        self.assertIn(">4.0x", line)
        self.assertIn("NO", line)  # 30 s misses the 20 s target
        self.assertIsNone(report.speedup(results, row))
        self.assertEqual(report.errors(results), [])

    def test_no_ratio_floor_when_a_dask_run_finished(self):
        results = {"taskgrid": {"tree1m": {"seconds": 30.0}},
                   "dask_default": {"tree1m": {"dnf_s": 120}},
                   "dask_best": {"tree1m": {"seconds": 100.0}}}
        row = ROW[("tree1m", "seconds")]
        self.assertIsNone(report.speedup_floor(results, row))
        self.assertAlmostEqual(report.speedup(results, row), 100.0 / 30.0)

    def test_errors_lists_every_failed_workload(self):
        self.assertEqual(report.errors(RESULTS), ["dask_best memory: exit 1: boom"])


class SizesTest(unittest.TestCase):
    def test_dask_overrides_apply_only_to_dask(self):
        self.assertEqual(bench_spec.sizes_for("taskgrid", False)["tree"]["n"], 65536)
        self.assertEqual(bench_spec.sizes_for("dask", False)["tree"]["n"], 8192)
        self.assertEqual(bench_spec.sizes_for("dask", False)["map"]["n"], 20000)

    def test_every_row_names_a_workload(self):
        for row in bench_spec.ROWS:
            self.assertIn(row.workload, bench_spec.WORKLOADS)


if __name__ == "__main__":
    unittest.main()
