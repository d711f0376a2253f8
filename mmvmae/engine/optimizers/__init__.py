from .layer_decay_constructor import LayerDecayOptimWrapperConstructor  # noqa: F401,E501
from .finite_loss_optim_wrapper import FiniteLossAmpOptimWrapper, FiniteLossOptimWrapper  # noqa: F401,E501
from .step_in_backward_optim_wrapper import StepInBackwardOptimWrapper  # noqa: F401,E501
