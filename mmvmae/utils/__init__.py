from .upstream_fixes import apply_upstream_fixes

__all__ = ['apply_upstream_fixes', 'register_all_modules']


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmvmae module so its parts are registered.

    Args:
        init_default_scope: also make ``mmvmae`` the default registry scope,
            so configs without ``default_scope`` build mmvmae parts first.
    """
    from mmaction.utils import register_all_modules as register_mmaction

    register_mmaction(init_default_scope=False)
    import mmvmae.datasets  # noqa: F401
    import mmvmae.engine  # noqa: F401
    import mmvmae.evaluation  # noqa: F401
    import mmvmae.models  # noqa: F401

    if init_default_scope:
        from mmengine.registry import DefaultScope
        if DefaultScope.get_current_instance() is None or \
                not DefaultScope.check_instance_created('mmvmae'):
            DefaultScope.get_instance('mmvmae', scope_name='mmvmae')
