"""gdn: Pixel-wise Dense Detector for Image Inpainting (Zhang et al., Pacific Graphics 2020) in PyTorch."""
__version__ = "0.1.0"
