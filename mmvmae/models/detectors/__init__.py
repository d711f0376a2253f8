from .ava_detector import AVADetector
from .roi_action_head import RoIActionHead

__all__ = ['AVADetector', 'RoIActionHead']
