from .ava_frame_map import AVAFrameMAP  # noqa: F401
