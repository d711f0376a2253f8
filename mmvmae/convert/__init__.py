"""Checkpoint conversion: VideoMAE / V2 releases, mmaction2 and Hugging Face
checkpoints to mmvmae, and mmvmae to Hugging Face (see
docs/checkpoint_conversion.md)."""
from .arch import infer_arch
from .converter import (check_qv_biases, convert_checkpoint,
                        convert_to_mmvmae)
from .detect import detect_format, load_source
from .hf_export import export_hf
from .model_config import build_model, model_config
from .report import ConversionError, ConversionReport

__all__ = [
    'ConversionError', 'ConversionReport', 'build_model', 'check_qv_biases',
    'convert_checkpoint', 'convert_to_mmvmae', 'detect_format', 'export_hf',
    'infer_arch', 'load_source', 'model_config'
]
