"""Our Muon must take the steps torch.optim.Muon takes, only in fp32."""
import torch

from model_server.muon import Muon, orthogonalise


def test_orthogonalise_pushes_singular_values_towards_one():
    torch.manual_seed(0)
    update = torch.randn(64, 256) * torch.logspace(-3, 1, 256)  # badly conditioned on purpose
    singular = torch.linalg.svdvals(orthogonalise(update, steps=5, dtype=torch.float32))
    assert singular.min() > 0.4 and singular.max() < 1.6  # the quintic's known band, not exactly 1


def test_steps_match_torch_muon():
    torch.manual_seed(0)
    ours = torch.nn.Parameter(torch.randn(96, 48))
    theirs = torch.nn.Parameter(ours.detach().clone())
    opt_ours = Muon([ours], lr=0.02, weight_decay=0.1)
    opt_theirs = torch.optim.Muon([theirs], lr=0.02, weight_decay=0.1)
    start = ours.detach().clone()
    for _ in range(3):
        grad = torch.randn(96, 48)
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        opt_ours.step()
        opt_theirs.step()
    moved = (ours.detach() - start).norm()
    assert moved > 0.1
    # torch runs the iteration in bf16: agreement to bf16 precision, relative to the distance moved
    assert (ours.detach() - theirs.detach()).norm() / moved < 0.02


def test_a_weight_stored_in_out_steps_like_its_transpose_stored_out_in():
    # GPT-2's Conv1D keeps (in, out): with fan_out_dim=1 its steps are those of nn.Linear's
    # (out, in) weight, transposed, so a tall layer is not taken for a wide one.
    torch.manual_seed(0)
    linear = torch.nn.Parameter(torch.randn(96, 48))           # (out, in)
    conv1d = torch.nn.Parameter(linear.detach().T.clone())      # (in, out)
    opt_linear = Muon([linear], lr=0.02)
    opt_conv1d = Muon([conv1d], lr=0.02, fan_out_dim=1)
    for _ in range(3):
        grad = torch.randn(96, 48)
        linear.grad, conv1d.grad = grad.clone(), grad.T.clone()
        opt_linear.step()
        opt_conv1d.step()
    assert torch.allclose(linear.detach(), conv1d.detach().T, atol=1e-5)
