#!/usr/bin/python3
"""PyTorch references for the C++ parity tests, computed at test time (never committed).

    torch_reference.py ops SPEC.json INPUTS.safetensors OUT.safetensors
        For each case in SPEC: inputs x0, x1, ... (requiring grad) and named constants are read from
        INPUTS; out = eval(expr); loss = sum(out * w); writes "<case>.out" and "<case>.grad<i>". With
        "dtype": "bfloat16" in SPEC, the floating inputs, constants and w are cast to it first (the files hold
        values it represents) and the results are written back as f32.
    torch_reference.py modules SPEC.json INPUTS.safetensors OUT.safetensors
        For each case: m = eval(ctor) (torchvision, or this directory's reference_models, in scope when the
        ctor names it) loads the state dict "<case>.state.*", runs the forward expression (train or eval) on
        "<case>.x" (and "<case>.t" as t, when given); loss = sum(out * w); writes "<case>.out", "<case>.grad.x" (floating inputs),
        "<case>.grad.<parameter>" and "<case>.buffer.<buffer>" (after the forward).
    torch_reference.py optim SPEC.json INPUTS.safetensors OUT.safetensors
        For each case: parameters "<case>.p<k>" in groups as the spec says, the optimizer built by eval(ctor)
        over them, then for each step s the gradients "<case>.g<s>.<k>" and opt.step(); writes the parameters
        after each step as "<case>.p<s>.<k>".
    torch_reference.py quant SPEC.json INPUTS.safetensors OUT.safetensors
        Quantization references. "histogram" cases: torch's HistogramObserver on "<case>.w" writes
        "<case>.range" (its clipping window) and "<case>.qparams" (scale, zero point). "proxy" cases: the
        layer named by the spec with the state "<case>.state.*" and its weight noised by the block mask
        "<case>.mask" (1 = dropped; fairseq's geometry, re-implemented here from docs/METHOD.md, Quant-Noise) run on
        "<case>.x"; loss = sum(out * w) with a straight-through weight gradient; writes "<case>.out" and
        "<case>.grad.weight". "kmeans" cases run k-means from "<case>.init" on "<case>.blocks" and write
        "<case>.centroids", "<case>.assignments" and "<case>.objective". "randn" writes torch.randn(n) after torch.manual_seed(seed).
    torch_reference.py mlp INPUTS.safetensors OUT.safetensors
        Trains the two-layer MLP of tests/parity/parity_test.cpp with plain SGD; writes "losses".

safetensors is read and written here with json + struct, so only Debian's python3-torch is needed.
"""
import json
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}
NAMES = {v: k for k, v in DTYPES.items()}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(body[begin:end]), dtype=DTYPES[info["dtype"]]) if end > begin else \
            torch.empty(0, dtype=DTYPES[info["dtype"]])
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def save(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))


def read_inputs(spec_path, inputs_path):
    with open(spec_path) as f:
        spec = json.load(f)
    return spec, load(inputs_path)


def run_ops(spec_path, inputs_path, out_path):
    spec, tensors = read_inputs(spec_path, inputs_path)
    dtype = getattr(torch, spec.get("dtype", "float32"))

    def cast(t):
        return t.to(dtype) if t.is_floating_point() else t

    results = {}
    for case in spec["cases"]:
        name = case["name"]
        scope = {"torch": torch, "F": F}
        inputs = []
        for i in range(case["inputs"]):
            x = cast(tensors[f"{name}.x{i}"]).clone().requires_grad_(True)
            scope[f"x{i}"] = x
            inputs.append(x)
        for constant in case["constants"]:
            scope[constant] = cast(tensors[f"{name}.{constant}"])
        out = eval(case["expr"], scope)  # noqa: S307 - expressions come from the test table
        loss = (out * cast(tensors[f"{name}.w"])).sum()
        grads = torch.autograd.grad(loss, inputs, allow_unused=True)
        results[f"{name}.out"] = out.float() if out.is_floating_point() else out
        for i, g in enumerate(grads):
            results[f"{name}.grad{i}"] = (g if g is not None else torch.zeros_like(inputs[i])).float()
    save(out_path, results)


class SeparateProjectionAttention(torch.nn.Module):
    """Attention with q/k/v/out projections named as fairseq's, computed by torch's own
    multi_head_attention_forward. Batch-first input (N, L, E); key_padding_mask (N, S), 1 = padded."""

    def __init__(self, embed_dim, num_heads, key_padding_mask=None, causal=False):
        super().__init__()
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim)
        self.num_heads = num_heads
        self.padding = None if key_padding_mask is None else torch.tensor(key_padding_mask, dtype=torch.bool)
        self.causal = causal

    def forward(self, x):
        t = x.transpose(0, 1)  # (L, N, E)
        length = t.shape[0]
        attn_mask = torch.ones(length, length, dtype=torch.bool).triu(1) if self.causal else None
        bias = torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
        out, _ = F.multi_head_attention_forward(
            t, t, t, t.shape[-1], self.num_heads, None, bias, None, None, False, 0.0, self.out_proj.weight,
            self.out_proj.bias, training=self.training, key_padding_mask=self.padding, need_weights=False,
            attn_mask=attn_mask, use_separate_proj_weight=True, q_proj_weight=self.q_proj.weight,
            k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight)
        return out.transpose(0, 1)


def run_modules(spec_path, inputs_path, out_path):
    spec, tensors = read_inputs(spec_path, inputs_path)
    results = {}
    for case in spec["cases"]:
        name = case["name"]
        scope = {"torch": torch, "F": F, "SeparateProjectionAttention": SeparateProjectionAttention}
        if "torchvision" in case["ctor"]:
            import torchvision  # only the model cases need it
            scope["torchvision"] = torchvision
        if "reference_models" in case["ctor"]:
            import reference_models  # this directory's fairseq / Hugging Face definitions
            scope["reference_models"] = reference_models
        module = eval(case["ctor"], scope)  # noqa: S307 - from the test table
        prefix = f"{name}.state."
        module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, strict=True)
        module.train(case["train"])
        x = tensors[f"{name}.x"]
        if x.is_floating_point():
            x = x.clone().requires_grad_(True)
        out = eval(case["forward"], {"m": module, "x": x, "t": tensors.get(f"{name}.t"), "torch": torch, "F": F})  # noqa: S307
        (out * tensors[f"{name}.w"]).sum().backward()
        results[f"{name}.out"] = out
        if x.is_floating_point():
            results[f"{name}.grad.x"] = x.grad
        for pname, p in module.named_parameters():
            results[f"{name}.grad.{pname}"] = p.grad if p.grad is not None else torch.zeros_like(p)
        for bname, b in module.named_buffers():
            results[f"{name}.buffer.{bname}"] = b
    save(out_path, results)


class FairseqNAG(torch.optim.Optimizer):
    """fairseq's NAG (fairseq/optim/nag.py), transcribed: the reference for our Nag."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, lr_old=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
            lr_correct = lr / group.get("lr_old", lr)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"]
                if weight_decay != 0:
                    p.mul_(1 - lr * weight_decay)
                p.add_(buf, alpha=momentum * momentum * lr_correct)
                p.add_(p.grad, alpha=-(1 + momentum) * lr)
                buf.mul_(momentum * lr_correct).add_(p.grad, alpha=-lr)
            group["lr_old"] = lr


def run_optim(spec_path, inputs_path, out_path):
    spec, tensors = read_inputs(spec_path, inputs_path)
    results = {}
    for case in spec["cases"]:
        name = case["name"]
        params = [tensors[f"{name}.p{k}"].clone().requires_grad_(True) for k in range(case["params"])]
        groups = [{"params": [params[k] for k in group["indices"]], **group["options"]} for group in case["groups"]]
        scope = {"torch": torch, "groups": groups, "FairseqNAG": FairseqNAG}
        optimizer = eval(case["ctor"], scope)  # noqa: S307 - from the test table
        for step in range(case["steps"]):
            if case["lrs"]:
                for group in optimizer.param_groups:
                    group["lr"] = case["lrs"][step]
            for k, p in enumerate(params):
                p.grad = tensors[f"{name}.g{step}.{k}"].clone()
            optimizer.step()
            for k, p in enumerate(params):
                results[f"{name}.p{step}.{k}"] = p.detach().clone()
    save(out_path, results)


def noised_weight(weight, mask, block, p):
    """W with each masked unit (block consecutive entries of a flattened row) zeroed, the rest / (1 - p)."""
    rows = weight.reshape(weight.shape[0], -1, block)
    keep = (~mask.bool()).to(weight.dtype).unsqueeze(-1) / (1 - p)
    return (rows * keep).reshape(weight.shape)


def run_quant(spec_path, inputs_path, out_path):
    spec, t = read_inputs(spec_path, inputs_path)
    results = {}
    for case in spec["cases"]:
        name = case["name"]
        if case["kind"] == "histogram":
            # torch 1.13's forward() bins over int(min)..int(max) (truncated; later releases bin over the
            # real range); the search and the qparams are torch's own on the histogram of the real range.
            w = t[name + ".w"]
            obs = torch.ao.quantization.HistogramObserver()
            lo, hi = torch.aminmax(w)
            obs.min_val.resize_(lo.shape).copy_(lo)
            obs.max_val.resize_(hi.shape).copy_(hi)
            obs.histogram.copy_(torch.histc(w, obs.bins, min=lo.item(), max=hi.item()))
            lo, hi = obs._non_linear_param_search()
            scale, zero_point = obs.calculate_qparams()
            results[name + ".range"] = torch.stack([lo, hi]).float().reshape(2)
            results[name + ".qparams"] = torch.tensor([scale.item(), float(zero_point.item())], dtype=torch.float64)
        elif case["kind"] == "kmeans":
            # k-means as docs/METHOD.md (product quantization) states it: exhaustive L2 assignment, mean update, Frobenius objective.
            x, c = t[name + ".blocks"].double(), t[name + ".init"].double().clone()
            objective = []
            for _ in range(case["n_iter"]):
                assign = torch.cdist(x, c).argmin(dim=1)
                if torch.bincount(assign, minlength=c.shape[0]).min() == 0:
                    sys.exit("torch_reference.py: an empty cluster; pick other data")
                c = torch.stack([x[assign == k].mean(dim=0) for k in range(c.shape[0])])
                objective.append((c[assign] - x).norm().item())
            results[name + ".centroids"] = c.float()
            results[name + ".assignments"] = assign
            results[name + ".objective"] = torch.tensor(objective, dtype=torch.float64)
        elif case["kind"] == "randn":
            torch.manual_seed(case["seed"])
            results[name + ".values"] = torch.randn(case["n"])
        elif case["kind"] == "proxy":
            m = eval(case["ctor"])
            m.load_state_dict({k[len(name) + 7:]: v for k, v in t.items() if k.startswith(name + ".state.")})
            w = m.weight
            noised = noised_weight(w.detach(), t[name + ".mask"], case["unit"], case["p"])
            effective = w + (noised - w).detach()  # straight through
            x = t[name + ".x"]
            if isinstance(m, torch.nn.Linear):
                out = F.linear(x, effective, m.bias)
            elif isinstance(m, torch.nn.Conv2d):
                out = F.conv2d(x, effective, m.bias, m.stride, m.padding, m.dilation, m.groups)
            else:
                out = F.embedding(x, effective, m.padding_idx)
            (out * t[name + ".w"]).sum().backward()
            results[name + ".out"] = out
            results[name + ".grad.weight"] = w.grad
        else:
            sys.exit(f"torch_reference.py: unknown quant case kind {case['kind']!r}")
    save(out_path, results)


def run_mlp(inputs_path, out_path):
    t = load(inputs_path)
    w1, b1 = t["w1"].clone().requires_grad_(True), t["b1"].clone().requires_grad_(True)
    w2, b2 = t["w2"].clone().requires_grad_(True), t["b2"].clone().requires_grad_(True)
    lr = float(t["lr"].item())
    losses = []
    for _ in range(int(t["steps"].item())):
        hidden = torch.relu(t["x"] @ w1.t() + b1)
        loss = ((hidden @ w2.t() + b2 - t["y"]) ** 2).mean()
        losses.append(loss.item())
        for p in (w1, b1, w2, b2):
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in (w1, b1, w2, b2):
                p -= lr * p.grad
    save(out_path, {"losses": torch.tensor(losses, dtype=torch.float64)})


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "ops":
        run_ops(*sys.argv[2:5])
    elif sys.argv[1] == "modules":
        run_modules(*sys.argv[2:5])
    elif sys.argv[1] == "optim":
        run_optim(*sys.argv[2:5])
    elif sys.argv[1] == "quant":
        run_quant(*sys.argv[2:5])
    elif sys.argv[1] == "mlp":
        run_mlp(*sys.argv[2:4])
    else:
        sys.exit(f"torch_reference.py: unknown mode {sys.argv[1]!r}")
