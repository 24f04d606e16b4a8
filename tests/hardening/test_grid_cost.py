"""Found by hostile input (issue 16, section 4, item 3): training.grid_points=4096 in 2-D is 16.8 million
quadrature cells, evaluated at the start and every eval_every steps: the run hung for over a minute. Every
setting whose grid costs points**dim is now capped (ebmlab.core.grid.MAX_QUADRATURE_CELLS) with a ConfigError
naming the field and the limit, refused when the preset is read where the model states its dimension, and
where the experiment meets the model otherwise (an expression's inferred dimension, a change made live)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from ebmlab.cli import main
from ebmlab.config.presets import BUNDLED_DIR, load_preset
from ebmlab.config.schema import experiment_from_dict
from ebmlab.core.energies.base import Energy
from ebmlab.core.errors import ConfigError
from ebmlab.core.evaluation import ExactEvaluator
from ebmlab.core.grid import MAX_QUADRATURE_CELLS, check_grid_cost
from ebmlab.core.live import apply_live
from ebmlab.core.space import ContinuousSpace
from ebmlab.core.trainer import Trainer

LIMIT_2D = (
    "training.grid_points: 4,096 per dimension in 2-D is 16,777,216 grid cells; "
    "the limit is 2,097,152 cells (1,448 per dimension in 2-D, 128 in 3-D)"
)


def welcome(**sections) -> dict:
    """Lesson 0 (a 2-D MLP energy), shrunk, with sections replaced or updated."""
    raw = json.loads((BUNDLED_DIR / "00_welcome.json").read_text("utf-8"))
    raw["chains"]["n"] = 8
    raw["estimator"]["n_chains"] = 8
    raw["data"]["n"] = 200
    for name, value in sections.items():
        raw[name] = value
    return raw


def test_the_message_names_the_field_the_cells_and_the_limit() -> None:
    with pytest.raises(ConfigError) as info:
        check_grid_cost(4096, 2, "training.grid_points")
    assert str(info.value) == LIMIT_2D
    check_grid_cost(1448, 2, "x")
    check_grid_cost(128, 3, "x")
    check_grid_cost(4096, 1, "x")
    with pytest.raises(ConfigError, match="129 per dimension in 3-D is 2,146,689 grid cells"):
        check_grid_cost(129, 3, "x")


def test_training_grid_points_4096_in_2d_is_refused_when_the_preset_is_read(tmp_path: Path) -> None:
    """Today the preset loaded and Trainer(...) spent ~9 s per exact evaluation (820 MB) on it."""
    p = tmp_path / "p.json"
    p.write_text(json.dumps(welcome(training={"grid_points": 4096, "dtype": "float32"})))
    with pytest.raises(ConfigError) as info:
        load_preset(p)
    assert str(info.value) == f"p.json: {LIMIT_2D}"


@pytest.mark.parametrize(
    "section, value, field",
    [
        ("data", {"kind": "energy", "expression": "x**2 + y**2", "n": 50, "grid_points": 4096}, "data.grid_points"),
        ("estimator", {"name": "mle", "grid_points": 4096}, "estimator.grid_points"),
        ("sampler", {"name": "grid", "grid_points": 2048}, "sampler.grid_points"),
    ],
    ids=["data-energy", "estimator-mle", "sampler-grid"],
)
def test_other_grids_are_capped_naming_their_field(section: str, value: dict, field: str) -> None:
    raw = welcome(**{section: value})
    with pytest.raises(ConfigError, match=rf"^{field}: .* per dimension in 2-D is .* grid cells; the limit is"):
        experiment_from_dict(raw)


def test_pseudolikelihood_grid_is_one_dimensional_and_not_capped() -> None:
    """PL integrates each 1-D conditional: grid_points, not grid_points**dim, points per conditional."""
    experiment_from_dict(welcome(estimator={"name": "pl", "grid_points": 4096}))


def test_an_inferred_3d_expression_is_refused_where_the_model_is_built() -> None:
    """The schema cannot see an expression's dimension (no model.dim): the Trainer refuses it."""
    raw = welcome(
        model={"kind": "expression", "expression": "a*(x**2 + y**2 + z**2)", "params": {"a": 1.0}},
        data={"kind": "points", "points": [[0, 0, 0], [1, 1, 1], [0.5, 0, -0.5]]},
        training={"grid_points": 200},
    )
    exp = experiment_from_dict(raw)
    with pytest.raises(ConfigError, match=r"^training\.grid_points: 200 per dimension in 3-D is 8,000,000 grid"):
        Trainer(exp)


def test_a_live_change_is_refused_and_rolled_back() -> None:
    """A change that bypasses the schema (the core's own check) leaves the run exactly as it was."""
    t = Trainer(experiment_from_dict(welcome(training={"grid_points": 64, "dtype": "float32"})))
    old = t.exp
    new = dataclasses.replace(old, training=dataclasses.replace(old.training, grid_points=4096))
    with pytest.raises(ConfigError, match=r"^training\.grid_points: 4,096 per dimension in 2-D"):
        apply_live(t, new)
    assert t.exp is old and t.evaluator.grid_points == 64
    assert t.step()


class CountingBowl(Energy):
    """E(x) = |x|^2 / 2 on [-3, 3]^3, counting the points it is evaluated at."""

    def __init__(self) -> None:
        super().__init__(ContinuousSpace(3, ((-3.0, 3.0),) * 3))
        self.evaluated = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.evaluated += x.shape[0]
        return 0.5 * (x * x).sum(-1)


def test_the_3d_landscape_at_view_grid_512_stays_within_the_cap() -> None:
    """view.grid <= 512 is the x-y resolution of the slice; in 3-D the z axis only normalises it. Today the
    landscape evaluated 512 x 512 x 128 = 33.5 million points for one slice; now z is coarsened to the cap."""
    energy = CountingBowl()
    land = ExactEvaluator(energy).landscape(0, 0, grid=512)
    assert land.energy.shape == (512, 512)
    assert energy.evaluated <= MAX_QUADRATURE_CELLS
    assert torch.isfinite(torch.as_tensor(land.energy)).all()


def test_logz_grid_option_names_the_option(capsys) -> None:
    assert main(["logz", "--energy", "x**2 + y**2", "--grid", "8000"]) == 2
    err = capsys.readouterr().err
    assert "--grid: 8,000 per dimension in 2-D is 64,000,000 grid cells; the limit is 33,554,432 cells" in err
    assert main(["logz", "--energy", "x**2 + y**2", "--grid", "-3"]) == 2
    assert "--grid: points per dimension must be >= 2" in capsys.readouterr().err
