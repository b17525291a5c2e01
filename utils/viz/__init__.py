"""Every figure of the series: one helper per kind of figure, official class colours in legends.

One submodule per topic: ``common`` (saving, legends, grids), ``data`` (notebook 01), ``colours``
(02), ``training`` (03-04), ``features`` (05-06). Notebooks import the topic they need, e.g.
``from utils.viz import colours as colour_viz``; the common helpers are re-exported here.
"""

from utils.viz.common import class_legend, save_figure, save_png, show_images

__all__ = ["class_legend", "save_figure", "save_png", "show_images"]
