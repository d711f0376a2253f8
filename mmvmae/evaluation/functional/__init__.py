from .ava_frame_map import ava_frame_map, match_frame  # noqa: F401
