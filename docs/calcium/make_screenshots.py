"""Screenshots of the calcium widgets for docs/calcium/: the shifts plot, the traces plot, the window.

xvfb-run -a -s "-screen 0 1600x1000x24" python docs/calcium/make_screenshots.py docs/calcium
"""
import sys

import napari
import numpy as np
from qtpy.QtWidgets import QApplication

from napari_thunder.plugin.calcium_traces import TracesWidget
from napari_thunder.plugin.calcium_widgets import MotionCorrectionWidget, motion_sample

out = sys.argv[1]
viewer = napari.Viewer(show=True)
(movie, kw, _), (labels, lkw, _) = motion_sample()
layer = viewer.add_image(movie, **kw)
lab = viewer.add_labels(labels, **lkw)
mc = MotionCorrectionWidget(viewer)
viewer.window.add_dock_widget(mc, name="Motion correction")
mc.image.value = layer
job = mc.run()
job.wait(300)
mc.figure.savefig(f"{out}/shifts_plot.png", dpi=110)
tw = TracesWidget(viewer)
viewer.window.add_dock_widget(tw, name="ROI traces")
tw.image.value = viewer.layers[-1]  # the registered movie
tw.labels.value = lab
job = tw.run()
job.wait(300)
tw.highlight(int(np.unique(labels)[5]))
tw.figure.savefig(f"{out}/traces_plot.png", dpi=110)
for _ in range(20):
    QApplication.processEvents()
viewer.screenshot(f"{out}/calcium_window.png", canvas_only=False)
print("ok", mc.status.value, tw.status.value)
viewer.close()
