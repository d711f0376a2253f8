from .checkpointing import CP_MODES, check_cp_mode, run_blocks
from .data_preprocessor import (VIDEO_DATA_PREPROCESSOR,
                                build_data_preprocessor,
                                default_data_preprocessor)
from .patchify import PatchEmbed3d, gather_tubelets, patchify, unpatchify
from .position_embedding import (interpolate_position_table,
                                 sinusoid_position_table)
from .pretrained_loader import VideoMAEPretrainedInit, load_encoder_weights
from .token_index import count_kept, kept_index, scored_last, take_tokens
from .transformer_block import (Attention, Block, Mlp, check_attn_impl,
                                check_linear_init, init_transformer_weights)

__all__ = [
    'CP_MODES', 'check_cp_mode', 'run_blocks', 'VIDEO_DATA_PREPROCESSOR',
    'build_data_preprocessor', 'default_data_preprocessor', 'PatchEmbed3d',
    'gather_tubelets', 'patchify', 'unpatchify', 'interpolate_position_table',
    'sinusoid_position_table', 'VideoMAEPretrainedInit',
    'load_encoder_weights', 'count_kept', 'kept_index', 'scored_last',
    'take_tokens', 'Attention', 'Block', 'Mlp', 'check_attn_impl',
    'check_linear_init', 'init_transformer_weights'
]
