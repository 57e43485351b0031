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


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: ann_plot.py RUN.json OUT.png")
    main(sys.argv[1], sys.argv[2])
