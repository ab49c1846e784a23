"""Waiting out PyTorch's OpenMP threads after a timed call, before the peer replies (peer.py).

libgomp's threads, with OMP_WAIT_POLICY unset, spin for a while after a parallel region before
they sleep (GOMP_SPINCOUNT). Measured on the 2-vCPU AMD VM with torch 2.13: 50 seed-model calls of a
2-thread peer, 174 ms of calls in all, cost the process 630 ms of CPU, against 110 ms for 90 ms of
calls at 1 thread. On a 2-vCPU machine the benchmark's next contender would run beside that spin: a
2-thread pool call right after a 2-thread PyTorch call took 2.25 ms (median of 200), after a 1-thread
one 1.63 ms. So the peer times its call, then waits here until its other threads are idle, then
replies: PyTorch's own figure is unchanged, and the spin no longer lands on whoever is timed next.

No torch here, so the tests can run it on a machine without torch.
"""
import os
import threading
import time


def other_threads_running():
    """How many of this process's threads other than the calling one are running or runnable (state
    R in /proc/self/task/<tid>/stat), or None where the system has no such files. The state, not the
    CPU time in schedstat: a running thread's CPU time is only brought up to date at the scheduler's
    ticks, so a spinning thread can look idle for milliseconds."""
    me = threading.get_native_id()
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    running = 0
    for tid in tids:
        if int(tid) == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]  # after "pid (comm)", which may hold spaces
        except (OSError, IndexError):
            continue  # the thread exited between the listing and the read
        running += state == "R"
    return running


def settle(read=other_threads_running, clock=time.perf_counter, sleep=time.sleep, window=0.0002, quiet=3, limit=0.05):
    """Waits until no other thread was running at `quiet` consecutive checks `window` s apart, or
    `limit` s have passed. Returns (ms waited, settled): settled is True once they were idle, False
    at the limit, None where `read` can't tell (no wait).
    """
    t0 = clock()
    if read() is None:
        return 0.0, None
    calm = 0
    while calm < quiet:
        if clock() - t0 >= limit:
            return (clock() - t0) * 1000, False
        sleep(window)
        running = read()
        if running is None:
            return (clock() - t0) * 1000, None
        calm = calm + 1 if running == 0 else 0
    return (clock() - t0) * 1000, True
