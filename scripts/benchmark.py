"""Benchmark the synth: prints figures, asserts nothing (targets are in the README and the closing note).

Run with `make benchmark` (or `pipenv run python scripts/benchmark.py [--repeat N]`). Each figure is the
median wall time of fresh processes, so start-up (Python, jsii's node process) is included:

  plain-import floor   `import cdktf_cdktf_provider_aws.vpc` with the bindings' own root package
  full synth           `python -O main.py` (as `make synth` and cdktf.json run it) for dev, staging, prod
                       (-O skips the bindings' per-call typeguard checks; the tests run without it)
  per extra env        (synth of 10 environments - synth of 1) / 9, in one `python -O` process each
  peak RSS             Python plus the jsii node process, sampled every 20 ms, for the full synth

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

import psutil

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONDONTWRITEBYTECODE": "1"}


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS bytes of the process tree (Python + node), stdout."""
    started = time.perf_counter()
    proc = psutil.Popen(argv, cwd=ROOT, env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err}")
    return elapsed, peak, out


def median_of(repeat: int, argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    runs = [run(argv, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def child(count: int) -> None:
    """Synthesize `count` environments (dev profile, distinct suffixes and CIDRs) in this process."""
    import dataclasses

    sys.path.insert(0, str(ROOT))
    from config.settings import load_environments
    from main import build_app

    dev = load_environments(["dev"], environ={})[0]
    envs = [dataclasses.replace(dev, suffix=f"bench{i}", network=dataclasses.replace(dev.network, vpc_cidr=f"10.{50 + i}.0.0/16"))
            for i in range(count)]
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
    print(f"benchmark: median of {args.repeat} fresh processes per figure ({os.cpu_count()} CPUs)", flush=True)
    floor, floor_rss = median_of(args.repeat, [python, "-c", "import cdktf_cdktf_provider_aws.vpc"])
    print(f"  plain-import floor (import ...aws.vpc)    {floor:6.2f} s   peak RSS {floor_rss / 2**20:6.0f} MiB", flush=True)
    with tempfile.TemporaryDirectory() as outdir:
        synth, synth_rss = median_of(args.repeat, [python, "-O", "main.py"], {**ENV, "CDKTF_OUTDIR": outdir})
    print(f"  full synth, 3 environments (main.py)      {synth:6.2f} s   peak RSS {synth_rss / 2**20:6.0f} MiB", flush=True)
    print(f"  ratio full synth / floor                  {synth / floor:6.2f}     (target <= 0.50)", flush=True)
    per_count = {}
    for count in (1, 3, 10):
        per_count[count], rss = median_of(args.repeat, [python, "-O", __file__, "--child", str(count)])
        print(f"  synth of {count:2d} environment(s), one process   {per_count[count]:6.2f} s   peak RSS {rss / 2**20:6.0f} MiB", flush=True)
    marginal = (per_count[10] - per_count[1]) / 9
    print(f"  marginal cost per extra environment       {marginal:6.2f} s   (target <= 0.50; 1->3: "
          f"{(per_count[3] - per_count[1]) / 2:.2f} s)", flush=True)
    print(json.dumps({"floor_s": round(floor, 2), "full_synth_s": round(synth, 2), "ratio": round(synth / floor, 3),
                      "synth_1_s": round(per_count[1], 2), "synth_3_s": round(per_count[3], 2), "synth_10_s": round(per_count[10], 2),
                      "marginal_s": round(marginal, 3), "peak_rss_mib": round(synth_rss / 2**20)}))


if __name__ == "__main__":
    main()
