"""Both bundled examples in one viewer: napari lines axes up from the right,
not by name, so the mouse's t (t, y, x) lands on the fish's z (t, z, y, x)
and the fish shows nothing on the planes it does not have. Opening one beside
the other says so, naming the axes that share a slider."""

import pytest

from napari_thunder.plugin import samples


@pytest.mark.parametrize(("labels", "other", "clashes"), [
    (("t", "y", "x"), ("t", "z", "y", "x"), [("t", "z")]),
    (("t", "z", "y", "x"), ("t", "y", "x"), [("z", "t")]),
    (("t", "y", "x"), ("t", "y", "x"), []),
    (("y", "x"), ("t", "y", "x"), []),                   # a picture over a movie: fine
    (("t", "y", "x"), ("-3", "-2", "-1"), []),            # napari's default names: unknown
    (("c", "t", "y", "x"), ("z", "t", "y", "x"), [("c", "z")]),
])
def test_axis_clashes(labels, other, clashes):
    assert samples.axis_clashes(labels, other) == clashes


@pytest.fixture
def warnings_shown(monkeypatch):
    from napari.utils import notifications

    shown = []
    monkeypatch.setattr(notifications, "show_warning", lambda message: shown.append(message))
    return shown


@pytest.mark.parametrize(("first", "second", "pair"), [
    ("fish", "mouse", "mouse's t is fish's z"),
    ("mouse", "fish", "fish's z is mouse's t"),
])
def test_opening_both_examples_warns(make_napari_viewer_proxy, warnings_shown, first, second, pair):
    viewer = make_napari_viewer_proxy()
    viewer.open_sample("napari-thunder", first)
    assert warnings_shown == []
    viewer.open_sample("napari-thunder", second)
    assert len(warnings_shown) == 1 and pair in warnings_shown[0], warnings_shown
    assert warnings_shown[0].startswith(f"'{second}' and '{first}' share a slider")
    assert warnings_shown[0].endswith(f"napari-thunder gui {second}")
    assert [layer.name for layer in viewer.layers] == [first, second]


def test_the_same_example_twice_does_not_warn(make_napari_viewer_proxy, warnings_shown):
    viewer = make_napari_viewer_proxy()
    viewer.open_sample("napari-thunder", "fish")
    viewer.open_sample("napari-thunder", "fish")
    assert warnings_shown == [] and len(viewer.layers) == 2
