"""Parsing and describing ``-p/--step`` arguments."""

import pytest

from napari_thunder import cli
from napari_thunder.cli.steps import STATISTICS, STEPS, describe_steps


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mean", ("mean", {})),
        ("gaussian_filter:sigma=2", ("gaussian_filter", {"sigma": 2})),
        ("gaussian_filter:1.5", ("gaussian_filter", {"sigma": 1.5})),
        ("gaussian_filter:sigma=(2,2,0),order=0", ("gaussian_filter", {"sigma": (2, 2, 0), "order": 0})),
        ("median_filter:size=[3, 3]", ("median_filter", {"size": [3, 3]})),
        ("subsample:factor=2", ("subsample", {"factor": 2})),
        ("subtract:val=-100", ("subtract", {"val": -100})),
        ("localcorr:neighborhood=2", ("localcorr", {"neighborhood": 2})),
        ("max_projection:axis=0", ("max_projection", {"axis": 0})),
    ],
)
def test_parse_step(text, expected):
    assert cli.parse_step(text) == expected


@pytest.mark.parametrize(
    "text, words",
    [
        ("blur", ["'blur'", "gaussian_filter"]),
        ("gaussian_filter:size=2", ["'size'", "sigma"]),
        ("mean:2", ["'mean'", "no arguments"]),
        ("subsample:factor=2,factor=3", ["'factor'", "twice"]),
        ("subsample:factor=2,", ["empty"]),
    ],
)
def test_parse_step_errors(text, words):
    with pytest.raises(cli.CLIError) as info:
        cli.parse_step(text)
    for word in words:
        assert word in str(info.value)


def test_describe_steps():
    steps = [cli.parse_step("gaussian_filter:sigma=(2,2,0)"), cli.parse_step("mean")]
    assert describe_steps(steps) == "gaussian_filter(sigma=(2, 2, 0)) -> mean()"
    assert describe_steps([]) == "(none)"


def test_every_step_is_an_images_method():
    import inspect

    from napari_thunder import Images
    from napari_thunder.cli.steps import SERIES_STEPS
    from napari_thunder.data.series import Series

    for name, arguments in STEPS.items():
        method = getattr(Series if name in SERIES_STEPS else Images, name)
        assert set(arguments) <= set(inspect.signature(method).parameters), name
    assert set(STATISTICS) <= set(STEPS)
