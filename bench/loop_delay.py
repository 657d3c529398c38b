"""The taskgrid scheduler's event-loop delay over one workload, from its
Prometheus histogram taskgrid_scheduler_event_loop_delay_seconds (how long
each batch of events waited for the loop): scraped before and after, the
difference is the workload's own distribution.

The histogram has decade buckets (10 us ... 10 s), so a quantile is reported
as the upper bound of the bucket it falls in ("p99 <= 10 ms").
"""

import math
import re
import urllib.request

METRIC = "taskgrid_scheduler_event_loop_delay_seconds_bucket"
_LINE = re.compile(METRIC + r'\{le="([^"]+)"\}\s+(\S+)')


def parse_buckets(text):
    """{upper bound in seconds (inf for +Inf): cumulative count}."""
    buckets = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            le = math.inf if m.group(1) == "+Inf" else float(m.group(1))
            buckets[le] = float(m.group(2))
    return buckets


def scrape(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return parse_buckets(r.read().decode())


def summarize(before, after):
    """p50/p99/max bucket bounds in ms of the batches between two scrapes;
    None when nothing was observed."""
    delta = sorted((le, after.get(le, 0) - before.get(le, 0)) for le in after)
    total = delta[-1][1] if delta else 0
    if total <= 0:
        return None

    def bound(q):
        for le, cumulative in delta:
            if cumulative >= q * total:
                return le * 1000
        return math.inf

    previous, top = 0, None
    for le, cumulative in delta:
        if cumulative > previous:
            top = le
        previous = cumulative
    return {"loop_batches": total, "loop_delay_p50_ms": bound(0.5),
            "loop_delay_p99_ms": bound(0.99), "loop_delay_max_ms": top * 1000}
