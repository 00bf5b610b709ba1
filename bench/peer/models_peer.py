#!/usr/bin/python3
"""PyTorch peer of bench/models_bench.cpp: the same training steps (forward, loss, backward, AdamW), shapes and
dropout. The sequence models are tests/parity/reference_models.py, the plain fairseq / Hugging Face definitions
that the parity tests hold ours to, so both sides run one model: the language model's mean NLL over every token,
RoBERTa's LM head on the masked tokens only. The *_nn steps run the same sizes on nn.TransformerEncoder, what a
PyTorch user may write instead. EfficientNet-B0 is torchvision's."""
import math
import os
import sys

import torch
import torchvision
from torch import nn

from peer_common import median_ms, setup

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "parity"))
import reference_models  # noqa: E402 - found through the path above


def training_step(model, loss, inputs, targets):
    """One step of model in train mode: loss(inputs, targets), backward, AdamW (lr 1e-3, weight decay 0.01)."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def step():
        optimizer.zero_grad()
        loss(inputs, targets).backward()
        optimizer.step()

    return step


def lm_batch():
    """8 rows of 256 tokens in [4, 32000) (no padding) and the next tokens as targets."""
    tokens = torch.randint(4, 32000, (8, 257))
    return tokens[:, :256].contiguous(), tokens[:, 1:].contiguous()


def mlm_batch():
    """8 rows of 128 tokens; targets on every 7th token of the batch (~15%, as BM_RobertaMlmStep), -100 elsewhere."""
    ids = torch.randint(4, 32000, (8, 128))
    targets = torch.full((8, 128), -100)
    targets.view(-1)[::7] = ids.view(-1)[::7]
    return ids, targets


def transformer_lm_step():
    torch.manual_seed(0)
    model = reference_models.TransformerLM(32000, 512, 6, 8, 2048, pre_ln=True, final_norm=True, activation="relu",
                                           dropout=0.1, attention_dropout=0.1, activation_dropout=0.1)
    return training_step(model, model.loss, *lm_batch())


def roberta_mlm_step():
    torch.manual_seed(0)
    model = reference_models.Roberta(32000, 512, 6, 8, 2048, 130, lm_head=True, hidden_dropout=0.1,
                                     attention_probs_dropout=0.1)
    return training_step(model, model.mlm_loss, *mlm_batch())


def efficientnet_b0_step():
    torch.manual_seed(0)
    net = torchvision.models.efficientnet_b0()
    return training_step(net, lambda x, y: nn.functional.cross_entropy(net(x), y), torch.randn(8, 3, 224, 224),
                         torch.randint(0, 1000, (8,)))


# --- the same sizes on nn.TransformerEncoder (ddp_peer.py runs LanguageModel too)


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

    def loss(self, tokens, targets):
        logits = self(tokens)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


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

    def mlm_loss(self, ids, targets):
        position_ids = torch.arange(2, ids.shape[1] + 2).unsqueeze(0)
        x = self.layers(self.dropout(self.embed_norm(self.embed(ids) + self.positions(position_ids))))
        scored = targets.ne(-100)  # the LM head on the masked tokens only, as the reference model
        h = self.head_norm(nn.functional.gelu(self.dense(x[scored])))
        return nn.functional.cross_entropy(nn.functional.linear(h, self.embed.weight) + self.bias, targets[scored])


def transformer_lm_nn_step():
    torch.manual_seed(0)
    model = LanguageModel()
    return training_step(model, model.loss, *lm_batch())


def roberta_mlm_nn_step():
    torch.manual_seed(0)
    model = Roberta()
    return training_step(model, model.mlm_loss, *mlm_batch())


STEPS = {
    "transformer_lm": ("transformer_lm step batch 8x256", transformer_lm_step),
    "roberta_mlm": ("roberta mlm step batch 8x128", roberta_mlm_step),
    "efficientnet_b0": ("efficientnet_b0 step batch 8 224x224", efficientnet_b0_step),
    "transformer_lm_nn": ("transformer_lm step batch 8x256, nn.TransformerEncoder", transformer_lm_nn_step),
    "roberta_mlm_nn": ("roberta mlm step batch 8x128, nn.TransformerEncoder", roberta_mlm_nn_step),
}

if __name__ == "__main__":
    def arguments(parser):
        parser.add_argument("--only", choices=sorted(STEPS), help="run one step only")
        parser.add_argument("--min-time", type=float, default=5.0, help="seconds of timed steps for each row")

    args = setup("PyTorch peer of bench_models", arguments)
    for key, (label, make_step) in STEPS.items():
        if args.only in (None, key):
            print(f"{label}: {median_ms(make_step(), min_time=args.min_time):10.1f} ms", flush=True)
