"""All torch code: networks, training, inference. Import lazily from other layers.

This package file itself is light (no torch, no OpenCV) and holds the one default that the workflow and
the ml evaluations share.
"""

# The echo segmentation model the analysis uses: the per-frame U-Net (models/echo_seg_base), not the ConvLSTM
# network ("temporal"), whose smoother contours under-estimate EF (see app.workflow.pipeline).
DEFAULT_ECHO_MODEL = "base"
