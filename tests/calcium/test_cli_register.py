"""``napari-thunder run ... -p register``: the registered movie equals the API."""

import json
import os

import numpy as np

from napari_thunder import cli, images
from napari_thunder.sample_data.motion import calcium_movie


def test_cli_register_step(tmp_path, capsys):
    m = calcium_movie(n=12, shape=(64, 64), ncells=8, seed=2)
    src = tmp_path / "in"
    images.fromarray(m.movie).tobinary(src)
    out = tmp_path / "out"
    code = cli.main(["run", str(src), "-p", "register:max_shift=6,nreference=12", "--to", "binary",
                     "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    conf = json.load(open(os.path.join(out, "conf.json")))
    files = sorted(f for f in os.listdir(out) if f.endswith(".bin"))
    written = np.array([np.fromfile(os.path.join(out, f), dtype=conf["dtype"]).reshape(conf["shape"])
                        for f in files])
    expected = images.fromarray(m.movie).register(max_shift=6, nreference=12).toarray()
    np.testing.assert_allclose(written, expected, rtol=1e-6, atol=1e-3)
    code = cli.main(["run", str(src), "-p", "register:method=affine", "-o", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "method" in err
