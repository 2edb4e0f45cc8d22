"""rnnlab.train: the library's trainer (rnnlab train) with its options taken
from the library's option table (rl_option_at: the rows rnnlab train takes),
so that every field the library has is an option here, by its key in
config.json, with the range and the message of the command line."""
import json
import os
import shutil
import stat
import sys
import threading
import time
import warnings
from ctypes import byref, c_char_p, c_int, c_void_p, create_string_buffer

from ._lib import Error, ResumeOptions, TrainProgressFn, check, fn, text, _interrupt
from .model import Model

# rl_field_type, for describing the fields (the values go through the library's parser)
_TYPES = ["int", "int64", "double", "bool", "enum", "path", "seed", "range", "text"]


def _rows():
    """The library's rows that rnnlab train takes (all of them fill the training configuration)."""
    rows = [fn.rl_option_at(i) for i in range(fn.rl_option_count())]
    return [r for r in rows if fn.rl_option_takes(r, b"train")]


def train_fields():
    """The trainer's options, one dict per row of the library's table:
    name (the keyword here and the key in config.json), flag (of rnnlab
    train), group, type, lo, hi, choices, default (as text), help, and
    commands (the rnnlab commands that take the same option), resumable
    (whether a resumed run may change it)."""
    c = fn.rl_train_config_new()
    if not c:
        raise Error("out of memory")
    try:
        out = []
        for r in _rows():
            f = r.contents
            buf = create_string_buffer(256)
            fn.rl_option_format(c, r, buf, len(buf))
            out.append({"name": text(f.name), "flag": text(f.flag), "group": text(f.group),
                        "type": _TYPES[f.type] if 0 <= f.type < len(_TYPES) else f"type {f.type}",
                        "lo": f.lo, "hi": f.hi,
                        "choices": [text(fn.rl_option_choice(r, k)) for k in range(f.num_choices)],
                        "default": text(f.default_text) or text(buf.value), "help": text(f.help),
                        "commands": text(f.commands).split(), "resumable": bool(fn.rl_option_resumable(r))})
        return out
    finally:
        fn.rl_train_config_free(c)


def _format(row, value):
    """A Python value as the text the library's parser takes for this row."""
    f = row.contents
    if isinstance(value, bool):
        if f.num_choices and _TYPES[f.type] == "bool":
            return text(fn.rl_option_choice(row, int(value)))
        return "1" if value else "0"
    if isinstance(value, (tuple, list)):
        return ",".join(_format(row, v) for v in value)
    if isinstance(value, os.PathLike):
        return os.fsdecode(value)
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _train_arrays(out, progress, arrays, valid, options):
    """train() on arrays: saved in out/data (and out/valid), which the run
    reads; removed again (and out, if made here) when the run cannot start."""
    from . import data
    out = os.fspath(out)
    if os.path.exists(os.path.join(out, "checkpoint.safetensors")):  # its arrays are not to be written over
        raise Error(f"{out} already holds a run: continue it with rnnlab.train(resume={out!r}), or use another folder")
    made = not os.path.exists(out)
    saved = []
    try:
        saved.append(os.path.join(out, "data"))
        data.save(saved[-1], *arrays)
        options = dict(options, task="data", text_path=saved[-1])
        if valid is not None:
            saved.append(os.path.join(out, "valid"))
            data.save(saved[-1], *data.split(valid))
            options["valid_path"] = saved[-1]
        return train(out=out, progress=progress, **options)
    except BaseException:
        if not os.path.exists(os.path.join(out, "checkpoint.safetensors")) and not os.path.exists(
                os.path.join(out, "config.json")):
            for d in saved:
                shutil.rmtree(d, ignore_errors=True)
            if made:
                try:
                    os.rmdir(out)
                except OSError:
                    pass
        raise


class Run:
    """A run folder (rnnlab train's): dir, step (the trainer's), the model,
    the config, and the records metrics.jsonl and flow.jsonl as lists."""

    def __init__(self, path, step=None):
        self.dir = os.fspath(path)
        self.step = step

    def __repr__(self):
        return f"rnnlab.Run({self.dir!r}, step={self.step})"

    @property
    def model(self):
        return Model.load(os.path.join(self.dir, "model.safetensors"))

    def _open(self, name):
        """A file of the folder, opened only when it is a regular file: a
        FIFO there would be waited on forever, a device read without end."""
        p = os.path.join(self.dir, name)
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode):
            raise Error(f"{p}: not a regular file (a FIFO, a device, a folder): a run folder's files are read only "
                        "as regular files")
        return open(p)

    @property
    def config(self):
        with self._open("config.json") as f:
            return json.load(f)

    def _jsonl(self, name):
        if not os.path.lexists(os.path.join(self.dir, name)):
            return []
        with self._open(name) as f:
            return [json.loads(line) for line in f if line.strip()]

    @property
    def metrics(self):
        return self._jsonl("metrics.jsonl")

    @property
    def flow(self):
        return self._jsonl("flow.jsonl")


def _printer():
    last = [0.0]

    def show(p):
        now = time.monotonic()
        if now - last[0] < 1 and p["step"] < p["total"]:
            return
        last[0] = now
        val = f"  val {p['val_loss']:.5g} (baseline {p['baseline']:.4g})" if p["val_step"] else ""
        print(f"step {p['step']}/{p['total']}  loss {p['loss']:.5g}  |g| {p['grad_norm']:.3g}  lr {p['lr']:.3g}  "
              f"{p['tokens_per_s']:.0f} tok/s{val}", file=sys.stderr, flush=True)
    return show


def _resume_changes():
    """What a resumed run may change (rl_resume_options.set, the library's
    rl_option_resumable): the rest is the checkpoint's."""
    return tuple(text(r.contents.name) for r in _rows() if fn.rl_option_resumable(r))


def train(out=None, resume=None, progress=False, x=None, y=None, mask=None, lengths=None, valid=None, **options):
    """Train a model on a task, as `rnnlab train` does, into the run folder
    out (new or empty), or continue the run in folder resume (then only
    steps and the changes lr, schedule, warmup, step_size, gamma, min_lr,
    decay_steps, clip, clip_value, log_every and time_limit may be given
    (train_fields()'s "resumable"): the run's config history, a
    config_changed line of its metrics). options are the trainer's fields by their keys
    (rnnlab.train_fields(): task, seq_len, cell, hidden, layers, optim, lr,
    clip, steps, seed, ...): numbers, names of choices, True/False, (a, b)
    for a range. progress: False, True (a line on stderr a second) or a
    function called with a dict at every metrics line (log_every steps; on
    the thread that runs the trainer). Ctrl-C stops the run with
    a checkpoint (rnnlab.train(resume=dir) continues it exactly) and raises
    KeyboardInterrupt. Returns a Run.

    Your own sequences (task "data"): x (N, T, I) and y, the targets
    ((N, T, O) or (N, O) real, (N, T) or (N,) class ids), with mask (N, T)
    of 0/1 and lengths (N,) if they have any; valid=(x, y[, mask[,
    lengths]]) (or a dict) the validation sequences, else the last
    valid_split of them (0.1). The arrays are saved in the run folder
    (out/data, out/valid: folders of .npy files, which the run resumes
    from) and checked as `rnnlab train --data` checks a file; the model's
    sizes and T come from them."""
    if (out is None) == (resume is None):
        raise Error("give out (a new run's folder) or resume (a run's folder), one of them")
    arrays = x is not None or y is not None or mask is not None or lengths is not None or valid is not None
    if arrays and resume is not None:
        raise Error("resume: the run's arrays are in its folder already; give x and y to a new run")
    if arrays and (x is None or y is None):
        raise Error("give x and y, both (mask, lengths and valid go with them)")
    if arrays and any(k in options for k in ("text_path", "data", "valid_path")):
        raise Error("give the arrays (x, y, valid) or the files (data, valid_path), not both")
    if arrays and options.get("task", "data") != "data":
        raise Error(f"x and y are the data of the task 'data', not {options['task']!r}")
    if arrays:
        return _train_arrays(out, progress, (x, y, mask, lengths), valid, options)
    rows = _rows()
    by_key = {}
    for r in rows:
        by_key[text(r.contents.name)] = r
        by_key.setdefault(text(r.contents.flag).replace("-", "_"), r)
    for k in options:
        if k not in by_key:
            raise Error(f"unknown training option '{k}' (the options: {', '.join(text(r.contents.name) for r in rows)})")
    changes = {text(by_key[k].contents.name): v for k, v in options.items() if k != "steps"}
    if resume is not None and set(changes) - set(_resume_changes()):
        raise Error(f"resume takes only steps and the changes {', '.join(_resume_changes())}: the rest "
                    "(the model, the task, the optimiser) comes from the checkpoint")
    t = c_void_p()
    if resume is not None:
        # the changed settings, recorded as the run's config history (metrics.jsonl's config_changed)
        texts = [f"{k}={_format(by_key[k], v)}".encode() for k, v in changes.items()]
        arr = (c_char_p * max(1, len(texts)))(*texts)
        ro = ResumeOptions(steps=int(options.get("steps", 0)), set=arr, nset=len(texts))
        check(fn.rl_trainer_resume_ex(byref(t), os.fsencode(resume), byref(ro)))
        folder = resume
    else:
        cfg = fn.rl_train_config_new()
        if not cfg:
            raise Error("out of memory")
        keep = []
        try:
            given = {}
            for k, v in options.items():
                key = text(by_key[k].contents.name)
                if key in given:
                    raise Error(f"training option '{key}' is given twice (as '{k}')")
                given[key] = v
            for r in rows:  # in the table's order: an optimizer's defaults before its options
                key = text(r.contents.name)
                if key in given:
                    b = _format(r, given[key]).encode()
                    keep.append(b)
                    check(fn.rl_option_parse(cfg, r, b))
            # as PyTorch's nn.RNN: dropout acts between layers, so with one it does nothing
            if float(given.get("dropout", 0)) > 0 and int(given.get("layers", 1)) == 1:
                warnings.warn(f"dropout={given['dropout']} does nothing with layers=1: dropout acts on the outputs of "
                              "every layer but the last (PyTorch warns the same)", stacklevel=2)
            check(fn.rl_trainer_new(byref(t), cfg, os.fsencode(out)))
        finally:
            fn.rl_train_config_free(cfg)
        folder = out
    stop, interrupted = c_int(0), c_int(0)
    show = _printer() if progress is True else progress if callable(progress) else None
    errors = []

    @TrainProgressFn
    def hook(p, ctx):
        if show is None or errors:
            return
        q = p.contents
        try:
            show({name: getattr(q, name) for name, _ in q._fields_ if name != "_pad"})
        except BaseException as e:  # stop the run and raise it afterwards
            errors.append(e)
            stop.value = 1

    res = {}

    def work():
        s = fn.rl_trainer_run(t, byref(stop), byref(interrupted), hook, None)
        res["status"], res["msg"] = s, text(fn.rl_errmsg()) if s else None

    try:
        # The trainer looks at its stop flag after every step. Python runs a
        # signal handler only in the main thread between bytecodes, so from
        # the main thread the run goes to a thread of its own while this one
        # waits, and the handler (ours, for the run) sets the flag at once.
        with _interrupt.guard(stop_flag=stop):
            if threading.current_thread() is threading.main_thread():
                th = threading.Thread(target=work, name="rnnlab.train")
                th.start()
                while th.is_alive():
                    th.join(0.25)
            else:
                work()
            check(res["status"], res["msg"])
            step = fn.rl_trainer_step(t)
            if errors:
                raise errors[0]
            if interrupted.value:
                raise KeyboardInterrupt(f"training interrupted at step {step}; checkpoint saved in {folder}; "
                                        f"continue with rnnlab.train(resume={os.fspath(folder)!r})")
    finally:
        fn.rl_trainer_free(t)
    return Run(folder, step)
