from .layer_decay_constructor import LayerDecayOptimWrapperConstructor  # noqa: F401,E501
