"""The yardstick's bookkeeping, for bench/mnist.sh (standard library only).

  mnist.py record RUN METHOD TASK WALL CPU FLAGS BUDGET THREADS   a run's record (RUN.json), one JSON line
  mnist.py table OUT                                     OUT/runs.jsonl and OUT/table.md from the records
                                                         of OUT/methods.txt's methods
  mnist.py flows OUT TASK                                OUT/flow-TASK-init.csv and OUT/flow-TASK-end.csv:
                                                         ln||dL/dh_tau|| against tau, a column a method

A record's train_s is the seconds of training when the budget stopped the run
(the checkpoint's train.seconds, summed over its segments); cpu_s the CPU
seconds of the training command, its last validation and test included.
"""
import glob
import gzip
import json
import os
import re
import struct
import sys

TASKS = {"smnist": "sequential MNIST", "psmnist": "permuted sequential MNIST", "fsmnist": "sequential Fashion-MNIST"}


def images(folder, part):
    """The number of images of an IDX labels file (part: train or t10k)."""
    for name in (f"{part}-labels-idx1-ubyte", f"{part}-labels-idx1-ubyte.gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                magic, n = struct.unpack(">II", f.read(8))
            return n if magic == 2049 else None
    return None


def lines(path):
    try:
        return [json.loads(l) for l in open(path)]
    except (OSError, ValueError):
        return []


def record(run, name, task, wall, cpu, flags, budget, threads):
    cfg = json.load(open(f"{run}/config.json"))
    rec = {"method": name, "task": task, "budget_s": float(budget), "threads": int(threads), "wall_s": float(wall),
           "cpu_s": float(cpu), "flags": " ".join(flags.split()), "batch": cfg["batch"]}
    m = re.search(r"(\d+) parameters", open(f"{run}.log", errors="replace").read())
    rec["params"] = int(m.group(1)) if m else None
    metrics = lines(f"{run}/metrics.jsonl")
    rec["steps"] = max((r["step"] for r in metrics), default=0)
    stop = [r for r in metrics if "time_limit" in r]
    if stop:  # the seconds of training when the budget stopped it
        rec["train_s"] = stop[-1]["seconds"]
    speed = [r["tokens_per_s"] for r in metrics if "tokens_per_s" in r]
    rec["tokens_per_s"] = sum(speed) / len(speed) if speed else None
    n = images(cfg.get("text_path", ""), "train")
    if n:  # the training part: the validation is held out of it
        held = cfg.get("valid_split") or 0
        rec["train_images"] = n - int(n * held + 0.5) if held else n
        rec["epochs"] = rec["steps"] * cfg["batch"] / rec["train_images"]
    val = [r for r in metrics if "val_accuracy" in r]
    if val:
        rec["val_accuracy_last"] = val[-1]["val_accuracy"]
        rec["val_accuracy_best"] = max(r["val_accuracy"] for r in val)
    try:
        t = json.load(open(f"{run}/test.json"))
        rec["test_accuracy"] = t.get("accuracy")
        rec["test_loss"] = t.get("loss")
        rec["test_scored"] = t.get("scored_steps")
    except (OSError, ValueError):
        pass
    flow = [r for r in lines(f"{run}/flow.jsonl") if r.get("lag_log_grad")]
    if flow:  # ln ||dL/dh_tau|| at tau = 0, the gradient that crosses all 784 steps
        rec["lag_grad_init"] = flow[0]["lag_log_grad"][0]
        rec["lag_grad_end"] = flow[-1]["lag_log_grad"][0]
    for which, key in (("init", "init"), ("model", "end")):
        try:
            ex = json.load(open(f"{run}/lyap-{which}.json"))["exponents"]
            rec[f"lmax_{key}"] = ex[0]
        except (OSError, KeyError, ValueError, IndexError):
            pass
    print(json.dumps(rec))


def num(x, fmt):
    return format(x, fmt) if isinstance(x, (int, float)) else "–"


def table(out):
    order = [l.split("|")[0] for l in open(f"{out}/methods.txt") if "|" in l]
    cols = {l.split("|")[0]: l.rstrip("\n").split("|") for l in open(f"{out}/methods.txt") if "|" in l}
    runs = []
    for path in glob.glob(f"{out}/*.json"):
        try:
            r = json.load(open(path))
        except ValueError:
            continue
        if isinstance(r, dict) and r.get("method") in order and r.get("task") in TASKS:
            runs.append(r)
    runs.sort(key=lambda r: (list(TASKS).index(r["task"]), order.index(r["method"])))
    with open(f"{out}/runs.jsonl", "w") as f:
        for r in runs:
            f.write(json.dumps(r) + "\n")
    rows = []
    for task in TASKS:
        mine = [r for r in runs if r["task"] == task]
        if not mine:
            continue
        rows.append(f"\n**{TASKS[task]}**\n")
        rows.append("| method | params | steps | epochs | training s | CPU s | test accuracy | best validation "
                    "| ln‖∂L/∂h_0‖ init → end | λ_max init → end |")
        rows.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in mine:
            acc = r.get("test_accuracy")
            rows.append(
                f"| {r['method']} | {num(r.get('params'), ',')} | {num(r['steps'], ',')} | {num(r.get('epochs'), '.1f')} "
                f"| {num(r.get('train_s'), '.0f')} | {num(r['cpu_s'], '.0f')} "
                f"| {num(100 * acc if acc is not None else None, '.2f')}% "
                f"| {num(100 * r['val_accuracy_best'] if 'val_accuracy_best' in r else None, '.2f')}% "
                f"| {num(r.get('lag_grad_init'), '.1f')} → {num(r.get('lag_grad_end'), '.1f')} "
                f"| {num(r.get('lmax_init'), '.3f')} → {num(r.get('lmax_end'), '.3f')} |")
    used = [m for m in order if any(r["method"] == m for r in runs)]
    rows.append("")
    rows += [f"- {m}: {cols[m][5]}. Papers: {cols[m][6]}" for m in used]
    text = "\n".join(rows).lstrip("\n") + "\n"
    open(f"{out}/table.md", "w").write(text)
    sys.stdout.write(text)


def flows(out, task):
    """The gradient flow of each method's run of TASK over the 784 steps, at
    initialisation (the first flow record) and at the end (the last), from
    the runs' flow.jsonl: one CSV each, tau then a column a method."""
    order = [l.split("|")[0] for l in open(f"{out}/methods.txt") if "|" in l]
    got = {}
    for m in order:
        recs = [r for r in lines(f"{out}/{m}-{task}/flow.jsonl") if r.get("lag_log_grad")]
        if recs and os.path.exists(f"{out}/{m}-{task}.json"):
            got[m] = (recs[0], recs[-1])
    for which, k in (("init", 0), ("end", 1)):
        with open(f"{out}/flow-{task}-{which}.csv", "w") as f:
            f.write(f"# {TASKS[task]}: ln||dL/dh_tau|| of each run's flow sequence, "
                    f"{'at initialisation' if k == 0 else 'at its last record'}\n")
            f.write("tau," + ",".join(f"{m} (step {got[m][k]['step']})" for m in got) + "\n")
            cols = [got[m][k]["lag_log_grad"] for m in got]
            for tau in range(max((len(c) for c in cols), default=0)):
                vals = [c[tau] if tau < len(c) and isinstance(c[tau], (int, float)) else None for c in cols]
                f.write(f"{tau}," + ",".join("" if v is None else f"{v:.6g}" for v in vals) + "\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"record": record, "table": table, "flows": flows}[cmd](*args)
