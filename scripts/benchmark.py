"""Benchmark the synth: prints figures, asserts nothing (targets are in the README and the closing note).

Run with `make benchmark` (or `pipenv run python scripts/benchmark.py [--repeat N]`). Each figure is the
median wall time of fresh processes, so start-up (Python, jsii's node process) is included:

  plain-import floor   `import cdktf_cdktf_provider_aws.vpc` with the bindings' own root package
  full synth           `python -O main.py` (as `make synth` and cdktf.json run it) for dev, staging, prod
                       (-O skips the bindings' per-call typeguard checks; the tests run without it)
  per extra env        (synth of 10 environments - synth of 1) / 9, in one `python -O` process each
  peak RSS             Python plus the jsii node process, sampled every 20 ms, for the full synth
  CPU seconds          user + system time of the same process tree: on a shared machine whose CPUs are stolen by
                       other guests, wall time swings run to run while CPU time stays put

Targets (foundation issue): full synth <= 0.5 x floor; <= 0.5 s per extra environment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import psutil

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONDONTWRITEBYTECODE": "1"}


class Sample(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds of the process tree: steadier than wall time on a shared (stolen) CPU
    rss: int  # peak bytes of the process tree


def run(argv: list[str], env: dict[str, str] | None = None) -> Sample:
    """Run a command; sample its process tree (Python + jsii's node) every 20 ms."""
    started = time.perf_counter()
    proc = psutil.Popen(argv, cwd=ROOT, env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, cpu_by_pid = 0, {}
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            rss = 0
            for p in tree:
                with p.oneshot():
                    rss += p.memory_info().rss
                    times = p.cpu_times()
                    cpu_by_pid[p.pid] = times.user + times.system
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    _out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err}")
    return Sample(elapsed, sum(cpu_by_pid.values()), peak)


def median_of(repeat: int, argv: list[str], env: dict[str, str] | None = None) -> Sample:
    """Median wall and CPU seconds, highest peak RSS."""
    runs = [run(argv, env) for _ in range(repeat)]
    return Sample(
        statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs), max(r.rss for r in runs)
    )


def child(count: int) -> None:
    """Synthesize `count` environments (dev profile, distinct suffixes and CIDRs) in this process."""
    import dataclasses

    sys.path.insert(0, str(ROOT))
    from config.settings import load_environments
    from main import build_app

    dev = load_environments(["dev"], environ={})[0]
    envs = [
        dataclasses.replace(
            dev, suffix=f"bench{i}", network=dataclasses.replace(dev.network, vpc_cidr=f"10.{50 + i}.0.0/16")
        )
        for i in range(count)
    ]
    with tempfile.TemporaryDirectory() as outdir:
        build_app(envs, outdir, "s3").synth()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    python = sys.executable
    print(
        f"benchmark: median of {args.repeat} fresh processes per figure ({os.cpu_count()} CPUs); "
        "wall and CPU (user+system of Python and node) seconds",
        flush=True,
    )
    line = "  {:<42} {:6.2f} s wall {:6.2f} s CPU   peak RSS {:5.0f} MiB"
    floor = median_of(args.repeat, [python, "-c", "import cdktf_cdktf_provider_aws.vpc"])
    print(line.format("plain-import floor (import ...aws.vpc)", floor.wall, floor.cpu, floor.rss / 2**20), flush=True)
    with tempfile.TemporaryDirectory() as outdir:
        synth = median_of(args.repeat, [python, "-O", "main.py"], {**ENV, "CDKTF_OUTDIR": outdir})
    print(line.format("full synth, 3 environments (main.py)", synth.wall, synth.cpu, synth.rss / 2**20), flush=True)
    print(
        f"  {'ratio full synth / floor':<42} {synth.wall / floor.wall:6.2f}   wall {synth.cpu / floor.cpu:6.2f}   CPU"
        "   (target <= 0.50)",
        flush=True,
    )
    per_count = {}
    for count in (1, 3, 10):
        per_count[count] = median_of(args.repeat, [python, "-O", __file__, "--child", str(count)])
        sample = per_count[count]
        print(
            line.format(
                f"synth of {count:2d} environment(s), one process", sample.wall, sample.cpu, sample.rss / 2**20
            ),
            flush=True,
        )
    marginal = (per_count[10].wall - per_count[1].wall) / 9
    marginal_cpu = (per_count[10].cpu - per_count[1].cpu) / 9
    print(
        f"  {'marginal cost per extra environment':<42} {marginal:6.2f} s wall {marginal_cpu:6.2f} s CPU"
        f"   (target <= 0.50; 1->3: {(per_count[3].wall - per_count[1].wall) / 2:.2f} s wall)",
        flush=True,
    )
    print(
        json.dumps(
            {
                "floor_s": round(floor.wall, 2),
                "floor_cpu_s": round(floor.cpu, 2),
                "full_synth_s": round(synth.wall, 2),
                "full_synth_cpu_s": round(synth.cpu, 2),
                "ratio": round(synth.wall / floor.wall, 3),
                "ratio_cpu": round(synth.cpu / floor.cpu, 3),
                **{f"synth_{n}_s": round(s.wall, 2) for n, s in per_count.items()},
                **{f"synth_{n}_cpu_s": round(s.cpu, 2) for n, s in per_count.items()},
                "marginal_s": round(marginal, 3),
                "marginal_cpu_s": round(marginal_cpu, 3),
                "peak_rss_mib": round(synth.rss / 2**20),
            }
        )
    )


if __name__ == "__main__":
    main()
