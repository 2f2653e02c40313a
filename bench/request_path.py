"""The request path against Flask's own floor: the mixed add workload on the service and on a bare
Flask route (bench/bare_app.py), under identical gunicorn settings, in one run. Prints Markdown.

    .venv/bin/python bench/request_path.py [--clients 16] [--requests 150] [--rounds 2] [--store sqlite]
                                           [--flame DIR]

Both run `gunicorn -c gunicorn.conf.py` (the service's worker class, 2 workers unless
GUNICORN_WORKERS says otherwise, GUNICORN_THREADS threads each). `--clients` threads in this
process, each on its own draft with a keep-alive session, send `--requests` adds after 10 warm-up
adds, rotating /add_text, /add_video, /add_audio, /add_image and /add_effect (bench/scale.py's
workload; nothing is fetched). The bare route parses the same bodies and answers the envelope.
Runs alternate bare, service, bare, service … (`--rounds` each) so drift on this shared machine
hits both alike; the table gives each run, the ratio of the medians and the median of the rounds'
ratios, and the CPU time the workers spent per request (/proc), the part of the cost the service
controls: the client threads share the 2 cores and set the bare route's ceiling. Targets (issue 18):
service req/s >= 90 % of the bare route's, service p99 <= bare p99 + 10 ms.

`--without PARTS` (repeatable): one more service variant in each round, with PARTS switched off
(bench/ablated_app.py: `route`, `append`, or both as `route,append`); its throughput shows what the
parts cost. The last lines apply the CPU model the runs fit: on C cores, req/s = C / (k + w), where
w is the workers' CPU per request and k the client's and kernel's (k from the bare runs), which
gives the worker CPU per request that 90 % of the bare route's throughput leaves the service.

`--flame DIR`: one more service run, not counted, during which py-spy records every worker and
writes one flame graph per worker to DIR/request_path-<pid>.svg (py-spy from requirements-dev.txt;
needs ptrace).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from scale import Drafts, _children, gunicorn, ms, run_load  # noqa: E402  (bench/ helpers)

SERVICE, BARE, ABLATED = "app:create_app()", "bare_app:create_app()", "ablated_app:create_app()"


def _stat(pid: int) -> list[int]:
    with open(f"/proc/{pid}/stat") as f:
        return [int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15]]    # utime stime cutime cstime


def worker_cpu_seconds(master: int) -> float:
    """User + system CPU time gunicorn's workers used so far: the running ones' and, through the
    master's children totals, that of workers which exited (`--max-requests` in GUNICORN_CMD_ARGS)."""
    ticks = sum(_stat(master)[2:]) + sum(sum(_stat(pid)[:2]) for pid in _children(master))
    return ticks / os.sysconf("SC_CLK_TCK")


def one_run(app: str, args: argparse.Namespace, flame: Path | None, without: str = "") -> dict:
    master: list[int] = []
    os.environ["CAPCUT_BENCH_WITHOUT"] = without        # read by bench/ablated_app.py only
    with gunicorn(args.workers, args.store, args.redis_url, app=app, master=master) as base:
        recorders = [start_flame(pid, flame) for pid in _children(master[0])] if flame else []
        before, workers = worker_cpu_seconds(master[0]), set(_children(master[0]))
        result = run_load(base, Drafts(), args.clients, args.requests, shared=False)
        result["restarts"] = len(workers - set(_children(master[0])))
        sent = args.clients * (args.requests + 10) + 1       # timed adds, warm-up adds, /create_draft
        result["cpu_ms"] = (worker_cpu_seconds(master[0]) - before) / sent * 1000
    for recorder in recorders:          # py-spy writes its graph when the worker it records exits
        recorder.wait(timeout=120)
    if result["errors"]:
        raise RuntimeError(f"{len(result['errors'])} failed requests, e.g. {result['errors'][0]}")
    return result


def start_flame(pid: int, folder: Path) -> subprocess.Popen:
    """py-spy recording worker `pid` until it is stopped (it stops when the run's gunicorn exits)."""
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", "250",
                             "--output", str(folder / f"request_path-{pid}.svg"), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=150, help="timed adds per client")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--redis-url", default=os.environ.get("CAPCUT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--flame", type=Path, help="folder for py-spy flame graphs of an extra service run")
    parser.add_argument("--without", action="append", default=[],
                        help="a service variant with these parts off (bench/ablated_app.py), e.g. route or append")
    args = parser.parse_args()
    args.workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
    print(f"{os.cpu_count()} cores shared by gunicorn ({args.workers} workers x "
          f"{os.environ.get('GUNICORN_THREADS', 4)} threads, store {args.store}) and {args.clients} client threads; "
          f"{args.requests} timed adds per client; load average {os.getloadavg()[0]:.2f}")
    runs: dict[str, list[dict]] = {"bare": [], "service": [], **{f"without {parts}": [] for parts in args.without}}
    for _ in range(args.rounds):
        runs["bare"].append(one_run(BARE, args, None))
        runs["service"].append(one_run(SERVICE, args, None))
        for parts in args.without:
            runs[f"without {parts}"].append(one_run(ABLATED, args, None, without=parts))
    if args.flame:                  # an extra run: sampling slows the workers, so it is not counted
        one_run(SERVICE, args, args.flame)
    print("\n| run | req/s | p50 ms | p99 ms | worker CPU ms per request | workers restarted |\n"
          "|---|---:|---:|---:|---:|---:|")
    for label, results in runs.items():
        for n, r in enumerate(results, 1):
            print(f"| {label} {n} | {r['rps']:.0f} | {ms(r['p50'])} | {ms(r['p99'])} | {r['cpu_ms']:.3f} "
                  f"| {r['restarts']} |")
    bare, service = (statistics.median(r["rps"] for r in runs[k]) for k in ("bare", "service"))
    p99 = {k: statistics.median(r["p99"] for r in runs[k]) for k in runs}
    cpu = {k: statistics.median(r["cpu_ms"] for r in runs[k]) for k in runs}
    paired = statistics.median(s["rps"] / b["rps"] for b, s in zip(runs["bare"], runs["service"], strict=True))
    print(f"\nservice / bare throughput: {service / bare:.0%} (medians {service:.0f} / {bare:.0f} req/s; "
          f"median of the rounds' ratios {paired:.0%}); p99 {ms(p99['service'])} ms vs bare {ms(p99['bare'])} ms "
          f"(+{ms(p99['service'] - p99['bare'])} ms); worker CPU per request {cpu['service']:.3f} ms vs bare "
          f"{cpu['bare']:.3f} ms")
    print(cpu_model(runs, os.cpu_count() or 1))


def cpu_model(runs: dict[str, list[dict]], cores: int) -> str:
    """Each variant's throughput beside the CPU model's prediction, and the service's CPU budget."""
    median = {k: {key: statistics.median(r[key] for r in rs) for key in ("rps", "cpu_ms")} for k, rs in runs.items()}
    client_ms = cores * 1000 / median["bare"]["rps"] - median["bare"]["cpu_ms"]
    lines = [f"\nCPU model on {cores} cores: client and kernel {client_ms:.3f} ms per request (from the bare runs)"]
    for label, m in median.items():
        predicted = cores * 1000 / (client_ms + m["cpu_ms"])
        lines.append(f"- {label}: {m['rps'] / median['bare']['rps']:.0%} of bare, {m['rps']:.0f} req/s "
                     f"(model {predicted:.0f}), worker CPU {m['cpu_ms']:.3f} ms per request")
    budget = cores * 1000 / (0.9 * median["bare"]["rps"]) - client_ms
    lines.append(f"90 % of the bare route leaves the workers {budget:.3f} ms of CPU per request; the service "
                 f"used {median['service']['cpu_ms']:.3f} ms")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
