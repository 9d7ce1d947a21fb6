"""One Python measurement for bench/ProcessBatch.ps1: concurrent.futures.ProcessPoolExecutor.

Not a benchmark on its own (the leading '_' keeps build.ps1 Bench from running it). The time is
taken with time.perf_counter() around the pool (its creation, the map and its shutdown: the
'with' block; with --workers 0, around the plain map); the parent also times the whole interpreter from outside. Prints one line
'##RESULT## {json}'.

Modes:
  primes    the seed's four numbers, trial division as in the seed article (pool.map)
  trivial   the identity function on 1..N (pool.map, chunksize as given; Python's default is 1)
  isprime   the same trial division on 1..N (small numbers: the channel's cost)
  first     N identity tasks submitted one by one; the time to the first completed result
  cpu       N items of a pure-Python loop of --iterations (the PowerShell CPU script's loop,
            s += i * i % 7), pool.map with chunksize 1; --workers 0 runs the same map in this
            process, sequentially, without a pool (timed the same way)
  calibrate the iterations of that loop that take --seconds of CPU time in this interpreter
            (process_time, median of 3, as the PowerShell side calibrates its loop), so that a
            Python item costs what a PowerShell item costs sequentially
"""
import argparse
import contextlib
import functools
import json
import math
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

SEED_PRIMES = [10_000_019, 10_000_079, 10_000_103, 10_000_129]


# The seed article's is_prime, unchanged.
def is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    r = int(math.sqrt(n))
    f = 3
    while f <= r:
        if n % f == 0:
            return False
        f += 2
    return True


def identity(x):
    return x


# The PowerShell CPU script's loop ('$s = 0; for ($i = 0; $i -lt N; $i++) { $s += $i * $i % 7 }; $s').
def cpu_loop(iterations):
    s = 0
    for i in range(iterations):
        s += i * i % 7
    return s


def cpu_item(iterations, _item):
    return cpu_loop(iterations)


def calibrate(target_seconds):
    k = 200_000
    per_iteration = 0.0
    for _ in range(6):
        cpu_loop(k)
        times = []
        for _ in range(3):
            t0 = time.process_time()
            cpu_loop(k)
            times.append(time.process_time() - t0)
        t = sorted(times)[1]
        per_iteration = t / k
        if abs(t - target_seconds) / target_seconds < 0.08:
            break
        k = int(max(1000, target_seconds / per_iteration))
    return {"Ok": True, "Iterations": k, "SecondsPerItem": per_iteration * k, "TargetSeconds": target_seconds,
            "Version": "%d.%d.%d" % sys.version_info[:3]}


def cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", required=True, choices=["primes", "trivial", "isprime", "first", "cpu", "calibrate"])
    parser.add_argument("--items", type=int, default=0)
    parser.add_argument("--chunksize", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()

    if args.mode == "calibrate":
        print("##RESULT## " + json.dumps(calibrate(args.seconds)), flush=True)
        return

    if args.mode == "primes":
        items, fn = SEED_PRIMES, is_prime
    elif args.mode == "isprime":
        items, fn = range(1, args.items + 1), is_prime
    elif args.mode == "cpu":
        if args.iterations <= 0:
            parser.error("--mode cpu needs --iterations")
        items, fn = range(1, args.items + 1), functools.partial(cpu_item, args.iterations)
    else:
        items, fn = range(1, args.items + 1), identity

    first = None
    outputs = 0
    trues = 0
    total = 0
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    # --workers 0: the same map in this process, no pool (a nullcontext in place of the pool).
    with (ProcessPoolExecutor(max_workers=args.workers) if args.workers > 0 else contextlib.nullcontext()) as pool:
        if pool is None:
            results = map(fn, items)
        elif args.mode == "first":
            futures = [pool.submit(identity, x) for x in items]
            results = as_completed(futures)
            results = (f.result() for f in results)
        else:
            results = pool.map(fn, items, chunksize=args.chunksize)
        last = None
        for r in results:
            last = time.perf_counter() - start
            if first is None:
                first = last
            outputs += 1
            if r is True:
                trues += 1
            elif isinstance(r, int) and not isinstance(r, bool):
                total += r
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu0

    check = trues if args.mode in ("primes", "isprime") else total
    result = {
        "Ok": True, "Seconds": elapsed, "FirstSeconds": first, "LastSeconds": last, "Items": len(items), "Outputs": outputs,
        "Check": check, "CpuSeconds": cpu, "Errors": 0, "ThrottleLimit": args.workers if args.workers > 0 else 1,
        "Version": "%d.%d.%d" % sys.version_info[:3],
    }
    print("##RESULT## " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
