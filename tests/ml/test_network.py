"""The network and its training with torch: shapes and the padding round trip, the loss
counting only undrawn slices, and training that is reproducible from its seed (seconds)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is a dependency: pip install torch==2.13.0")

from synanno_dash.ml.network import NetworkShape, UNet3D  # noqa: E402
from synanno_dash.ml.predict import (  # noqa: E402
    load_model,
    network_probabilities,
    padded_to,
    save_model,
)
from synanno_dash.ml.samples import CropPlan, LabelledStack  # noqa: E402
from synanno_dash.ml.train import TrainingPlan, completion_loss, train  # noqa: E402

SMALL = NetworkShape(widths=(8, 8), groups=2)


def small_network(seed: int = 0) -> UNet3D:
    torch.manual_seed(seed)
    return UNet3D(SMALL).eval()


@pytest.mark.parametrize("shape", [(1, 5, 7), (3, 37, 50), (4, 16, 33), (2, 8, 8)])
def test_output_has_the_crop_shape_for_any_size(shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(0)
    em = rng.integers(0, 256, size=shape, dtype=np.uint8)
    drawn = rng.integers(0, 2, size=shape).astype(bool)
    p = network_probabilities(small_network(), em, drawn, [0])
    assert p.shape == shape and p.dtype == np.float32
    assert np.all((p >= 0) & (p <= 1))


def test_padding_then_cropping_back_equals_running_on_the_padded_crop() -> None:
    network = small_network()
    rng = np.random.default_rng(1)
    em = rng.integers(0, 256, size=(3, 21, 30), dtype=np.uint8)
    drawn = np.zeros(em.shape, dtype=bool)
    drawn[1, 5:15, 5:20] = True
    stride = SMALL.xy_stride
    pad = ((0, 0), (0, padded_to(21, stride) - 21), (0, padded_to(30, stride) - 30))
    padded = network_probabilities(network, np.pad(em, pad, "symmetric"), np.pad(drawn, pad), [1])
    assert padded.shape[1] % stride == 0 and padded.shape[2] % stride == 0
    assert np.allclose(network_probabilities(network, em, drawn, [1]), padded[:, :21, :30])


def test_the_loss_ignores_drawn_slices() -> None:
    logits = torch.zeros(1, 1, 3, 4, 4)
    truth = torch.zeros(1, 1, 3, 4, 4)
    undrawn = torch.ones(1, 1, 3, 4, 4)
    undrawn[:, :, 1] = 0
    base = completion_loss(logits, truth, undrawn)
    logits[:, :, 1] = 50.0  # confidently wrong on the drawn slice only
    assert torch.isclose(completion_loss(logits, truth, undrawn), base)
    logits[:, :, 0] = 50.0  # and on an undrawn one
    assert completion_loss(logits, truth, undrawn) > base + 1


def _tiny_stack() -> LabelledStack:
    """EM with a dark band along each cleft, one training cleft (x < 512, y < 768), one
    validation cleft (y >= 768) and one held-out cleft (x >= 512)."""
    rng = np.random.default_rng(3)
    em = rng.integers(120, 200, size=(5, 1024, 1024), dtype=np.uint8)
    clefts = np.zeros(em.shape, dtype=np.int32)
    for cleft_id, (y, x) in enumerate([(300, 200), (900, 200), (300, 800)], start=1):
        clefts[1:4, y - 3 : y + 3, x - 20 : x + 20] = cleft_id
        em[1:4, y - 3 : y + 3, x - 20 : x + 20] = 40
    return LabelledStack(em, clefts, "tiny")


def test_training_is_reproducible_from_its_seed() -> None:
    plan = TrainingPlan(steps=2, cases_per_step=1, validate_every=2, max_minutes=60,
                        crops=CropPlan(size_px=32, jitter_px=4))  # fmt: skip
    stack = _tiny_stack()

    def weights(seed: int) -> list[np.ndarray]:
        result = train(stack, [], TrainingPlan(**{**plan.__dict__, "seed": seed}))
        return [v.detach().numpy().copy() for v in result.network.state_dict().values()]

    first, again, other = weights(5), weights(5), weights(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_a_saved_network_loads_with_its_shape_and_the_same_output(tmp_path) -> None:
    shape = NetworkShape(widths=(8, 16), groups=2, fold=2, negative_slope=0.2)
    torch.manual_seed(1)
    network = UNet3D(shape).eval()
    save_model(tmp_path / "w.pt", network, (4.6, 4.6, 50.0), {"seed": 1})
    loaded = load_model(tmp_path / "w.pt")
    assert loaded.network.shape == shape
    em = np.random.default_rng(0).integers(0, 256, (3, 20, 24), dtype=np.uint8)
    drawn = np.zeros(em.shape, dtype=bool)
    drawn[1, 5:9, 5:12] = True
    expected = network_probabilities(network.half().float(), em, drawn, [1])
    got = network_probabilities(loaded.network, em, drawn, [1])
    assert np.allclose(got, expected, atol=1e-5)


def test_a_shape_saved_before_fold_and_slope_existed_is_the_v1_relu_network() -> None:
    shape = NetworkShape.from_json({"widths": [32, 64, 96], "groups": 4})
    assert shape.fold == 4 and shape.negative_slope == 0.0 and shape.xy_stride == 16
