from .layer_scaled_cosine_lr import LayerScaledCosineAnnealingLR  # noqa: F401
