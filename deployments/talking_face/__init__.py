"""The parts shared by the embedded talking-face engines (facemesh-lipsync, facemesh-avatar).

tracking: MediaPipe face mesh over a video or a photo, smoothed offline.
drive: per-frame mouth openness and width from the target speech.
render: the mouth, eyelid and head-pose warps applied to one frame.
video_io: decoding and encoding with PyAV.
"""
