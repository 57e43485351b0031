"""Recall-QPS chart of one ann_bench run: log QPS against recall@10, vecstore and every peer.

    /tmp/annbench/venv/bin/python examples/ann_plot.py RUN.json OUT.png

RUN.json is what `cargo run --release --example ann_bench -- DATA.json --peers --json RUN.json`
writes (`--plot OUT.png` runs this script itself). Only matplotlib is needed.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def qps_at(rows, target=0.95):
    """QPS at recall `target`, log-linear between the bracketing ef points (as ann_bench)."""
    import math

    pts = sorted((r["recall"], r["qps"]) for r in rows)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            t = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    return None


def table(run):
    """The run as a markdown table (printed for the README)."""
    efs = [r["ef"] for r in run["series"][0]["rows"]]
    peers = [qps_at(s["rows"]) for s in run["series"] if not s["ours"]]
    best = max((p for p in peers if p), default=None)
    head = "| index | build s (1 thr) | " + " | ".join(f"ef={e} R@10 / QPS" for e in efs)
    head += " | QPS at R@10 0.95 | vs best peer |"
    lines = [head, "|" + "---|" * (len(efs) + 4)]
    for s in run["series"]:
        q = qps_at(s["rows"])
        cells = " | ".join(f"{r['recall']:.4f} / {r['qps']:.0f}" for r in s["rows"])
        ratio = f"{q / best:.2f}x" if (q and best and s["ours"]) else ""
        lines.append(f"| {s['label']} | {s['build_s']:.1f} | {cells} | {q:.0f} | {ratio} |" if q else
                     f"| {s['label']} | {s['build_s']:.1f} | {cells} | - | |")
    return "\n".join(lines)


def main(src, out):
    with open(src) as f:
        run = json.load(f)
    fig, ax = plt.subplots(figsize=(7, 4.6), dpi=110)
    for s in run["series"]:
        rows = sorted(s["rows"], key=lambda r: r["recall"])
        xs = [r["recall"] for r in rows]
        ys = [r["qps"] for r in rows]
        style = dict(marker="o", linewidth=2.2) if s["ours"] else dict(marker="s", linewidth=1.2, linestyle="--")
        ax.plot(xs, ys, label=s["label"], **style)
        for r in rows:
            if s["ours"]:
                ax.annotate(f"ef={r['ef']}", (r["recall"], r["qps"]), fontsize=6, alpha=0.6,
                            xytext=(3, 3), textcoords="offset points")
    ax.axvline(0.95, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (1 thread, log scale)")
    ax.set_title(
        f"{run['dataset']}: n={run['n']} dim={run['dim']}, M={run['m']} efC={run['efc']}, k={run['k']}",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")
    print(table(run))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: ann_plot.py RUN.json OUT.png")
    main(sys.argv[1], sys.argv[2])
