"""The bad-media corpus (issue 13 item 7), made on the spot from the tests' own media: files
that are broken, hostile or merely unusual. Nothing here is committed as a binary.
"""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image
from skimage.data import astronaut

from deployments.talking_face.video_io import read_audio


def truncated(source: Path, path: Path) -> Path:
    """The first half of a real MP4 (PyAV writes the index last: it is cut off)."""
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    return path


def no_frames(path: Path) -> Path:
    """An MP4 whose H.264 stream has a size and no frame at all."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        out.start_encoding()
        out.mux(stream.encode())
    return path


def blank_video(path: Path, width: int, height: int) -> Path:
    """One black H.264 frame of `width` x `height`: 8K weighs 100 KB."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def bomb_png(path: Path, side: int = 16_000) -> Path:
    """A 60 KB PNG declaring `side` x `side` 8-bit grey pixels (256 MB decoded for 16,000): its
    first rows of zeros compress a thousandfold, and a decoder sizes its buffer from the header
    before it reads them."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(bytes((side + 1) * 4000), 9)  # each row: its filter byte, then pixels
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return path


def picture(path: Path, fmt: str) -> Path:
    """The astronaut portrait, 256 px wide, saved by Pillow as `fmt` (GIF, WEBP...)."""
    Image.fromarray(astronaut()).resize((256, 256)).save(path, format=fmt)
    return path


def phone_video(path: Path, audio: Path, size: tuple[int, int] = (192, 256)) -> Path:
    """What a phone held upright records: the frames stored sideways (landscape), a display
    matrix turning them a quarter clockwise, and a variable frame rate (frames 1/30 s and 1/20 s
    apart in turn), carrying `audio` (AAC).

    `size` is the upright (displayed) width and height."""
    width, height = size
    samples = read_audio(audio)
    upright = av.VideoFrame.from_ndarray(np.ascontiguousarray(astronaut()), format="rgb24")
    upright = upright.reformat(width, height).to_ndarray()
    stored = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(upright)), format="rgb24")  # sideways
    seconds = len(samples) / 16000
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=60)
        video.width, video.height, video.pix_fmt = height, width, "yuv420p"
        video.codec_context.time_base = Fraction(1, 60)
        video.set_display_rotation(-90)  # FFmpeg counts counter-clockwise: a quarter turn clockwise
        sound = out.add_stream("aac", rate=16000, layout="mono")
        tick = 0
        while tick / 60 < seconds:
            frame = stored.reformat(format="yuv420p")
            frame.pts, frame.time_base = tick, Fraction(1, 60)
            out.mux(video.encode(frame))
            tick += 2 if tick % 5 == 0 else 3
        out.mux(video.encode())
        for start in range(0, len(samples), 1024):
            block = samples[start:start + 1024].reshape(1, -1).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
            frame.sample_rate, frame.pts = 16000, start
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
    return path


def styled_video(path: Path, source: Path, pix_fmt: str, codec: str = "libx264") -> Path:
    """`source`'s pictures and sound re-encoded with another pixel format (yuv420p10le,
    yuv444p)."""
    with av.open(str(source)) as src, av.open(str(path), "w") as out:
        video_in, audio_in = src.streams.video[0], src.streams.audio[0]
        video = out.add_stream(codec, rate=video_in.average_rate)
        video.width, video.height, video.pix_fmt = video_in.width, video_in.height, pix_fmt
        sound = out.add_stream("aac", rate=audio_in.rate, layout="mono")
        for frame in src.decode(video_in):
            frame = frame.reformat(format=pix_fmt)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        src.seek(0)
        for frame in src.decode(audio_in):
            frame.pts = None
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
    return path


def surround(path: Path, speech: Path) -> Path:
    """`speech` as 5.1 PCM (six channels): the voice in front left, right and centre."""
    samples = read_audio(speech)
    channels = np.zeros((6, len(samples)), np.int16)
    channels[:3] = (samples * 32767 * 0.8).astype(np.int16)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="5.1")
        frame = av.AudioFrame.from_ndarray(channels.T.reshape(1, -1).copy(), format="s16", layout="5.1")
        frame.sample_rate = 16000
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path
