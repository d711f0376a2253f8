import mmaction.datasets  # noqa: F401  (mmaction2 parts this scope builds on)
