import mmaction.visualization  # noqa: F401  (mmaction2 parts this scope builds on)
