"""The interactive demo: draw a hole on a photo, see the inpainting and the detector's artifact map.

``InpaintDemo`` is the ipywidgets app; ``demo.ipynb`` (shipped with the package) shows it, and ``gdn demo``
serves that notebook with Voila.
"""
from gdn.demo.widget import InpaintDemo

__all__ = ["InpaintDemo"]
