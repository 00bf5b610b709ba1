#!/usr/bin/python3
"""PyTorch peer of bench/models_bench.cpp: the same training steps (forward, cross-entropy, backward, AdamW).
The sequence models are what a PyTorch user writes for them: nn.TransformerEncoderLayer (pre-LN for the
language model, post-LN with GELU for RoBERTa), tied embeddings, the same shapes and dropout."""
import math

import torch
import torchvision
from torch import nn

from peer_common import median_ms, setup


def efficientnet_b0_step():
    torch.manual_seed(0)
    net = torchvision.models.efficientnet_b0().train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    images = torch.randn(8, 3, 224, 224)
    labels = torch.randint(0, 1000, (8,))

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(images), labels)
        loss.backward()
        optimizer.step()

    return step


def sinusoidal(num, dim, padding_idx=1):
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000) / (half - 1)))
    angles = torch.arange(num, dtype=torch.float).unsqueeze(1) * freq.unsqueeze(0)
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    table[padding_idx] = 0
    return table


class LanguageModel(nn.Module):
    def __init__(self, vocab=32000, dim=512, heads=8, ffn=2048, layers=6, length=256):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=1)
        self.register_buffer("positions", sinusoidal(length + 2, dim)[2:])
        layer = nn.TransformerEncoderLayer(dim, heads, ffn, dropout=0.1, activation="relu", batch_first=True,
                                           norm_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(0.1)
        self.scale = math.sqrt(dim)
        self.mask = nn.Transformer.generate_square_subsequent_mask(length)

    def forward(self, tokens):
        x = self.dropout(self.scale * self.embed(tokens) + self.positions[: tokens.shape[1]])
        x = self.norm(self.layers(x, mask=self.mask))
        return nn.functional.linear(x, self.embed.weight)


class Roberta(nn.Module):
    def __init__(self, vocab=32000, dim=512, heads=8, ffn=2048, layers=6, positions=130):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=1)
        self.positions = nn.Embedding(positions, dim, padding_idx=1)
        self.embed_norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(dim, heads, ffn, dropout=0.1, activation="gelu", batch_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.dense = nn.Linear(dim, dim)
        self.head_norm = nn.LayerNorm(dim)
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, tokens):
        position_ids = torch.arange(2, tokens.shape[1] + 2).unsqueeze(0)
        x = self.dropout(self.embed_norm(self.embed(tokens) + self.positions(position_ids)))
        x = self.layers(x)
        h = self.head_norm(nn.functional.gelu(self.dense(x)))
        return nn.functional.linear(h, self.embed.weight) + self.bias


def sequence_step(model, tokens, targets):
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def step():
        optimizer.zero_grad()
        logits = model(tokens)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                           ignore_index=-100)
        loss.backward()
        optimizer.step()

    return step


def transformer_lm_step():
    torch.manual_seed(0)
    tokens = torch.randint(4, 32000, (8, 257))
    return sequence_step(LanguageModel(), tokens[:, :256].contiguous(), tokens[:, 1:].contiguous())


def roberta_mlm_step():
    torch.manual_seed(0)
    ids = torch.randint(4, 32000, (8, 128))
    targets = torch.full((8, 128), -100)
    targets.view(-1)[::7] = ids.view(-1)[::7]
    return sequence_step(Roberta(), ids, targets)


STEPS = {
    "efficientnet_b0": ("efficientnet_b0 step batch 8 224x224", efficientnet_b0_step),
    "transformer_lm": ("transformer_lm step batch 8x256", transformer_lm_step),
    "roberta_mlm": ("roberta mlm step batch 8x128", roberta_mlm_step),
}

if __name__ == "__main__":
    args = setup("PyTorch peer of bench_models",
                 lambda parser: parser.add_argument("--only", choices=sorted(STEPS), help="run one step only"))
    for key, (label, make_step) in STEPS.items():
        if args.only in (None, key):
            print(f"{label}: {median_ms(make_step(), min_time=5.0):10.1f} ms")
