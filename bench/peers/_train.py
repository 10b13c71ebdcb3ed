"""The training-step loop shared by the train_* peers (mirrors bench/bench_train_steps.cpp).

One iteration: zero_grad (set_to_none) + forward + cross-entropy + backward + AdamW.step, with
lr 1e-3 and weight decay 0.1 on parameters of 2 or more dimensions, none on the rest (OpenCLIP's
split, as train::weight_decay_groups).
"""
import torch
import torch.nn.functional as F


def adamw(model):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [g for g in ({"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0})
              if g["params"]]
    return torch.optim.AdamW(groups, lr=1e-3)


def image_setup(model, batch, size, classes=1000):
    model.train()
    g = torch.Generator().manual_seed(11)
    images = torch.rand((batch, 3, size, size), generator=g) * 2 - 1
    labels = torch.randint(0, classes, (batch,), generator=g)
    return model, adamw(model), lambda m: F.cross_entropy(m(images), labels)


def iteration(state):
    model, opt, loss_fn = state
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model)
    loss.backward()
    opt.step()
