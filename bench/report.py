"""Turns the per-system workload results of `make bench` into the comparison
table (stdout), bench.json and the bench.png chart.

`results` maps a system name ("taskgrid", "dask_default", "dask_best") to
{workload: metrics dict or {"error": text}}; a system that was not run is
absent.
"""

import json
import textwrap

from bench_spec import GATEWAY_WORKLOADS, ROWS, TRANSFER_WORKLOADS

SYSTEMS = ["taskgrid", "dask_default", "dask_best"]


def metric(results, system, row):
    entry = results.get(system, {}).get(row.workload)
    if not entry or "error" in entry:
        return None
    return entry.get(row.metric)


def dnf_bound(results, system, row):
    """The bound N of a run stopped as "did not finish in N s", else None."""
    entry = results.get(system, {}).get(row.workload) or {}
    return entry.get("dnf_s")


def speedup_floor(results, row):
    """For a time row where every Dask run was stopped at its bound: taskgrid
    is at least bound / taskgrid's time better (shown as ">Nx")."""
    tg = metric(results, "taskgrid", row)
    bounds = [dnf_bound(results, s, row) for s in ("dask_default", "dask_best")
              if s in results]
    if (row.unit != "s" or not tg or tg <= 0 or not bounds
            or any(b is None for b in bounds)):
        return None
    return min(bounds) / tg


def better_dask(results, row):
    values = [v for v in (metric(results, "dask_default", row),
                          metric(results, "dask_best", row)) if v]
    if not values:
        return None
    return max(values) if row.better == "higher" else min(values)


def speedup(results, row):
    """How many times better taskgrid is than the better Dask (> 1: taskgrid
    wins) - throughput: taskgrid / Dask; latency and memory: Dask / taskgrid."""
    tg, dask = metric(results, "taskgrid", row), better_dask(results, row)
    if tg is None or dask is None or tg <= 0 or dask <= 0:
        return None
    return tg / dask if row.better == "higher" else dask / tg


def meets_target(results, row):
    tg = metric(results, "taskgrid", row)
    if tg is None or row.target is None:
        return None
    return tg >= row.target if row.better == "higher" else tg <= row.target


def fmt(value, unit):
    if value is None:
        return "-"
    if unit == "GB/s":
        # A 1 KiB transfer is mostly round trip: a few MB/s.
        return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"
    if unit == "bytes" and value >= 1000:
        return f"{value / 1000:.2f} KB"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def size_note(results, system, row):
    """'(8192 leaves)' when a system ran the workload at a smaller size."""
    entry = results.get(system, {}).get(row.workload) or {}
    if row.workload == "tree" and "leaves" in entry:
        return f" ({entry['leaves']} leaves)"
    if row.workload == "memory" and "n" in entry:
        return f" (N={entry['n']})"
    return ""


def table_lines(results):
    header = ["workload", "unit", "taskgrid", "Dask default", "Dask best",
              "target", "meets", "x better than best Dask"]
    rows = []
    for row in ROWS:
        target = "-" if row.target is None else (
            ("<= " if row.better == "lower" else ">= ") + fmt(row.target, row.unit))
        met = meets_target(results, row)
        ratio = speedup(results, row)
        cells = [row.label, row.unit]
        for system in SYSTEMS:
            entry = results.get(system, {}).get(row.workload)
            if system != "taskgrid" and row.workload in GATEWAY_WORKLOADS:
                cells.append("n/a")
            elif entry and "error" in entry:
                cells.append("error")
            elif entry and "dnf_s" in entry:
                cells.append(f"did not finish in {entry['dnf_s']} s")
            else:
                cells.append(fmt(metric(results, system, row), row.unit)
                             + size_note(results, system, row))
        floor = speedup_floor(results, row) if ratio is None else None
        cells += [target, "-" if met is None else ("yes" if met else "NO"),
                  f"{ratio:,.1f}x" if ratio is not None else
                  f">{floor:,.1f}x" if floor is not None else "-"]
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out.append("")
    out.append("last column: how many times better taskgrid is than the better "
               "of the two Dask configurations (throughput: taskgrid / Dask; "
               "latency and memory: Dask / taskgrid); bigger is better for taskgrid.")
    out.append("gateway rows: a one-task job through taskgrid-gateway (REST: POST + GET "
               "result on one keep-alive connection; gRPC: SubmitJob + GetResult). "
               "Dask.distributed has no gateway (n/a); compare with its client's own "
               "round trip above.")
    return out


def errors(results):
    return [f"{system} {workload}: {entry['error']}"
            for system, per in results.items()
            for workload, entry in per.items() if entry and "error" in entry]


def write_json(results, meta, path):
    rows = []
    for row in ROWS:
        rows.append({
            "workload": row.workload, "metric": row.metric, "label": row.label,
            "unit": row.unit, "better": row.better, "target": row.target,
            "taskgrid": metric(results, "taskgrid", row),
            "dask_default": metric(results, "dask_default", row),
            "dask_best": metric(results, "dask_best", row),
            "design_dask_default": row.dask_default_ref,
            "design_dask_best": row.dask_best_ref,
            "meets_target": meets_target(results, row),
            "x_better_than_best_dask": speedup(results, row),
            "x_better_than_best_dask_at_least": speedup_floor(results, row),
        })
    with open(path, "w") as f:
        json.dump({"meta": meta, "rows": rows, "raw": results}, f, indent=2)
        f.write("\n")


def draw_chart(results, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("throughput (tasks/s, log)", ["map", "chain", "tree"], True),
        ("worker->worker transfer (GB/s)", TRANSFER_WORKLOADS, False),
        ("round trip (us, log; lower is better)", ["latency"] + GATEWAY_WORKLOADS, True),
        ("scheduler memory per held task (bytes; lower is better)", ["memory"], False),
    ]
    colors = {"taskgrid": "#1f77b4", "dask_default": "#ff7f0e", "dask_best": "#2ca02c"}
    names = {"taskgrid": "taskgrid", "dask_default": "Dask default",
             "dask_best": "Dask best (worker-saturation inf)"}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    for ax, (panel_title, workloads, log) in zip(axes.flat, panels):
        rows = [r for r in ROWS if r.workload in workloads]
        width = 0.8 / len(SYSTEMS)
        for s_idx, system in enumerate(SYSTEMS):
            xs, ys = [], []
            for r_idx, row in enumerate(rows):
                v = metric(results, system, row)
                if v:
                    xs.append(r_idx + (s_idx - 1) * width)
                    ys.append(v)
            bars = ax.bar(xs, ys, width, label=names[system], color=colors[system])
            for rect, v in zip(bars, ys):
                ax.annotate(fmt(v, rows[0].unit), (rect.get_x() + rect.get_width() / 2,
                            rect.get_height()), ha="center", va="bottom", fontsize=7)
        for r_idx, row in enumerate(rows):
            if row.target:
                ax.hlines(row.target, r_idx - 0.45, r_idx + 0.45, colors="red",
                          linestyles="dashed", label="target" if r_idx == 0 else None)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([textwrap.fill(r.label, 24) for r in rows], fontsize=8)
        if log:
            ax.set_yscale("log")
        ax.set_title(panel_title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    # One legend for all panels, under the title, so no panel's bars or
    # target lines hide behind it.
    handles, labels = [], []
    for ax in axes.flat:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    fig.legend(handles, labels, loc="upper center", ncol=len(labels),
               bbox_to_anchor=(0.5, 0.955), fontsize=9, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)
