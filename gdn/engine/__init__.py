"""The engine: everything that runs the method on a machine.

``checkpoint`` (save, load, build networks), ``train`` (the resumable, distributed training loop), ``evaluate``
(``gdn evaluate``: checkpoints scored by :func:`gdn.evaluation.evaluate`), ``inference`` (:class:`Inpainter`,
any image size) with ``scales`` (the working scale of a large photo), ``export`` (ONNX) and ``bench`` with ``probes``
(speed, memory, FLOPs and the machine's peak). Devices and precisions come from :mod:`gdn.device`.
"""
