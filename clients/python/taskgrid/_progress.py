"""progress(): a text progress bar for futures, like distributed.progress."""
import sys
import time

from taskgrid._future import FINISHED
from taskgrid._waiting import futures_of


def progress(*futures, interval=0.1, width=40, file=None, complete=True, **kwargs):
    """Draws done/total (and errors) until every future is done; returns
    the number of futures that did not finish successfully."""
    fs = futures_of(list(futures))
    file = file or sys.stderr
    total = len(fs)
    tty = hasattr(file, "isatty") and file.isatty()
    start = time.monotonic()
    last_line = None
    while True:
        done = sum(f.done() for f in fs)
        erred = sum(f.done() and f.status != FINISHED for f in fs)
        filled = width * done // total if total else width
        line = "[%s%s] %d/%d tasks | %d erred | %.1fs" % (
            "#" * filled, " " * (width - filled), done, total, erred, time.monotonic() - start)
        if tty:
            file.write("\r" + line)
        elif line.split(" |")[0] != last_line:
            file.write(line + "\n")
            last_line = line.split(" |")[0]
        file.flush()
        if done == total:
            if tty:
                file.write("\n")
            return erred
        time.sleep(interval)
