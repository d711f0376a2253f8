"""Registries of the ``mmvmae`` scope.

Each one is a child of the mmaction2 registry of the same kind, so a config
with ``default_scope='mmvmae'`` can name mmvmae parts (``VideoMAEViT``,
``TubeMasking``) next to mmaction2 parts (``DecordInit``, ``VideoDataset``)
and mmengine parts (``AmpOptimWrapper``, ``CheckpointHook``).
"""
from mmaction import registry as mmaction_registry
from mmengine.registry import Registry


def _child(name: str, parent: Registry, location: str) -> Registry:
    return Registry(name, parent=parent, scope='mmvmae',
                    locations=[location])


RUNNERS = _child('runner', mmaction_registry.RUNNERS, 'mmvmae.engine')
LOOPS = _child('loop', mmaction_registry.LOOPS, 'mmvmae.engine')
HOOKS = _child('hook', mmaction_registry.HOOKS, 'mmvmae.engine')
DATASETS = _child('dataset', mmaction_registry.DATASETS, 'mmvmae.datasets')
DATA_SAMPLERS = _child('data sampler', mmaction_registry.DATA_SAMPLERS,
                       'mmvmae.datasets')
TRANSFORMS = _child('transform', mmaction_registry.TRANSFORMS,
                    'mmvmae.datasets.transforms')
MODELS = _child('model', mmaction_registry.MODELS, 'mmvmae.models')
MODEL_WRAPPERS = _child('model_wrapper', mmaction_registry.MODEL_WRAPPERS,
                        'mmvmae.models')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmaction_registry.WEIGHT_INITIALIZERS,
                             'mmvmae.models')
OPTIMIZERS = _child('optimizer', mmaction_registry.OPTIMIZERS,
                    'mmvmae.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', mmaction_registry.OPTIM_WRAPPERS,
                        'mmvmae.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    mmaction_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'mmvmae.engine')
PARAM_SCHEDULERS = _child('parameter scheduler',
                          mmaction_registry.PARAM_SCHEDULERS, 'mmvmae.engine')
METRICS = _child('metric', mmaction_registry.METRICS, 'mmvmae.evaluation')
EVALUATOR = _child('evaluator', mmaction_registry.EVALUATOR,
                   'mmvmae.evaluation')
TASK_UTILS = _child('task util', mmaction_registry.TASK_UTILS, 'mmvmae.models')
VISUALIZERS = _child('visualizer', mmaction_registry.VISUALIZERS,
                     'mmvmae.visualization')
VISBACKENDS = _child('vis_backend', mmaction_registry.VISBACKENDS,
                     'mmvmae.visualization')
LOG_PROCESSORS = _child('log_processor', mmaction_registry.LOG_PROCESSORS,
                        'mmvmae.engine')
