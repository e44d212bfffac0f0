"""All torch code: networks, training, inference. Import lazily from other layers."""
