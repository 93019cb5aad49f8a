import pytest
import torch
import torch.nn.functional as F

from gdn.networks import Detector, Discriminator, Generator, corrupt, count_parameters


def test_parameter_counts_match_the_official_layer_tables():
    assert count_parameters(Generator()) == 10_779_328
    assert count_parameters(Detector()) == 2_267_490


def test_generator_has_no_conv_bias_and_affine_instance_norm():
    g = Generator()
    convs = [m for m in g.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(convs) == 3 + 16 + 3 and all(m.bias is None for m in convs)
    norms = [m for m in g.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 2 + 16 + 2 + 1 and all(m.affine for m in norms)


@pytest.mark.parametrize("size", [64, 256])
def test_shapes_and_ranges(size):
    torch.manual_seed(0)
    g, d = Generator(), Detector()
    image = torch.rand(1, 3, size, size)
    mask = (torch.rand(1, 1, size, size) > 0.7).float()
    with torch.no_grad():
        pred = g(image, mask)
        prob = d(pred)
    assert pred.shape == (1, 3, size, size) and prob.shape == (1, 1, size, size)
    assert 0 <= pred.min() and pred.max() <= 1
    assert 0 <= prob.min() and prob.max() <= 1


def test_non_square_sizes_that_are_multiples_of_four():
    g, d = Generator(width=8, res_blocks=1), Detector()
    x = torch.rand(2, 3, 36, 52)
    m = torch.zeros(2, 1, 36, 52)
    with torch.no_grad():
        assert g(x, m).shape == x.shape
        assert d(x).shape == (2, 1, 36, 52)


def test_pixels_under_the_hole_cannot_change_the_output():
    g = Generator(width=16, res_blocks=2).eval()
    image = torch.rand(1, 3, 64, 64)
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 10:40, 20:50] = 1
    other = image.clone()
    other[mask.expand_as(other) == 1] = torch.rand(int(mask.sum()) * 3)
    with torch.no_grad():
        assert torch.equal(g(image, mask), g(other, mask))
    # and a changed valid pixel does change it: the test can fail
    other[..., 0, 0] = 1 - other[..., 0, 0]
    with torch.no_grad():
        assert not torch.equal(g(image, mask), g(other, mask))


def test_corrupted_input_fills_holes_white():
    image = torch.rand(1, 3, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4, :] = 1
    out = corrupt(image, mask)
    assert torch.all(out[..., :4, :] == 1) and torch.equal(out[..., 4:, :], image[..., 4:, :])


def test_detector_same_padding_matches_tensorflow():
    # TF 'SAME' with k=4, s=1 pads 1 before and 2 after: check conv1 against an explicit pad.
    d = Detector()
    x = torch.rand(1, 3, 16, 16)
    conv = d.trunk[1]
    ref = F.conv2d(F.pad(x, (1, 2, 1, 2)), conv.weight, conv.bias)
    assert torch.allclose(d.trunk[:2](x), ref)
    assert ref.shape[-2:] == (16, 16)


def test_detector_probability_is_the_softmax_hole_channel():
    d = Detector()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        logits = d.logits(x)
        assert logits.shape == (2, 2, 32, 32)
        assert torch.allclose(d(x), torch.sigmoid(logits[:, 1:2] - logits[:, 0:1]), atol=1e-6)


def test_discriminator_outputs_one_scalar_per_image():
    assert Discriminator()(torch.rand(3, 3, 32, 32)).shape == (3,)


def test_norm_none_keeps_every_conv_and_lets_the_brightness_through():
    g_in, g_none = Generator(width=8, res_blocks=1), Generator(width=8, res_blocks=1, norm="none")
    convs = {k for k in g_in.state_dict() if "weight" in k and g_in.state_dict()[k].dim() == 4}
    assert convs == set(g_none.state_dict())  # same conv keys; only the norms' affine parameters are gone
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 1, 32, 32)  # no hole, so the network's input is the photo itself
    with torch.no_grad():
        # instance norms are scale invariant: a darker copy of the photo gives the same output
        assert torch.allclose(g_in(image, mask), g_in(0.5 * image, mask), atol=1e-4)
        # without them (and without biases) the pre-tanh output scales with the photo: brightness gets through
        pre = lambda x: torch.atanh((2 * g_none(x, mask) - 1).clamp(-1 + 1e-6, 1 - 1e-6))
        assert torch.allclose(pre(0.5 * image), 0.5 * pre(image), atol=1e-4)
    with pytest.raises(ValueError, match="unknown generator norm"):
        Generator(norm="batch")


def test_push_pull_fills_each_hole_from_its_own_border_and_keeps_valid_pixels():
    from gdn.baselines import push_pull

    image = torch.zeros(1, 3, 40, 56)
    image[:, 0, :, :28] = 1.0  # left half red
    image[:, 2, :, 28:] = 1.0  # right half blue
    mask = torch.zeros(1, 1, 40, 56)
    mask[..., 10:20, 4:14] = 1  # a hole well inside the red half
    mask[..., 22:30, 40:50] = 1  # and one inside the blue half
    fill = push_pull(image, mask)
    assert torch.equal(fill * (1 - mask), image * (1 - mask))  # valid pixels come back as they were
    assert torch.allclose(fill[0, :, 10:20, 4:14], image[0, :, 10:20, 4:14], atol=1e-5)  # red, not the mean
    assert torch.allclose(fill[0, :, 22:30, 40:50], image[0, :, 22:30, 40:50], atol=1e-5)  # blue


def test_harmonic_fill_continues_a_ramp_across_a_hole_where_push_pull_leaves_steps():
    from gdn.baselines import harmonic, push_pull

    ramp = torch.linspace(0.1, 0.9, 48).view(1, 1, 1, 48).expand(1, 3, 48, 48).clone()  # (1,3,H,W)
    mask = torch.zeros(1, 1, 48, 48)
    mask[..., 12:36, 10:38] = 1
    fill = harmonic(ramp, mask, iters=30)
    assert torch.equal(fill * (1 - mask), ramp * (1 - mask))
    err = ((fill - ramp) * mask).abs().max()
    assert err < 0.02  # a linear function is harmonic: the fill recovers it
    assert err < ((push_pull(ramp, mask) - ramp) * mask).abs().max() / 3


def test_a_new_residual_generator_is_its_harmonic_anchor_and_loads_the_papers_keys():
    from gdn.anchored import ResidualGenerator, smooth_anchor
    from gdn.baselines import harmonic

    g = ResidualGenerator(width=8, res_blocks=1, norm="none")
    assert set(g.state_dict()) == set(Generator(width=8, res_blocks=1, norm="none").state_dict())
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 32, 32, generator=gen) * 0.6 + 0.2
    mask = torch.zeros(2, 1, 32, 32)
    mask[0, :, 4:20, 6:30] = 1
    mask[1, :, 10:14, :] = 1
    with torch.no_grad():
        out = g(image, mask)  # zero-initialised last layer: the output is the anchor
    assert torch.allclose(out, smooth_anchor(harmonic(image, mask), mask), atol=1e-6)


def test_residual_generator_follows_a_colour_shift_of_its_input_exactly():
    from gdn.anchored import ResidualGenerator

    torch.manual_seed(0)
    g = ResidualGenerator(width=8, res_blocks=1, norm="none")
    torch.nn.init.normal_(g.decoder[-1].weight, std=0.05)  # a trained-looking network, not its anchor
    gen = torch.Generator().manual_seed(1)
    image = torch.rand(1, 3, 32, 32, generator=gen) * 0.4 + 0.3
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:20] = 1
    shift = torch.tensor([0.15, -0.2, 0.05]).view(1, 3, 1, 1)  # a tint: every channel moved by its own offset
    with torch.no_grad():
        out, moved = g(image, mask), g(image + shift, mask)
    assert (out - g.decoder[-1].weight.new_zeros(())).abs().sum() > 0
    assert torch.allclose(moved, out + shift, atol=1e-5)  # the fill moves with the photo: no colour prior
    hole = mask.bool().expand_as(out)
    assert (out[hole] - image[hole]).abs().mean() > 0  # and it is not the ground truth: the hole is unseen


def test_build_generator_picks_the_class_by_colour_anchor():
    from gdn.anchored import ANCHORS, ResidualGenerator, SplineResidualGenerator, build_generator
    from gdn.config import resolve

    kinds = {"none": Generator, "residual": ResidualGenerator, "spline": SplineResidualGenerator}
    assert set(ANCHORS) == set(kinds)
    for kind, cls in kinds.items():
        g = build_generator(resolve("smoke", {"colour_anchor": kind}))
        assert type(g) is cls and g.width == 16 and g.res_blocks == 2
