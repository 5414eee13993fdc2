#!/usr/bin/env python3
"""Summarizes the `stoa bench` JSON reports of one run-all.sh run: a Markdown table with the
ratios computed within the run, and plot.png (throughput and p99 per workload).

    python3 benchmarks/summarize.py benchmarks/out     (matplotlib needed for the plot)

Report files are named LABEL-WORKLOAD-cCLIENTS.json, LABEL one of pocketbase (quotes indexed on
(userId, created)), pbscan (PocketBase, quotes without indexes), stoa, baseline (an older Stoa
build), sqlite (raw SQLite through GRDB), cluster (three nodes behind the gateway).
"""
import json
import pathlib
import re
import sys

LABELS = ["pocketbase", "pbscan", "stoa", "baseline", "cluster", "sqlite"]
NAMES = {"pocketbase": "PocketBase", "pbscan": "PocketBase, no index", "stoa": "Stoa node", "baseline": "Stoa before", "cluster": "3 nodes + gateway",
         "sqlite": "raw SQLite"}
WORKLOAD_ORDER = ["create", "get", "list", "list-nototal", "mixed"]


def load(out):
    reports = {}
    for path in sorted(out.glob("*.json")):
        match = re.fullmatch(r"(\w+)-(.+)-c(\d+)", path.stem)
        if not match:
            continue
        label, workload, clients = match.group(1), match.group(2), int(match.group(3))
        reports[(label, workload, clients)] = json.loads(path.read_text())
    return reports


def cell(report):
    if report is None:
        return "–"
    text = f"{report['throughput']:,.0f} ({report['latencyMicros']['p99'] / 1000:.2f} ms)"
    if report["errors"]:
        text += f" **{report['errors']} errors**"
    return text


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/out")
    reports = load(out)
    labels = [label for label in LABELS if any(key[0] == label for key in reports)]
    keys = sorted({(w, c) for (_, w, c) in reports},
                  key=lambda k: (WORKLOAD_ORDER.index(k[0]) if k[0] in WORKLOAD_ORDER else 99, k[1]))

    machine = out / "machine.txt"
    if machine.exists():
        print("```\n" + machine.read_text().strip() + "\n```\n")
    print("Throughput in successful requests/s (p99 latency). Ratios are Stoa / PocketBase from this run.\n")
    header = ["workload", "clients"] + [NAMES[l] for l in labels]
    if "pocketbase" in labels and "stoa" in labels:
        header.append("Stoa / PocketBase")
    if "pbscan" in labels and "stoa" in labels:
        header.append("Stoa / PocketBase no index")
    if "baseline" in labels:
        header.append("Stoa now / before")
    if "pocketbase" in labels and "cluster" in labels:
        header.append("cluster / PocketBase")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for workload, clients in keys:
        row = [workload, str(clients)] + [cell(reports.get((l, workload, clients))) for l in labels]

        def ratio(a, b):
            x, y = reports.get((a, workload, clients)), reports.get((b, workload, clients))
            return f"{x['throughput'] / y['throughput']:.2f}x" if x and y and y["throughput"] else "–"

        if "pocketbase" in labels and "stoa" in labels:
            row.append(ratio("stoa", "pocketbase"))
        if "pbscan" in labels and "stoa" in labels:
            row.append(ratio("stoa", "pbscan"))
        if "baseline" in labels:
            row.append(ratio("stoa", "baseline"))
        if "pocketbase" in labels and "cluster" in labels:
            row.append(ratio("cluster", "pocketbase"))
        print("| " + " | ".join(row) + " |")

    servers = [l for l in labels if l != "sqlite"]
    print("\nServer CPU per request (µs, user+system, from /proc/PID/stat) and peak RSS (VmHWM) at the end of each run.\n")
    header = ["workload", "clients"] + [f"{NAMES[l]} CPU µs/req" for l in servers]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for workload, clients in keys:
        row = [workload, str(clients)]
        for label in servers:
            report = reports.get((label, workload, clients))
            server = report.get("server") if report else None
            row.append(f"{server['cpuMicrosPerRequest']:.0f}" if server else "–")
        print("| " + " | ".join(row) + " |")
    print()
    for label in servers:
        peaks = [r["server"]["peakRSSBytes"] for (l, _, _), r in reports.items() if l == label and r.get("server")]
        if peaks:
            print(f"- peak RSS of {NAMES[label]} over the whole run: {max(peaks) / 1048576:.1f} MiB")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no plot)")
        return
    names = [f"{w}\n{c} cl." for w, c in keys]
    figure, axes = plt.subplots(2, 1, figsize=(max(8, 1.3 * len(keys) * len(labels) / 2), 8))
    width = 0.8 / max(1, len(labels))
    for index, label in enumerate(labels):
        xs = [i + (index - (len(labels) - 1) / 2) * width for i in range(len(keys))]
        rps = [reports.get((label, w, c), {}).get("throughput", 0) for w, c in keys]
        p99 = [reports.get((label, w, c), {}).get("latencyMicros", {}).get("p99", 0) / 1000 for w, c in keys]
        axes[0].bar(xs, rps, width, label=NAMES[label])
        axes[1].bar(xs, p99, width, label=NAMES[label])
    axes[0].set_ylabel("requests/s")
    axes[0].set_yscale("log")
    axes[0].set_title("Throughput per workload (log scale, higher is better)")
    axes[1].set_ylabel("p99 latency (ms)")
    axes[1].set_yscale("log")
    axes[1].set_title("p99 latency per workload (log scale, lower is better)")
    for axis in axes:
        axis.set_xticks(range(len(keys)))
        axis.set_xticklabels(names)
        axis.legend(fontsize="small")
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(out / "plot.png", dpi=110)
    print(f"\nplot: {out / 'plot.png'}")


if __name__ == "__main__":
    main()
