"""Every figure of the series: one helper per kind of figure, official class colours in legends.

Submodules by topic (``common``, ``data``, ``colours``, ``training``, ``features``); the public
helpers are re-exported here, so notebooks call ``viz.<helper>``.
"""

from utils.viz.common import class_legend, save_figure, show_images

__all__ = ["class_legend", "save_figure", "show_images"]
