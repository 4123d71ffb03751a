"""The GUI's engine settings offer dask.distributed with a scheduler address,
and the operation widgets then run on the cluster with the local results."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder.plugin import settings
from napari_thunder.plugin import widgets as W


@pytest.fixture(autouse=True)
def _no_scheduler_left_behind():
    """The settings are napari's (shared by the session): leave the address
    and partitions as found."""
    yield
    settings.set_engine("local", scheduler_address="", npartitions=0)


def test_distributed_choice_gives_the_scheduler_address():
    choice = settings.set_engine("distributed", scheduler_address=" tcp://10.0.0.5:8786 ",
                                 npartitions=6)
    assert choice.engine == "tcp://10.0.0.5:8786" and choice.npartitions_arg == 6
    assert "tcp://10.0.0.5:8786" in choice.describe() and "6" in choice.describe()
    # an empty address means the current client or a local cluster
    assert settings.set_engine("distributed", scheduler_address="").engine == "distributed"
    # the address is kept while another engine is chosen
    settings.set_engine("distributed", scheduler_address="tls://h:8786")
    assert settings.set_engine("local").scheduler_address == "tls://h:8786"
    assert settings.get_engine().engine == "local" and settings.get_engine().npartitions_arg is None


@pytest.mark.parametrize("bad", ["10.0.0.5:8786", "http://h:8786", "tcp://"])
def test_a_scheduler_address_is_checked(bad):
    settings.set_engine("local", scheduler_address="")
    with pytest.raises(ValueError, match="scheduler_address"):
        settings.set_engine("distributed", scheduler_address=bad)
    assert settings.get_engine().backend == "local" and settings.get_engine().scheduler_address == ""


def test_the_choice_is_a_napari_plugin_setting():
    from napari.settings import get_plugin_settings

    settings.set_engine("distributed", scheduler_address="tcp://127.0.0.1:8786")
    stored = get_plugin_settings("napari-thunder").engine
    assert (stored.backend, stored.scheduler_address) == ("distributed", "tcp://127.0.0.1:8786")
    settings.set_engine("local", scheduler_address="")


def test_engine_widget_offers_the_scheduler(make_napari_viewer_proxy):
    widget = settings.EngineWidget(make_napari_viewer_proxy())
    assert "distributed" in widget.backend.choices
    assert not widget.scheduler.enabled
    widget.backend.value = "distributed"
    assert widget.scheduler.enabled and widget.npartitions.enabled and not widget.spark_master.enabled
    widget.scheduler.value = "tcp://127.0.0.1:8786"
    widget.npartitions.value = 4
    widget.apply_button.clicked()
    assert settings.get_engine().engine == "tcp://127.0.0.1:8786"
    assert "dask.distributed" in widget.status.value


@pytest.mark.distributed
def test_widgets_run_on_the_cluster_with_the_local_results(make_napari_viewer_proxy, qtbot,
                                                            distributed_client, monkeypatch):
    settings.set_engine("distributed", scheduler_address=distributed_client.scheduler.address,
                        npartitions=3)
    modes = []
    original = W.GaussianFilterWidget.apply

    def spy(self, imgs, **params):
        modes.append((imgs.mode, imgs.npartitions()))
        return original(self, imgs, **params)

    monkeypatch.setattr(W.GaussianFilterWidget, "apply", spy)
    viewer = make_napari_viewer_proxy()
    data = np.random.default_rng(5).normal(size=(9, 12, 10))
    layer = viewer.add_image(data, name="s")
    widget = W.GaussianFilterWidget(viewer)
    widget.image.value = layer
    widget.sigma.value = "1"
    job = widget.run()
    qtbot.waitUntil(lambda: not job.running, timeout=120000)
    assert job.status == "done", job.error
    assert modes == [("distributed", 3)]
    ref = np.stack([ndi.gaussian_filter(f, 1.0) for f in data])
    assert job.layer.name == "s gaussian(sigma=1)"
    np.testing.assert_allclose(viewer.layers["s gaussian(sigma=1)"].data, ref, atol=1e-12)

    mean = W.MeanWidget(viewer)
    mean.image.value = layer
    job = mean.run()
    qtbot.waitUntil(lambda: not job.running, timeout=120000)
    assert job.status == "done", job.error
    assert job.layer.name == "s mean"
    np.testing.assert_allclose(viewer.layers["s mean"].data, data.mean(axis=0), rtol=1e-12)
