"""The long-lag table's bookkeeping, for bench/longlag.sh (standard library only).

  longlag.py record RUN METHOD TASK T CAP WALL CPU FLAGS   a rung's record (RUN.json), one JSON line
  longlag.py same RECORD FLAGS CAP                   exit 0 when the record was made with FLAGS and CAP
  longlag.py collect OUT                             OUT/runs.jsonl from the records of OUT/methods.txt's
                                                     methods, in its order
  longlag.py table OUT                               OUT/table.md and OUT/table.csv
  longlag.py reflow OUT                              runs.jsonl's gradient flow again,
                                                     from each run's flow-*.safetensors
  longlag.py timed LOG RUN CMD...                    run CMD (its output to LOG), print "WALL CPU RC":
                                                     the run's wall and CPU seconds over all its
                                                     segments (RUN.times)
"""
import json
import math
import os
import struct
import subprocess
import sys
import time


def st_tensor(path, name):
    """One tensor of a safetensors file as a list of floats (F64 or F32), or None."""
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            head = json.loads(f.read(n))
            t = head.get(name)
            if not t:
                return None
            a, b = t["data_offsets"]
            f.seek(8 + n + a)
            raw = f.read(b - a)
    except (OSError, ValueError, KeyError):
        return None
    code = {"F64": "d", "F32": "f"}.get(t["dtype"])
    if not code:
        return None
    return list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(code), code), raw))


def lag_grads(run):
    """ln ||dL/dh_0|| (the gradient across all T steps) of the initial and the
    final model on the run's flow sequence (rnnlab jacobian's log_grad_bptt)."""
    out = {}
    for which, key in (("init", "lag_grad_init"), ("model", "lag_grad_end")):
        g = st_tensor(f"{run}/flow-{which}.safetensors", "log_grad_bptt")
        if g:
            out[key] = g[0] if math.isfinite(g[0]) else None
    return out


def record(run, name, task, T, cap, wall, cpu, flags):
    rec = {"method": name, "task": task, "T": int(T), "cap": int(cap), "wall_s": float(wall), "cpu_s": float(cpu),
           "flags": " ".join(flags.split())}
    solved, last = None, None
    try:
        for line in open(f"{run}/metrics.jsonl"):
            r = json.loads(line)
            if r.get("solved"):
                solved = r
            if "val_loss" in r:
                last = r
    except OSError:
        pass
    try:  # a run resumed after a stop ran in more than one segment
        seg = json.load(open(f"{run}.times")).get("segments", 1)
        if seg > 1:
            rec["segments"] = seg
    except (OSError, ValueError):
        pass
    rec["solved"] = solved is not None
    rec["steps"] = solved["step"] if solved else (last["step"] if last else None)
    if last:
        rec["final"] = {k: last[k] for k in ("val_loss", "val_mse", "val_accuracy", "baseline") if k in last}
    rec.update(lag_grads(run))
    for which in ("init", "model"):
        try:
            ex = json.load(open(f"{run}/lyap-{which}.json"))["exponents"]
            key = "init" if which == "init" else "end"
            rec[f"lmax_{key}"] = ex[0]
            # an exponent of -inf (a unit that is always off) is null in the JSON
            rec[f"near0_{key}"] = sum(e is not None and abs(e) < 0.01 for e in ex) / len(ex)
        except (OSError, KeyError, ValueError):
            pass
    print(json.dumps(rec))


def same(rec, flags, cap):
    try:
        r = json.load(open(rec))
    except (OSError, ValueError):
        sys.exit(1)
    sys.exit(0 if r.get("flags") == " ".join(flags.split()) and r.get("cap") == int(cap) else 1)


def collect(out):
    """runs.jsonl: the records of the methods of methods.txt, in its order and
    then by task and T (a rung above a failure, left from an earlier run, is
    not part of the ladder and left out)."""
    import glob
    order = [l.split("|")[0] for l in open(f"{out}/methods.txt") if "|" in l]
    runs = []
    for path in glob.glob(f"{out}/*.json"):
        try:
            r = json.load(open(path))
        except ValueError:
            continue
        if isinstance(r, dict) and r.get("method") in order:
            runs.append(r)
    runs.sort(key=lambda r: (order.index(r["method"]), r["task"], r["T"]))
    kept, failed = [], set()
    for r in runs:
        if (r["method"], r["task"]) in failed:
            continue
        kept.append(r)
        if not r["solved"]:
            failed.add((r["method"], r["task"]))
    with open(f"{out}/runs.jsonl", "w") as f:
        for r in kept:
            f.write(json.dumps(r) + "\n")


def table(out):
    info = json.load(open(f"{out}/run.json"))
    runs = [json.loads(line) for line in open(f"{out}/runs.jsonl")]
    notes = {l.split("|")[0]: l.strip().split("|")[-1] for l in open(f"{out}/methods.txt") if "|" in l}
    order = list(dict.fromkeys(l.split("|")[0] for l in open(f"{out}/methods.txt") if "|" in l))
    runs.sort(key=lambda r: (order.index(r["method"]) if r["method"] in order else 99, r["task"], r["T"]))

    def f(x, d=2):
        return "" if x is None else f"{x:.{d}f}"

    md = [f"Long-lag table: {len(runs)} runs, {sum(r['cpu_s'] for r in runs):.0f} CPU s and "
          f"{sum(r['wall_s'] for r in runs):.0f} wall s of training in all on this machine "
          f"(in {info['streams']} parallel streams of one thread).", "",
          "| method | task | T | solved | steps (cap) | CPU s | final metric | ln‖∂L/∂h_0‖ init → end "
          "| λ_max init → end | near-0 share init → end |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    with open(f"{out}/table.csv", "w") as c:
        c.write("method,task,T,solved,steps,cap,wall_s,cpu_s,final_loss,final_mse,final_accuracy,lag_grad_init,"
                "lag_grad_end,lmax_init,lmax_end,near0_init,near0_end\n")
        for r in runs:
            fin = r.get("final", {})
            metric = (f"MSE {fin['val_mse']:.4f}" if "val_mse" in fin else
                      f"acc {fin['val_accuracy']:.3f}" if "val_accuracy" in fin else "")
            md.append(f"| {r['method']} | {r['task']} | {r['T']} | {'yes' if r['solved'] else 'no'} | "
                      f"{r['steps']} ({r['cap']}) | {r['cpu_s']:.0f} | {metric} | "
                      f"{f(r.get('lag_grad_init'))} → {f(r.get('lag_grad_end'))} | "
                      f"{f(r.get('lmax_init'), 3)} → {f(r.get('lmax_end'), 3)} | "
                      f"{f(r.get('near0_init'))} → {f(r.get('near0_end'))} |")
            c.write(",".join(str(v) for v in [
                r["method"], r["task"], r["T"], int(r["solved"]), r["steps"], r["cap"], round(r["wall_s"], 1),
                round(r["cpu_s"], 1), fin.get("val_loss", ""), fin.get("val_mse", ""), fin.get("val_accuracy", ""),
                r.get("lag_grad_init", ""), r.get("lag_grad_end", ""), r.get("lmax_init", ""), r.get("lmax_end", ""),
                r.get("near0_init", ""), r.get("near0_end", "")]) + "\n")
    md += ["", "Methods:", ""] + [f"- {m}: {notes.get(m, '')}" for m in order]
    open(f"{out}/table.md", "w").write("\n".join(md) + "\n")
    print("\n".join(md))


def reflow(out):
    runs = [json.loads(line) for line in open(f"{out}/runs.jsonl")]
    with open(f"{out}/runs.jsonl", "w") as f:
        for r in runs:
            r.pop("lag_grad_init", None), r.pop("lag_grad_end", None), r.pop("lag_curve_init", None)
            r.update(lag_grads(f"{out}/{r['method']}-{r['task']}-{r['T']}"))
            f.write(json.dumps(r) + "\n")


def timed(log, run, *cmd):
    """Run CMD, a training run that writes RUN/checkpoint.safetensors, and
    print its wall and CPU seconds and exit status. A run stopped part-way
    (the session that held it ended) is resumed from its checkpoint by the
    next ladder; RUN.times holds the seconds it had taken up to its last
    checkpoint, which a resumed segment adds to: the steps redone after that
    checkpoint are not counted twice. CPU time is the child's user and system
    time, read from /proc while it runs (other programs are not counted)."""
    path = f"{run}.times"
    try:
        base = json.load(open(path))
    except (OSError, ValueError):
        base = {"wall": 0.0, "cpu": 0.0, "segments": 0}
    base["segments"] = base.get("segments", 0) + 1
    tick = os.sysconf("SC_CLK_TCK")
    w0 = time.time()
    child = subprocess.Popen(cmd, stdout=open(log, "a"), stderr=subprocess.STDOUT)

    def cpu_now(c):
        try:
            f = open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / tick
        except (OSError, IndexError, ValueError):
            return c

    cpu, ckpt = 0.0, None
    while child.poll() is None:
        time.sleep(2)
        cpu = cpu_now(cpu)
        try:
            m = os.stat(f"{run}/checkpoint.safetensors").st_mtime
        except OSError:
            continue
        if m != ckpt:
            ckpt = m
            now = {"wall": base["wall"] + time.time() - w0, "cpu": base["cpu"] + cpu, "segments": base["segments"]}
            with open(path + ".tmp", "w") as f:
                json.dump(now, f)
            os.replace(path + ".tmp", path)
    wall = time.time() - w0
    import resource
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(base["wall"] + wall, base["cpu"] + u.ru_utime + u.ru_stime, child.returncode)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"record": record, "same": same, "collect": collect, "table": table, "reflow": reflow,
     "timed": timed}[cmd](*args)
