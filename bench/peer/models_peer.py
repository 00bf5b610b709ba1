#!/usr/bin/python3
"""PyTorch peer of bench/models_bench.cpp: the same training steps (forward, cross-entropy, backward, AdamW)."""
import torch
import torchvision

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


if __name__ == "__main__":
    setup("PyTorch peer of bench_models")
    print(f"efficientnet_b0 step batch 8 224x224: {median_ms(efficientnet_b0_step(), min_time=5.0):10.1f} ms")
