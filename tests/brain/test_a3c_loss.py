"""The A3C loss: returns, advantages and the per-step policy gradient (2017 bugs 1 and 2)."""

import torch

from brain.training.a3c import a3c_loss, advantages_and_returns
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop


def brute_force_nstep_returns(rewards, dones, bootstrap, gamma):
    T = len(rewards)
    out = []
    for t in range(T):
        ret, discount = 0.0, 1.0
        for u in range(t, T):
            ret += discount * rewards[u]
            if dones[u]:
                break
            discount *= gamma
        else:
            ret += discount * bootstrap
        out.append(ret)
    return out


def test_lambda_one_gives_the_n_step_returns_with_episode_ends():
    gen = torch.Generator().manual_seed(0)
    rewards = torch.randn(7, 1, generator=gen)
    dones = torch.tensor([0, 0, 1, 0, 0, 0, 0], dtype=torch.float32)[:, None]
    values = torch.randn(7, 1, generator=gen)
    _, returns = advantages_and_returns(rewards, values, dones, torch.tensor([0.7]), 0.9, 1.0)
    expected = brute_force_nstep_returns(rewards[:, 0].tolist(), dones[:, 0].tolist(), 0.7, 0.9)
    torch.testing.assert_close(returns[:, 0], torch.tensor(expected))


def test_gae_lambda_zero_is_the_one_step_td_error():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [0.2], [0.1]])
    dones = torch.zeros(3, 1)
    advantages, _ = advantages_and_returns(rewards, values, dones, torch.tensor([0.3]), 0.9, 0.0)
    next_values = torch.tensor([[0.2], [0.1], [0.3]])
    torch.testing.assert_close(advantages, rewards + 0.9 * next_values - values)


def test_policy_gradient_weights_each_step_by_its_own_advantage_only():
    """2017 bug 2: every step was weighted by the whole batch's summed advantage."""
    T, A = 5, 3
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(T, 1, A, generator=gen, requires_grad=True)
    values = torch.randn(T, 1, generator=gen, requires_grad=True)
    actions = torch.randint(0, A, (T, 1), generator=gen)
    advantages = torch.randn(T, 1, generator=gen)
    cfg = TrainConfig(entropy_coef=0.0, value_coef=0.0)
    loss, _ = a3c_loss(logits, values, actions, advantages, advantages + values.detach(), {}, {}, cfg)
    loss.backward()
    probs = logits.detach().softmax(-1)
    onehot = torch.nn.functional.one_hot(actions, A).float()
    expected = -(advantages[..., None] / T) * (onehot - probs)
    torch.testing.assert_close(logits.grad, expected)
    assert values.grad is None or torch.all(values.grad == 0), "the advantage must be detached"


def test_auxiliary_losses_enter_with_their_configured_weight_and_are_logged():
    logits = torch.zeros(2, 1, 3, requires_grad=True)
    values = torch.zeros(2, 1, requires_grad=True)
    aux_param = torch.tensor(2.0, requires_grad=True)
    cfg = TrainConfig(entropy_coef=0.0, value_coef=0.0)
    loss, terms = a3c_loss(logits, values, torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, 1), torch.zeros(2, 1),
                           {"entorhinal/head_direction": aux_param * 3.0}, {"entorhinal/head_direction": 0.25}, cfg)
    loss.backward()
    assert aux_param.grad.item() == 0.75
    assert terms["loss/entorhinal/head_direction"] == 6.0


def test_shared_rmsprop_matches_torch_rmsprop():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(4, 2), torch.nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    ours = SharedRMSprop(a.parameters(), lr=1e-2, alpha=0.99, eps=0.1).share_memory()
    reference = torch.optim.RMSprop(b.parameters(), lr=1e-2, alpha=0.99, eps=0.1)
    for _ in range(5):
        x = torch.randn(8, 4)
        for model, opt in ((a, ours), (b, reference)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
    assert all(s["square_avg"].is_shared() for s in ours.state.values())
