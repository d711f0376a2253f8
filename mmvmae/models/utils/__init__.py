from .data_preprocessor import (VIDEO_DATA_PREPROCESSOR,
                                default_data_preprocessor)
from .patchify import PatchEmbed3d, gather_tubelets, patchify, unpatchify
from .position_embedding import (interpolate_position_table,
                                 sinusoid_position_table)
from .transformer_block import (Attention, Block, Mlp, check_attn_impl,
                                init_transformer_weights)

__all__ = [
    'VIDEO_DATA_PREPROCESSOR', 'default_data_preprocessor',
    'PatchEmbed3d', 'gather_tubelets', 'patchify', 'unpatchify', 'interpolate_position_table',
    'sinusoid_position_table', 'Attention', 'Block', 'Mlp', 'check_attn_impl',
    'init_transformer_weights'
]
from .pretrained_loader import VideoMAEPretrainedInit, load_encoder_weights  # noqa: F401,E501
from .checkpointing import CP_MODES, check_cp_mode, run_blocks  # noqa: F401,E501
from .token_index import count_kept, kept_index, take_tokens  # noqa: F401
