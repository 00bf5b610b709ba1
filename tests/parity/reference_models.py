"""Reference definitions of the sequence models for the parity tests, in plain PyTorch, written from
fairseq's transformer_lm / AdaptiveInput / AdaptiveSoftmax and Hugging Face's RobertaForMaskedLM /
RobertaForSequenceClassification (neither library is a Debian package). Parameter names are theirs, so the
C++ models' state dicts load strictly. Only what the parity tests and the benchmarks' PyTorch peers
(bench/peer/models_peer.py, gpu_peer.py) exercise is here: no incremental decoding, no LayerDrop (it is off in
parity runs), dropout as modules in the libraries' places, 0 by default so that train mode is exact. The peers
also set fused_attention, which runs the same attention through F.scaled_dot_product_attention (torch 2.0 or
later): the parity tests keep the libraries' explicit softmax.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def make_positions(tokens, padding_idx):
    mask = tokens.ne(padding_idx).long()
    return torch.cumsum(mask, dim=1) * mask + padding_idx


def sinusoidal_table(num, dim, padding_idx):
    half = dim // 2
    step = math.log(10000) / (half - 1)
    freq = torch.exp(torch.arange(half, dtype=torch.float) * -step)
    angles = torch.arange(num, dtype=torch.float).unsqueeze(1) * freq.unsqueeze(0)
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2 == 1:
        table = torch.cat([table, torch.zeros(num, 1)], dim=1)
    table[padding_idx, :] = 0
    return table


def fused_attention(q, k, v, padding, causal, dropout):
    """softmax(q k^T / sqrt(head dim)) v with dropout on the probabilities, through PyTorch's fused kernels (flash or
    memory-efficient on a GPU: the (T, T) scores are never stored). q, k, v (N, H, T, hd); padding (N, T), True =
    padded, or None."""
    mask = None
    if padding is not None:
        n, t = padding.shape
        mask = ~padding.view(n, 1, 1, t)  # True = attend
        if causal:
            mask = mask & torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout.p if dropout.training else 0.0,
                                          is_causal=causal and mask is None)


class Attention(nn.Module):
    """fairseq's MultiheadAttention (k_proj, v_proj, q_proj, out_proj), batch first."""

    def __init__(self, dim, heads, dropout=0.0, fused=False):
        super().__init__()
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.heads = heads
        self.dropout = nn.Dropout(dropout)
        self.fused = fused

    def forward(self, x, key_padding_mask=None, causal=False):
        n, t, d = x.shape
        h = self.heads

        def split(y):
            return y.view(n, t, h, d // h).transpose(1, 2)

        if self.fused:
            context = fused_attention(split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x)),
                                      key_padding_mask, causal, self.dropout)
            return self.out_proj(context.transpose(1, 2).reshape(n, t, d))
        q = split(self.q_proj(x)) * (d // h) ** -0.5
        k, v = split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-1, -2)
        if causal:
            scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask.view(n, 1, 1, t), float("-inf"))
        probs = self.dropout(F.softmax(scores, dim=-1))
        return self.out_proj((probs @ v).transpose(1, 2).reshape(n, t, d))


# --- fairseq's transformer_lm


class DecoderLayer(nn.Module):
    """fairseq's TransformerDecoderLayer without encoder attention: dropout after the attention's out_proj and
    after fc2, activation dropout between fc1 and fc2, attention dropout on the probabilities."""

    def __init__(self, dim, heads, ffn, pre_ln, activation, dropout=0.0, attention_dropout=0.0,
                 activation_dropout=0.0, fused_attention=False):
        super().__init__()
        self.self_attn = Attention(dim, heads, attention_dropout, fused_attention)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, ffn)
        self.fc2 = nn.Linear(ffn, dim)
        self.final_layer_norm = nn.LayerNorm(dim)
        self.pre_ln = pre_ln
        self.activation = F.relu if activation == "relu" else F.gelu
        self.dropout_module = nn.Dropout(dropout)
        self.activation_dropout_module = nn.Dropout(activation_dropout)

    def forward(self, x, padding):
        residual = x
        if self.pre_ln:
            x = self.self_attn_layer_norm(x)
        x = residual + self.dropout_module(self.self_attn(x, padding, causal=True))
        if not self.pre_ln:
            x = self.self_attn_layer_norm(x)
        residual = x
        if self.pre_ln:
            x = self.final_layer_norm(x)
        x = residual + self.dropout_module(self.fc2(self.activation_dropout_module(self.activation(self.fc1(x)))))
        if not self.pre_ln:
            x = self.final_layer_norm(x)
        return x


class AdaptiveInput(nn.Module):
    def __init__(self, vocab, dim, cutoffs, factor, padding_idx):
        super().__init__()
        self.cutoff = cutoffs + [vocab]
        self.dim = dim
        self.embeddings = nn.ModuleList()
        prev = 0
        for i, c in enumerate(self.cutoff):
            width = int(dim // (factor ** i))
            self.embeddings.append(nn.Sequential(nn.Embedding(c - prev, width, padding_idx),
                                                 nn.Linear(width, dim, bias=False)))
            prev = c

    def forward(self, tokens):
        result = torch.zeros(tokens.shape + (self.dim,), dtype=self.embeddings[0][1].weight.dtype,
                             device=tokens.device)
        for i in range(len(self.cutoff)):
            mask = tokens.lt(self.cutoff[i])
            if i > 0:
                mask.mul_(tokens.ge(self.cutoff[i - 1]))
                chunk = tokens[mask] - self.cutoff[i - 1]
            else:
                chunk = tokens[mask]
            if mask.any():
                result[mask] = self.embeddings[i](chunk).to(result.dtype)  # bf16 under autocast
        return result


class TiedHead(nn.Module):
    def __init__(self, table, dim, clusters):
        super().__init__()
        self.table = [table]  # a reference, not a submodule: the weight is the input side's
        self.class_proj = nn.Linear(dim, clusters, bias=False)

    def forward(self, x):
        return torch.cat([F.linear(x, self.table[0].weight), self.class_proj(x)], dim=1)


class AdaptiveSoftmax(nn.Module):
    """fairseq's AdaptiveSoftmax with tied tables and projections (tie_adaptive_weights, tie_adaptive_proj); its
    dropout on the loss's input and inside each tail, between the projection and the table."""

    def __init__(self, adaptive_input, padding_idx, dropout=0.0):
        super().__init__()
        self.cutoff = adaptive_input.cutoff
        self.inputs = [adaptive_input]
        self.head = TiedHead(adaptive_input.embeddings[0][0], adaptive_input.dim, len(self.cutoff) - 1)
        self.padding_idx = padding_idx
        self.dropout = nn.Dropout(dropout)

    def tail(self, i, x):
        band = self.inputs[0].embeddings[i + 1]
        return F.linear(self.dropout(F.linear(x, band[1].weight.t())), band[0].weight)

    def log_prob(self, x):
        head = F.log_softmax(self.head(x), dim=1)
        c0 = self.cutoff[0]
        pieces = [head[:, :c0]]
        for i in range(len(self.cutoff) - 1):
            pieces.append(F.log_softmax(self.tail(i, x), dim=1) + head[:, c0 + i:c0 + i + 1])
        return torch.cat(pieces, dim=1)

    def nll_sum(self, x, target):
        """fairseq's AdaptiveLoss, with one correction: only the real padding id is ignored (fairseq's
        ignore_index also drops each tail's relative id padding_idx, a real word)."""
        x = self.dropout(x)
        target = target.reshape(-1)
        head_target = target.clone()
        loss = 0
        for i in range(len(self.cutoff) - 1):
            mask = target.ge(self.cutoff[i]) & target.lt(self.cutoff[i + 1])
            head_target[mask] = self.cutoff[0] + i
            if mask.any():
                rows = mask.nonzero().squeeze(1)
                loss = loss + F.cross_entropy(self.tail(i, x.index_select(0, rows)), target[mask] - self.cutoff[i],
                                              reduction="sum")
        return loss + F.cross_entropy(self.head(x), head_target, ignore_index=self.padding_idx, reduction="sum")


class Decoder(nn.Module):
    def __init__(self, vocab, dim, layers, heads, ffn, padding_idx, pre_ln, final_norm, activation, cutoffs,
                 quant_noise, dropout, attention_dropout, activation_dropout, adaptive_softmax_dropout,
                 fused_attention):
        super().__init__()
        self.padding_idx = padding_idx
        self.dim = dim
        self.table = None  # the sinusoidal positions, kept as fairseq keeps them: not a parameter or buffer
        if cutoffs:
            self.embed_tokens = AdaptiveInput(vocab, dim, cutoffs, 4.0, padding_idx)
        else:
            self.embed_tokens = nn.Embedding(vocab, dim, padding_idx)
        if quant_noise and not cutoffs:
            self.quant_noise = nn.Linear(dim, dim, bias=False)
        self.layers = nn.ModuleList([DecoderLayer(dim, heads, ffn, pre_ln, activation, dropout, attention_dropout,
                                                  activation_dropout, fused_attention) for _ in range(layers)])
        if pre_ln and final_norm:
            self.layer_norm = nn.LayerNorm(dim)
        if cutoffs:
            self.adaptive_softmax = AdaptiveSoftmax(self.embed_tokens, padding_idx, adaptive_softmax_dropout)
        self.dropout_module = nn.Dropout(dropout)

    def positions_table(self, length, like):
        """Rows for every position of `length` tokens, made again only for a longer input or another device (each
        row is the same whatever the table's length)."""
        rows = self.padding_idx + 1 + length
        if self.table is None or self.table.shape[0] < rows or self.table.device != like.device:
            self.table = sinusoidal_table(rows, self.dim, self.padding_idx).to(like.device)
        return self.table.to(like.dtype)

    def features(self, tokens):
        x = math.sqrt(self.dim) * self.embed_tokens(tokens)
        if hasattr(self, "quant_noise"):
            x = self.quant_noise(x)
        x = self.dropout_module(x + self.positions_table(tokens.shape[1], x)[make_positions(tokens, self.padding_idx)])
        padding = tokens.eq(self.padding_idx)
        padding = padding if padding.any() else None
        for layer in self.layers:
            x = layer(x, padding)
        return self.layer_norm(x) if hasattr(self, "layer_norm") else x


class TransformerLM(nn.Module):
    """forward(tokens) -> logits (plain tied output) or log-probabilities (adaptive softmax);
    loss(tokens, target) -> mean negative log-likelihood over the non-padding targets. The dropouts are fairseq's
    dropout, attention_dropout, activation_dropout and adaptive_softmax_dropout."""

    def __init__(self, vocab, dim, layers, heads, ffn, padding_idx=1, pre_ln=True, final_norm=True,
                 activation="relu", cutoffs=None, quant_noise=False, dropout=0.0, attention_dropout=0.0,
                 activation_dropout=0.0, adaptive_softmax_dropout=0.0, fused_attention=False):
        super().__init__()
        self.decoder = Decoder(vocab, dim, layers, heads, ffn, padding_idx, pre_ln, final_norm, activation,
                               cutoffs, quant_noise, dropout, attention_dropout, activation_dropout,
                               adaptive_softmax_dropout, fused_attention)

    def output(self, h):
        d = self.decoder
        if hasattr(d, "adaptive_softmax"):
            n, t, _ = h.shape
            return d.adaptive_softmax.log_prob(h.reshape(n * t, -1)).view(n, t, -1)
        return F.linear(h, d.embed_tokens.weight)

    def forward(self, tokens):
        return self.output(self.decoder.features(tokens))

    def loss(self, tokens, target):
        d = self.decoder
        h = d.features(tokens)
        count = target.ne(d.padding_idx).sum()
        if hasattr(d, "adaptive_softmax"):
            return d.adaptive_softmax.nll_sum(h.reshape(-1, h.shape[-1]), target) / count
        logits = self.output(h)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                               ignore_index=d.padding_idx, reduction="sum") / count


# --- Hugging Face's RoBERTa (RobertaForMaskedLM / RobertaForSequenceClassification), plus fairseq's
# Quant-Noise embedding Linear


class Holder(nn.Module):
    """Names children as Hugging Face nests them (attention.self, attention.output, ...)."""

    def __init__(holder, **children):  # noqa: N805 - "self" is one of Hugging Face's child names
        super().__init__()
        for name, child in children.items():
            setattr(holder, name, child)


class RobertaEmbeddings(nn.Module):
    def __init__(self, vocab, dim, positions, padding_idx, quant_noise, dropout):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim, padding_idx)
        self.position_embeddings = nn.Embedding(positions, dim, padding_idx)
        self.LayerNorm = nn.LayerNorm(dim, eps=1e-5)
        self.dropout = nn.Dropout(dropout)
        if quant_noise:
            self.quant_noise = nn.Linear(dim, dim, bias=False)
        self.padding_idx = padding_idx

    def forward(self, ids):
        x = self.word_embeddings(ids) + self.position_embeddings(make_positions(ids, self.padding_idx))
        x = self.dropout(self.LayerNorm(x))
        return self.quant_noise(x) if hasattr(self, "quant_noise") else x


class RobertaLayer(nn.Module):
    """Hugging Face's: hidden dropout after the attention's output dense and after the output dense, attention
    dropout on the probabilities."""

    def __init__(self, dim, heads, ffn, hidden_dropout=0.0, attention_dropout=0.0, fused_attention=False):
        super().__init__()
        self.attention = Holder(self=Holder(query=nn.Linear(dim, dim), key=nn.Linear(dim, dim),
                                            value=nn.Linear(dim, dim), dropout=nn.Dropout(attention_dropout)),
                                output=Holder(dense=nn.Linear(dim, dim), LayerNorm=nn.LayerNorm(dim, eps=1e-5),
                                              dropout=nn.Dropout(hidden_dropout)))
        self.intermediate = Holder(dense=nn.Linear(dim, ffn))
        self.output = Holder(dense=nn.Linear(ffn, dim), LayerNorm=nn.LayerNorm(dim, eps=1e-5),
                             dropout=nn.Dropout(hidden_dropout))
        self.heads = heads
        self.fused = fused_attention

    def forward(self, x, padding):
        n, t, d = x.shape
        a = self.attention.self

        def split(y):
            return y.view(n, t, self.heads, d // self.heads).transpose(1, 2)

        if self.fused:
            context = fused_attention(split(a.query(x)), split(a.key(x)), split(a.value(x)), padding, False, a.dropout)
        else:
            scores = split(a.query(x)) @ split(a.key(x)).transpose(-1, -2) / math.sqrt(d // self.heads)
            if padding is not None:
                scores = scores.masked_fill(padding.view(n, 1, 1, t), float("-inf"))
            context = a.dropout(F.softmax(scores, dim=-1)) @ split(a.value(x))
        context = context.transpose(1, 2).reshape(n, t, d)
        out = self.attention.output
        h = out.LayerNorm(out.dropout(out.dense(context)) + x)
        inner = F.gelu(self.intermediate.dense(h))
        return self.output.LayerNorm(self.output.dropout(self.output.dense(inner)) + h)


class RobertaModel(nn.Module):
    def __init__(self, vocab, dim, layers, heads, ffn, positions, padding_idx, quant_noise, hidden_dropout=0.0,
                 attention_dropout=0.0, fused_attention=False):
        super().__init__()
        self.embeddings = RobertaEmbeddings(vocab, dim, positions, padding_idx, quant_noise, hidden_dropout)
        self.encoder = Holder(layer=nn.ModuleList([RobertaLayer(dim, heads, ffn, hidden_dropout, attention_dropout,
                                                                fused_attention) for _ in range(layers)]))
        self.padding_idx = padding_idx

    def forward(self, ids):
        x = self.embeddings(ids)
        padding = ids.eq(self.padding_idx)
        padding = padding if padding.any() else None
        for layer in self.encoder.layer:
            x = layer(x, padding)
        return x


class RobertaLMHead(nn.Module):
    def __init__(self, dim, vocab, tied):
        super().__init__()
        self.dense = nn.Linear(dim, dim)
        self.layer_norm = nn.LayerNorm(dim, eps=1e-5)
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.tied = [tied]

    def forward(self, h):
        return F.linear(self.layer_norm(F.gelu(self.dense(h))), self.tied[0].weight) + self.bias


class RobertaClassificationHead(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.dense = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, classes)

    def forward(self, h):
        return self.out_proj(torch.tanh(self.dense(h[:, 0, :])))


class Roberta(nn.Module):
    """forward(ids) -> MLM logits (with the LM head) or class logits; mlm_loss(ids, target) ignores -100;
    classification_loss(ids, labels). The dropouts are Hugging Face's hidden_dropout_prob and
    attention_probs_dropout_prob."""

    def __init__(self, vocab, dim, layers, heads, ffn, positions, padding_idx=1, lm_head=True, num_classes=0,
                 quant_noise=False, hidden_dropout=0.0, attention_probs_dropout=0.0, fused_attention=False):
        super().__init__()
        self.roberta = RobertaModel(vocab, dim, layers, heads, ffn, positions, padding_idx, quant_noise,
                                    hidden_dropout, attention_probs_dropout, fused_attention)
        if lm_head:
            self.lm_head = RobertaLMHead(dim, vocab, self.roberta.embeddings.word_embeddings)
        if num_classes:
            self.classifier = RobertaClassificationHead(dim, num_classes)

    def forward(self, ids):
        h = self.roberta(ids)
        return self.lm_head(h) if hasattr(self, "lm_head") else self.classifier(h)

    def mlm_loss(self, ids, target):
        """The mean cross-entropy over the targets that are not -100, with the LM head on those rows only, as
        fairseq's masked_lm runs it (features[masked_tokens]): its vocabulary-wide product costs what the masked
        tokens need. No target: NaN, as the full-output loss gives."""
        scored = target.ne(-100)
        return F.cross_entropy(self.lm_head(self.roberta(ids)[scored]), target[scored])

    def classification_loss(self, ids, labels):
        return F.cross_entropy(self.classifier(self.roberta(ids)), labels)
