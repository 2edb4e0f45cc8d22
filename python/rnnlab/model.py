"""rnnlab.Model: a model of the library (an rl_model) with numpy arrays in and
out. The names, shapes and numbers are those of the command line's files:
grad is `rnnlab grad`, jacobian `rnnlab jacobian`, lyapunov `rnnlab lyapunov`."""
import ctypes
import math
import operator
import os
import warnings
from ctypes import byref, c_double, c_void_p

import numpy as np

from . import _arrays
from ._lib import Config, Error, LagStats, LyapConfig, LyapInfo, check, fn, names, parse, text, _interrupt

_F64 = 1


def _whole(v, what):
    """A size: a whole number (int, numpy's integers; not a float, not a bool)."""
    if isinstance(v, bool):
        raise Error(f"{what} must be a whole number, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise Error(f"{what} must be a whole number, got {v!r}") from None


def _dtype(precision):
    return parse(fn.rl_dtype_parse, precision)


def _view(ptr, n, dtype):
    """n elements at ptr as a numpy array (no copy; valid while the owner lives)."""
    if n == 0:
        return np.empty(0, dtype)
    return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(np.ctypeslib.as_ctypes_type(dtype))), (n,))


class Model:
    """A recurrent net and its linear readout, as the library holds it (in
    float64; the computations cast it where they ask for float32).

    Make one with Model.from_torch, Model.from_state_dict, Model.load or
    Model(cell, input_size, hidden_size, output_size, num_layers, loss,
    orthogonal, state_size, activation), which has every parameter 0.
    orthogonal ("exp" or "cayley", the library's names; None: a plain W_hh)
    makes W_hh = B map(A) from the tensors of
    torch.nn.utils.parametrizations.orthogonal. state_size (N, the complex
    state's units) and activation (of y = act(Re(C x) + D u): "gelu", the
    default, "tanh", "relu" or "linear") belong to an lru layer; None: N =
    hidden_size and gelu.

    batch_first (as PyTorch's modules have it): True, the default here, takes
    and gives sequences batch first, (B, T, ...); False, PyTorch's default
    and what from_torch takes from a module made without batch_first=True,
    time first, (T, B, ...), in grad, forward, evaluate, jacobian and
    lyapunov (x, y, mask and forward's outputs; h0, c0 and the gradients of
    h0, c0 stay (L, B, H), as in PyTorch). It may be set at any time."""

    def __init__(self, cell="tanh", input_size=1, hidden_size=1, output_size=1, num_layers=1, loss="mse",
                 orthogonal=None, state_size=None, activation=None, batch_first=True, _handle=None):
        self._h = None
        self._cast = {}
        if not isinstance(batch_first, (bool, np.bool_)):
            raise Error(f"batch_first must be True or False, got {batch_first!r}")
        self.batch_first = bool(batch_first)
        if _handle is None:
            given = {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers,
                     "output_size": output_size, "state_size": 0 if state_size is None else state_size}
            sizes = {k: _whole(v, k) for k, v in given.items()}
            # the library's int: a size beyond it goes in as the nearest int, which the library refuses
            # as out of its range; its message then names the size given
            clamped = {k: min(max(v, -2**31), 2**31 - 1) for k, v in sizes.items()}
            cfg = Config(cell=parse(fn.rl_cell_parse, cell), loss=parse(fn.rl_loss_parse, loss),
                         activation=parse(fn.rl_act_parse, activation or "default"), **clamped)
            h = c_void_p()
            try:
                check(fn.rl_model_new_orth(byref(h), byref(cfg), _F64, parse(fn.rl_orth_parse, orthogonal or "none")))
            except Error as e:
                msg = str(e)
                for k, v in sizes.items():
                    if clamped[k] != v:
                        msg = msg.replace(f"{k} = {clamped[k]}", f"{k} = {v}")
                raise Error(msg, e.status, e.reason) from None
            _handle = h
        self._h = _handle
        c = fn.rl_model_config(self._live)
        cell_name = text(fn.rl_cell_name(c.cell))
        self.config = {"cell": cell_name, "input_size": c.input_size, "hidden_size": c.hidden_size,
                       "num_layers": c.num_layers, "output_size": c.output_size,
                       "loss": text(fn.rl_loss_name(c.loss)), "states": fn.rl_cell_states(c.cell)}
        orth = text(fn.rl_orth_name(fn.rl_model_orthogonal(self._live)))
        self.config["orthogonal"] = None if orth == "none" else orth
        if cell_name == "lru":
            self.config["state_size"] = c.state_size or c.hidden_size
            self.config["activation"] = text(fn.rl_act_name(c.activation))
        self.state_size = fn.rl_state_size(self._live)

    def __del__(self):
        self._free()

    def close(self):
        """Free the library's model now (else when the object goes). Any
        call that needs it afterwards raises rnnlab.Error."""
        self._free()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._free()
        return False

    @property
    def _live(self):
        """The library's handle; rnnlab.Error once it is freed (never a NULL into the library)."""
        if not getattr(self, "_h", None):
            raise Error("this rnnlab.Model has been freed (close()): make or load another")
        return self._h

    def _free(self):
        try:
            for h in getattr(self, "_cast", {}).values():
                fn.rl_model_free(h)
            self._cast = {}
            if getattr(self, "_h", None):
                fn.rl_model_free(self._h)
                self._h = None
        except (AttributeError, TypeError):  # at interpreter exit the module may be gone first
            pass

    def __repr__(self):
        c = self.config
        orth = f", orthogonal={c['orthogonal']!r}" if c["orthogonal"] else ""
        if "state_size" in c:
            orth += f", state_size={c['state_size']}, activation={c['activation']!r}"
        if not self.batch_first:
            orth += ", batch_first=False"
        return (f"rnnlab.Model({c['cell']!r}, input_size={c['input_size']}, hidden_size={c['hidden_size']}, "
                f"output_size={c['output_size']}, num_layers={c['num_layers']}, loss={c['loss']!r}{orth})")

    @property
    def cell(self):
        return self.config["cell"]

    # ------------------------------------------------------------ parameters

    def _tensors(self, trained_only=False):
        """(name, shape, offset, numel) of every tensor, from the library's
        table (trained_only: without the fixed ones, an orthogonal base)."""
        out = []
        for i in range(fn.rl_model_num_tensors(self._live)):
            t = fn.rl_model_tensor(self._live, i).contents
            if trained_only and t.fixed:
                continue
            shape = tuple(int(t.shape[k]) for k in range(t.ndim))
            out.append((t.name.decode(), shape, int(t.offset), int(t.numel)))
        return out

    def _params(self):
        return _view(fn.rl_model_params(self._live), fn.rl_model_num_params(self._live), np.float64)

    def state_dict(self):
        """Every parameter by its name (PyTorch's state_dict names of rnn and
        head: rnn.weight_ih_l0, ..., head.bias), float64 copies."""
        p = self._params()
        return {name: p[off:off + n].reshape(shape).copy() for name, shape, off, n in self._tensors()}

    def load_state_dict(self, sd):
        """Set every parameter from a mapping name -> array (numpy or torch),
        as the model file loader does: each tensor must be there with its
        exact shape and finite values, and nothing else may be."""
        sd = dict(sd)
        p = self._params()
        new = p.copy()
        for name, shape, off, n in self._tensors():
            if name not in sd:
                raise Error(f"tensor '{name}' is missing")
            a = _arrays.as_numpy(sd.pop(name), name)
            if a.dtype.kind not in "fiub":
                raise Error(f"{name}: expected real numbers, got an array of {a.dtype}")
            if tuple(a.shape) != shape:
                raise Error(f"tensor '{name}' has shape {tuple(a.shape)}, expected {shape}")
            a = a.astype(np.float64).ravel()
            if not np.isfinite(a).all():
                raise Error(f"tensor '{name}' holds a non-finite value")
            new[off:off + n] = a
        if sd:
            c = self.config
            raise Error(f"unexpected tensor '{sorted(sd)[0]}' for a {c['num_layers']}-layer {c['cell']} model")
        p[:] = new
        self._drop_casts()

    def _drop_casts(self):
        for h in self._cast.values():
            fn.rl_model_free(h)
        self._cast = {}

    def _in(self, precision):
        """The model's handle in a precision ("f32" or "f64")."""
        d = _dtype(precision)
        if d == _F64:
            return self._live, d
        if d not in self._cast:
            h = c_void_p()
            check(fn.rl_model_cast(byref(h), self._live, d))
            self._cast[d] = h
        return self._cast[d], d

    # ------------------------------------------------------------ making one

    @classmethod
    def from_state_dict(cls, sd, cell, loss="mse", orthogonal=None, activation=None, batch_first=True):
        """A model from a mapping of PyTorch state_dict names (rnn.* and
        head.*, numpy arrays or tensors); the sizes are read off the shapes:
        I from rnn.weight_ih_l0 (an lru: I and N from rnn.B_re_l0, which is
        (N, I)), H and O from head.weight, L from the layers present. Any
        cell of the library's table; orthogonal ("exp", "cayley") when the
        dict holds torch's orthogonal parametrisation
        (rnn.parametrizations.weight_hh_l{k}.original and .0.base);
        activation: an lru's (a state_dict does not hold it); batch_first:
        the layout of the sequences its methods take and give (see Model)."""
        sd = dict(sd)
        first = "B_re" if cell == "lru" else "weight_ih"
        try:
            O, H = _arrays.as_numpy(sd["head.weight"], "head.weight").shape
            N, I = _arrays.as_numpy(sd[f"rnn.{first}_l0"], f"rnn.{first}_l0").shape
        except KeyError as e:
            raise Error(f"tensor {e} is missing") from None
        except ValueError:
            raise Error(f"head.weight must be (O, H) and rnn.{first}_l0 (rows, I)") from None
        L = 0
        while f"rnn.{first}_l{L}" in sd:
            L += 1
        if orthogonal is None and "rnn.parametrizations.weight_hh_l0.original" in sd:
            raise Error("the dict holds an orthogonal parametrisation: say which map (orthogonal='exp' or 'cayley')")
        m = cls(cell, I, H, O, L, loss, orthogonal, state_size=N if cell == "lru" else None, activation=activation,
                batch_first=batch_first)
        m.load_state_dict(sd)
        return m

    @classmethod
    def from_torch(cls, rnn, head=None, loss="mse"):
        """A model from torch.nn.RNN (tanh or relu), LSTM or GRU and the
        torch.nn.Linear(H, O) on top (None: a zero readout with O = 1, enough
        for Jacobians). The weights are copied (exactly: float32 and float64
        both fit the library's float64). Bias-free modules get zero biases;
        bidirectional and projected (proj_size) modules have no counterpart.
        The model keeps the module's layout: rnn.batch_first (False unless
        the module was made with batch_first=True) becomes m.batch_first, so
        that m.forward(x) takes the x that rnn(x) takes."""
        import torch
        if isinstance(rnn, torch.nn.LSTM):
            cell = "lstm"
        elif isinstance(rnn, torch.nn.GRU):
            cell = "gru"
        elif isinstance(rnn, torch.nn.RNN):
            cell = rnn.nonlinearity
        else:
            raise Error(f"from_torch takes torch.nn.RNN, LSTM or GRU, not {type(rnn).__name__}")
        if getattr(rnn, "bidirectional", False):
            raise Error("a bidirectional module has no counterpart in rnnlab")
        if getattr(rnn, "proj_size", 0):
            raise Error("an LSTM with proj_size has no counterpart in rnnlab")
        H, L = rnn.hidden_size, rnn.num_layers
        if getattr(rnn, "dropout", 0):
            warnings.warn(f"the module has dropout={rnn.dropout}{' between its layers' if L > 1 else ''}; rnnlab has no "
                          "dropout: the model computes what the module computes in eval mode (rnn.eval()), and "
                          "rnnlab.train does not drop units", RuntimeWarning, stacklevel=2)
        orthogonal = _torch_orthogonal(rnn)
        sd = {"rnn." + k: v for k, v in rnn.state_dict().items()}
        G = len(rnn.weight_ih_l0) // H
        for k in range(L):
            for b in ("bias_ih", "bias_hh"):
                sd.setdefault(f"rnn.{b}_l{k}", np.zeros(G * H))
        if head is None:
            sd["head.weight"], sd["head.bias"] = np.zeros((1, H)), np.zeros(1)
        else:
            if head.in_features != H:
                raise Error(f"head takes {head.in_features} inputs but the rnn has {H} units")
            hs = head.state_dict()
            sd["head.weight"] = hs["weight"]
            sd["head.bias"] = hs.get("bias", np.zeros(head.out_features))
        return cls.from_state_dict(sd, cell, loss, orthogonal, batch_first=bool(getattr(rnn, "batch_first", False)))

    def to_torch(self, dtype=None):
        """(rnn, head): torch.nn.RNN/LSTM/GRU(batch_first=m.batch_first) and
        torch.nn.Linear holding this model's parameters, in dtype (None:
        torch's default dtype, float32 unless set otherwise). An orthogonal
        model's rnn has torch.nn.utils.parametrizations.orthogonal on each
        weight_hh_l{k}; PyTorch 1.13's nn.RNN keeps reading the weights it
        held before the registration, so before a forward refresh them:
        rnn._flat_weights = [getattr(rnn, n) for n in rnn._flat_weights_names]
        (as tools/make_cure_fixtures.py does)."""
        import torch
        c = self.config
        args = (c["input_size"], c["hidden_size"], c["num_layers"])
        if c["cell"] in ("tanh", "relu"):
            rnn = torch.nn.RNN(*args, nonlinearity=c["cell"], batch_first=self.batch_first)
        elif c["cell"] == "lstm":
            rnn = torch.nn.LSTM(*args, batch_first=self.batch_first)
        elif c["cell"] == "gru":
            rnn = torch.nn.GRU(*args, batch_first=self.batch_first)
        else:
            raise Error(f"cell {c['cell']} has no PyTorch module")
        head = torch.nn.Linear(c["hidden_size"], c["output_size"])
        if dtype is not None:
            rnn, head = rnn.to(dtype), head.to(dtype)
        if c["orthogonal"]:
            from torch.nn.utils import parametrizations
            for k in range(c["num_layers"]):
                parametrizations.orthogonal(rnn, f"weight_hh_l{k}", orthogonal_map=_TORCH_MAPS[c["orthogonal"]])
        sd = self.state_dict()
        with torch.no_grad():
            rnn.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in sd.items() if k.startswith("rnn.")})
            head.load_state_dict({k[5:]: torch.from_numpy(v) for k, v in sd.items() if k.startswith("head.")})
        return rnn, head

    # ------------------------------------------------------------ files

    @classmethod
    def load(cls, path):
        """A model file (safetensors, as rnnlab init and train write them)."""
        h = c_void_p()
        check(fn.rl_model_load(byref(h), os.fsencode(path), _F64))
        return cls(_handle=h)

    def save(self, path):
        """Write the model file (float32 tensors and the metadata), atomically."""
        check(fn.rl_model_save(self._live, os.fsencode(path)))

    # ------------------------------------------------------------ computations

    def grad(self, x, y, mask=None, h0=None, c0=None, precision="f64"):
        """The loss and dL/dtheta by BPTT (rnnlab grad): {"loss": float, every
        parameter's name: its gradient, "h0": dL/dh0 (L, B, H), and for an
        LSTM "c0": dL/dc0}, arrays in the precision of the computation.

        x (B, T, I) real or (B, T) integer ids (one-hot inputs); y (B, T, O)
        real targets (mse; (B, T) when O = 1) or (B, T) class ids
        (cross_entropy); mask (B, T) weights >= 0; h0, c0 (L, B, H).
        With batch_first=False, x, y and mask are time first: (T, B, ...)."""
        m, d = self._in(precision)
        b, keep = _arrays.batch(self.config, x, y, mask, h0, c0, precision, need_targets=True,
                                batch_first=self.batch_first)
        ws = c_void_p()
        check(fn.rl_ws_new(byref(ws), m, b.batch, b.steps))
        try:
            loss = c_double()
            with _interrupt.guard():
                check(fn.rl_forward(ws, m, byref(b), byref(loss)))
                check(fn.rl_backward(ws, m, byref(b)))
            dt = np.float64 if d == _F64 else np.float32
            g = _view(fn.rl_ws_grad(ws), fn.rl_model_num_params(m), dt)
            out = {"loss": loss.value}
            for name, shape, off, n in self._tensors(trained_only=True):  # as gradient files: no base
                out[name] = g[off:off + n].reshape(shape).copy()
            c = self.config
            LBH = (c["num_layers"], b.batch, c["hidden_size"])
            out["h0"] = _view(fn.rl_ws_grad_h0(ws), int(np.prod(LBH)), dt).reshape(LBH).copy()
            if c["states"] == 2:
                out["c0"] = _view(fn.rl_ws_grad_c0(ws), int(np.prod(LBH)), dt).reshape(LBH).copy()
            return out
        finally:
            fn.rl_ws_free(ws)

    def evaluate(self, x, y, mask=None, lengths=None, batch=50, loss=None):
        """The model's scores on sequences x (N, T, I) with targets y, as
        `rnnlab eval --data` gives them for a file of these arrays (float32
        after the model is cast): {"loss", "sequences", "scored_steps",
        "baseline" (and, for class ids, "baseline_accuracy"), "mse", "rmse",
        "nrmse" or "accuracy"}. y is (N, T, O) or (N, O) real, or (N, T) or
        (N,) class ids (one target a sequence, at its last step that counts);
        mask (N, T) of 0/1 and lengths (N,) say which steps count. loss (a
        name) overrides the model's for the targets. Every sequence is scored
        once; the baseline is learnt from these targets themselves (their
        mean, their classes' frequencies). With batch_first=False, x is
        (T, N, I), y (T, N, O) or (T, N) class ids, mask (T, N); a target a
        sequence, (N, O) or (N,), and lengths (N,) are the same in both."""
        from . import data
        if not self.batch_first:
            def tf(a, what, seq):
                if a is None:
                    return None
                a = _arrays.as_numpy(a, what)
                return _arrays.to_batch_first(a, seq(a))
            x = tf(x, "x", lambda a: True)
            y = tf(y, "y", lambda a: a.ndim == 3 or (a.ndim == 2 and a.dtype.kind in "iub"))
            mask = tf(mask, "mask", lambda a: True)
        return data.evaluate(self._live, x, y, mask, lengths, batch, loss)

    def forward(self, x, h0=None, c0=None, precision="f64"):
        """The outputs o_t = W_o h_t + b_o of every step, (B, T, O); with
        batch_first=False, x is (T, B, I) and the outputs (T, B, O)."""
        m, d = self._in(precision)
        b, keep = _arrays.batch(self.config, x, None, None, h0, c0, precision, batch_first=self.batch_first)
        ws = c_void_p()
        check(fn.rl_ws_new(byref(ws), m, b.batch, b.steps))
        try:
            with _interrupt.guard():
                check(fn.rl_forward(ws, m, byref(b), None))
            O = self.config["output_size"]
            dt = np.float64 if d == _F64 else np.float32
            o = _view(fn.rl_ws_outputs(ws), b.steps * b.batch * O, dt).reshape(b.steps, b.batch, O)
            # a copy: the workspace goes below (the library's outputs are time first)
            return o.copy() if not self.batch_first else o.transpose(1, 0, 2).copy()
        finally:
            fn.rl_ws_free(ws)

    def jacobian(self, x, h0=None, c0=None, seq=0, y=None, mask=None, steps=True, lags=True, radius=False):
        """The Jacobians through time of sequence seq of x, in float64
        (rnnlab jacobian): a dict with
          J (T, S, S)            J[t] = ds_{t+1}/ds_t (not with steps=False)
          P (S, S)               ds_T/ds_0 = P_scaled * exp(P_log_scale)
          P_scaled, P_log_scale  the product with its scale carried apart
          loss                   the sequence's loss (NaN without y)
        and, unless lags=False, what rnnlab jacobian gives for every lag
        tau = 0..T, from one sweep over the products ds_T/ds_tau:
          lag_log_norm (T+1,)    ln ||ds_T/ds_tau||_2 (Lanczos on P P^T: a few O(S^2) steps a lag)
          lag_log_fro (T+1,)     ln ||ds_T/ds_tau||_F
          lag_log_radius (T+1,)  ln rho(ds_T/ds_tau) (radius=True: an eigensolve per lag)
          log_grad_bptt, log_grad_state, log_grad_last (T+1,)   with targets y: the BPTT view
        lags=False computes J and P alone, P by the library's threaded product
        (rl_jac_product, what rnnlab bench --jacobian times); its last bits
        may differ from the sweep's. S is the state size: L*H, 2*L*H for an
        LSTM, whose state is [h; c] per layer. With batch_first=False, x (and
        y, mask) are time first, (T, B, ...), and seq picks along B."""
        b, keep = _arrays.batch(self.config, x, y, mask, h0, c0, "f64", batch_first=self.batch_first)
        if not 0 <= int(seq) < b.batch:
            raise Error(f"sequence {seq} is outside the batch [0, {b.batch})")
        j = c_void_p()
        check(fn.rl_jac_new(byref(j), self._live, byref(b), int(seq)))
        try:
            T, S = fn.rl_jac_steps(j), fn.rl_jac_state_size(j)
            loss = fn.rl_jac_loss(j)
            out = {}

            def arr(name, shape):
                out[name] = np.empty(shape)
                return out[name].ctypes.data

            scale = c_double()
            if lags:
                st = LagStats(log_fro=arr("lag_log_fro", T + 1), log_norm=arr("lag_log_norm", T + 1),
                              P=arr("P_scaled", (S, S)), P_log_scale=ctypes.addressof(scale))
                if radius:
                    st.log_radius = arr("lag_log_radius", T + 1)
                if steps:
                    st.J = arr("J", (T, S, S))
                if not math.isnan(loss):
                    st.log_grad_bptt = arr("log_grad_bptt", T + 1)
                    st.log_grad_state = arr("log_grad_state", T + 1)
                    st.log_grad_last = arr("log_grad_last", T + 1)
                with _interrupt.guard():
                    check(fn.rl_jac_lags(j, byref(st)))
            else:
                with _interrupt.guard():
                    if steps:
                        J = arr("J", (T, S, S))
                        for t in range(T):
                            check(fn.rl_jac_step(j, t + 1, J + t * S * S * 8))
                    check(fn.rl_jac_product(j, T, 0, arr("P_scaled", (S, S)), byref(scale)))
            # as rnnlab jacobian writes it: P = P_scaled * exp(scale), with C's exp
            try:
                e = math.exp(scale.value)
            except OverflowError:
                e = math.inf
            with np.errstate(over="ignore", invalid="ignore"):
                out["P"] = out["P_scaled"] * e
            out["P_log_scale"] = scale.value
            out["loss"] = loss
            return out
        finally:
            fn.rl_jac_free(j)

    def lyapunov(self, steps=1000, inputs=None, k=None, seed=0, transient=100, noise_std=1.0, state=None,
                 x=None, h0=None, c0=None, seq=0, trace_every=0):
        """The top k Lyapunov exponents (all S without k) of the state map, by
        QR re-orthonormalisation (rnnlab lyapunov), natural log per step,
        sorted descending. inputs: "zeros", "noise" (N(0, noise_std^2)) or
        "data" (sequence seq of x, cycled); the default is "data" with x and
        "zeros" without. state: "data" (h0, c0), "zeros" or "random"; the
        default is "data" with h0, "zeros" with x only, else "random" (the
        command's defaults). With trace_every > 0 it returns (exponents,
        trace), trace (steps // trace_every, k) running estimates. With
        batch_first=False, x is time first, (T, B, I)."""
        c = self.config
        S = self.state_size
        k = S if k is None else int(k)
        if not 1 <= k <= S:
            raise Error(f"k = {k} is outside [1, S = {S}]")
        if inputs is None:
            inputs = "data" if x is not None else "zeros"
        if state is None:
            state = "data" if h0 is not None else "zeros" if x is not None else "random"
        cfg = LyapConfig(steps=int(steps), transient=int(transient), k=k, input=parse(fn.rl_input_parse, inputs),
                         noise_std=float(noise_std), state=parse(fn.rl_state_parse, state), seed=int(seed),
                         trace_every=int(trace_every))
        if cfg.steps < 1 or cfg.transient < 0 or cfg.trace_every < 0 or not math.isfinite(cfg.noise_std) \
                or cfg.noise_std < 0:
            raise Error("steps must be >= 1, transient and trace_every >= 0, noise_std finite and >= 0")
        keep, bp = [], None
        if x is not None or h0 is not None:
            first = self.batch_first
            if x is None:  # a state without inputs: the batch's size from h0 (L, B, H)
                h0a = _arrays.as_numpy(h0, "h0")
                x, first = np.zeros((h0a.shape[1] if h0a.ndim == 3 else 1, 1, c["input_size"])), True
            b, keep = _arrays.batch(c, x, None, None, h0, c0, "f64", batch_first=first)
            if not 0 <= int(seq) < b.batch:
                raise Error(f"sequence {seq} is outside the batch [0, {b.batch})")
            bp = byref(b)
        if (inputs == "data" and x is None) or (state == "data" and h0 is None):
            raise Error('inputs="data" needs x and state="data" needs h0')
        ex = np.empty(k)
        ntrace = cfg.steps // cfg.trace_every if cfg.trace_every else 0
        trace = np.empty((ntrace, k))
        info = LyapInfo()
        with _interrupt.guard():
            check(fn.rl_lyapunov_ex(self._live, bp, int(seq), byref(cfg), ex.ctypes.data,
                                    trace.ctypes.data if ntrace else None, byref(info)))
        if info.stationary:  # what rnnlab lyapunov says on stderr
            warnings.warn(f"the state never moved in the {cfg.steps} steps: these are the exponents of the fixed "
                          f"point it sits on (ln|eig| of its Jacobian){', an unstable one' if ex[0] > 0 else ''}, "
                          f"not of a trajectory; state='random' starts elsewhere", stacklevel=2)
        return (ex, trace) if cfg.trace_every else ex


# the library's names of the orthogonal maps and PyTorch's
_TORCH_MAPS = {"exp": "matrix_exp", "cayley": "cayley"}


def _torch_orthogonal(rnn):
    """The library's name of the orthogonal map torch's parametrisation puts
    on rnn's weight_hh_l{k} (all layers alike), or None."""
    p = getattr(rnn, "parametrizations", None)
    if p is None or "weight_hh_l0" not in p:
        return None
    maps = set()
    for k in range(rnn.num_layers):
        if f"weight_hh_l{k}" not in p:
            raise Error(f"weight_hh_l{k} has no orthogonal parametrisation but weight_hh_l0 has: all layers or none")
        par = p[f"weight_hh_l{k}"]
        if len(par) != 1 or type(par[0]).__name__ != "_Orthogonal":
            raise Error(f"weight_hh_l{k} has a parametrisation other than torch's orthogonal")
        name = getattr(par[0].orthogonal_map, "name", str(par[0].orthogonal_map))
        ours = {v: k2 for k2, v in _TORCH_MAPS.items()}.get(name)
        if ours is None or not getattr(par[0], "use_trivialization", True):
            raise Error(f"the orthogonal map {name} has no counterpart in rnnlab (matrix_exp and cayley do, "
                        "with use_trivialization=True)")
        maps.add(ours)
    if len(maps) > 1:
        raise Error("the layers use different orthogonal maps")
    return maps.pop()


def cells():
    """The cells of the library's table ("tanh", "relu", ..., "lstm", "gru", ...)."""
    return names(fn.rl_cell_name)


def losses():
    """The losses of the library's table."""
    return names(fn.rl_loss_name)
