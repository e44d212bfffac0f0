"""All torch code the app runs: the networks (app/ml/nets) and inference. Import lazily from other layers.
Training and evaluation live in the lab (lab/, beside app/), which imports this package and is never
imported by it.

This package file itself is light (no torch, no OpenCV) and holds the one default that the workflow and
the lab's evaluations share.
"""

# The echo segmentation model the analysis uses: the per-frame U-Net (models/echo_seg_base), not the ConvLSTM
# network ("temporal"), whose smoother contours under-estimate EF (see app.workflow.segment_step).
DEFAULT_ECHO_MODEL = "base"
