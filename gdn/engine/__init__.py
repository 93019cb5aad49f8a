"""The engine: everything that runs the method on a machine.

``device`` (one device and precision helper), ``checkpoint`` (save, load, build networks), ``train`` (the
resumable training loop), ``evaluate`` (``gdn evaluate``: checkpoints scored by :func:`gdn.evaluation.evaluate`),
``inference`` (:class:`Inpainter`, any image size), ``export`` (ONNX) and ``bench`` (speed and memory).
"""
