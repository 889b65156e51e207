"""What each self-hosted talking-head model's public repository really exposes, as config
defaults for `deployments.cog_predictor.CogPredictorEngine` (`preset: <name>` in a config).

Read from the repositories themselves (predict.py / cog.yaml, or the documented CLI entry
point); the notes are for operators preparing a GPU image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    """What one model's public repository exposes, as config defaults plus notes for operators."""

    repo: str
    config: dict[str, Any]
    notes: str
    unsupported: str | None = None
    """Why this model cannot serve our contract at all; `load` reports it as the reason."""


KNOWN_ENGINES: dict[str, Preset] = {
    "latentsync": Preset(
        repo="bytedance/LatentSync",
        config={
            "kind": "lipsync",
            "predictor": "predict.py:Predictor",
            "inputs": {"video": "video", "audio": "audio"},
            "extra_inputs": {"guidance_scale": 1.5},
            "required_files": ["checkpoints/latentsync_unet.pt", "checkpoints/whisper/tiny.pt"],
        },
        notes=(
            "Cog predictor (PR #25, replicate.com/lucataco/latentsync): predict(video, audio, "
            "guidance_scale, seed=0 (random)) -> Path; 1.5 is the README's guidance for 1.5/1.6. "
            "setup() downloads checkpoints/ with pget when the folder is missing, so the required "
            "files keep it offline; scripts/inference.py also loads stabilityai/sd-vae-ft-mse from "
            "the Hugging Face cache (pre-fill it, HF_HUB_OFFLINE=1). predict() shells out to "
            "`python -m scripts.inference` with os.system and always writes /tmp/video_out.mp4: "
            "a failure shows as a missing output, and calls must not overlap (concurrency 1)."
        ),
    ),
    "musetalk": Preset(
        repo="TMElyralab/MuseTalk",
        config={
            "kind": "lipsync",
            "command": [
                "{python}", "-m", "scripts.inference", "--inference_config", "{workdir}/task.yaml",
                "--result_dir", "{workdir}/results", "--version", "v15",
                "--unet_model_path", "models/musetalkV15/unet.pth",
                "--unet_config", "models/musetalkV15/musetalk.json",
            ],
            "command_files": {"task.yaml": "task_0:\n  video_path: {video}\n  audio_path: {audio}\n"},
            "output_glob": "{workdir}/results/**/*.mp4",
            "required_files": [
                "models/musetalkV15/unet.pth", "models/musetalkV15/musetalk.json",
                "models/whisper", "models/sd-vae", "models/dwpose/dw-ll_ucoco_384.pth",
                "models/face-parse-bisent/79999_iter.pth",
            ],
        },
        notes=(
            "No Cog predictor on main (the documented entry is `python -m scripts.inference "
            "--inference_config <yaml>`, inference.sh v1.5 normal). The YAML carries video_path "
            "and audio_path per task, so it is written per call. Optional flags: --bbox_shift "
            "(mouth openness), --use_float16. Trained at 25 fps; needs ffmpeg on PATH."
        ),
    ),
    "video-retalking": Preset(
        repo="OpenTalker/video-retalking",
        config={
            "kind": "lipsync",
            "predictor": "predict.py:Predictor",
            "inputs": {"video": "face", "audio": "input_audio"},
            "required_files": [
                f"checkpoints/{name}" for name in (
                    "DNet.pt", "LNet.pth", "ENet.pth", "face3d_pretrain_epoch_20.pth",
                    "GFPGANv1.3.pth", "GPEN-BFR-512.pth", "shape_predictor_68_face_landmarks.dat",
                    "expression.mat", "BFM",
                )
            ],
        },
        notes=(
            "Cog predictor (cog.yaml predict.py:Predictor): predict(face: Path, input_audio: Path, "
            "fps: int = 25) -> Path('/tmp/output.mp4'); fps only matters for a still image (a "
            "video keeps its own rate). Hard-codes device 'cuda', writes temp/ in the checkout "
            "and a fixed /tmp output (concurrency 1). Give it WAV audio; it refuses audio whose mel "
            "has NaNs ('Using a TTS voice? Add a small epsilon noise'). face-alignment and facexlib "
            "fetch detector weights on first use unless they are in the torch hub cache."
        ),
    ),
    "liveportrait": Preset(
        repo="KwaiVGI/LivePortrait",
        config={"kind": "avatar"},
        notes=(
            "No Cog predictor on main (a predict.py exists only in the unmerged PR #54: "
            "predict(input_image_path, input_video_path, flag_relative_input, flag_do_crop_input, "
            "flag_pasteback)). Entry point: `python inference.py -s <image> -d <driving video or "
            ".pkl template> -o <dir>`, writing <source>--<driving>.mp4."
        ),
        unsupported=(
            "LivePortrait is driven by a video or motion template, not by audio: it cannot follow "
            "speech. Animate with an audio-driven engine (hallo3, echomimic-v2, v-express, "
            "skyreels-a1), or use LivePortrait upstream of a lipsync engine"
        ),
    ),
    "hallo3": Preset(
        repo="fudan-generative-vision/hallo3",
        config={
            "kind": "avatar",
            "command": [
                "env", "WORLD_SIZE=1", "RANK=0", "LOCAL_RANK=0", "LOCAL_WORLD_SIZE=1",
                "{python}", "hallo3/sample_video.py",
                "--base", "./configs/cogvideox_5b_i2v_s2.yaml", "./configs/inference.yaml",
                "--seed", "42", "--input-file", "{workdir}/input.txt", "--output-dir", "{workdir}/out",
            ],
            "command_files": {"input.txt": "{prompt}@@{image}@@{audio}\n"},
            "extra_inputs": {"prompt": "A person talking to the camera."},
            "output_glob": "{workdir}/out/**/*.mp4",
            "required_files": [
                "pretrained_models/hallo3/latest", "pretrained_models/cogvideox-5b-i2v-sat/vae/3d-vae.pt",
                "pretrained_models/t5-v1_1-xxl", "pretrained_models/wav2vec/wav2vec2-base-960h",
                "pretrained_models/audio_separator/Kim_Vocal_2.onnx", "pretrained_models/face_analysis/models",
            ],
        },
        notes=(
            "No Cog predictor. Entry point: scripts/inference_long_batch.sh <input.txt> <out>, "
            "i.e. hallo3/sample_video.py with an input file of `prompt@@image@@audio` lines. "
            "Reference image 1:1 or 3:2, WAV English speech; CogVideoX-5B based, tested on H100."
        ),
    ),
    "echomimic-v2": Preset(
        repo="antgroup/echomimic_v2",
        config={
            "kind": "avatar",
            "command": [
                "{python}", "infer.py", "--config", "./configs/prompts/infer.yaml",
                "--ref_images_dir", "{image.parent.parent}",
                "--refimg_name", "{image.parent.name}/{image.name}",
                "--audio_dir", "{audio.parent}", "--audio_name", "{audio.name}",
                "--pose_dir", "./assets/halfbody_demo/pose", "--pose_name", "{pose}", "-L", "{max_frames}",
            ],
            "extra_inputs": {"pose": "01", "max_frames": 1200},
            "output_glob": "outputs/**/*_sig.mp4",
            "required_files": [
                f"pretrained_weights/{name}" for name in (
                    "denoising_unet.pth", "reference_unet.pth", "motion_module.pth", "pose_encoder.pth",
                    "sd-vae-ft-mse", "audio_processor/tiny.pt",
                )
            ],
        },
        notes=(
            "No Cog predictor. Entry point: `python infer.py --config ./configs/prompts/infer.yaml` "
            "with --ref_images_dir/--refimg_name, --audio_dir/--audio_name, --pose_dir/--pose_name "
            "(-W/-H 768, --steps 30, --cfg 2.5, --fps 24). Semi-body animation driven by audio plus "
            "a pose sequence: the video is as long as the shortest of audio, -L and the pose folder. "
            "It writes outputs/<model>-seed<seed>/... inside the checkout; infer_acc.py with "
            "infer_acc.yaml is the 9x faster variant. Wants ffmpeg on PATH (or FFMPEG_PATH)."
        ),
    ),
    "v-express": Preset(
        repo="tencent-ailab/V-Express",
        config={
            "kind": "avatar",
            "command": [
                "{python}", "inference.py", "--reference_image_path", "{image}", "--audio_path", "{audio}",
                "--kps_path", "", "--retarget_strategy", "fix_face", "--output_path", "{output}",
            ],
            "required_files": [
                *(f"model_ckpts/v-express/{name}.bin" for name in (
                    "denoising_unet", "reference_net", "v_kps_guider", "audio_projection", "motion_module",
                )),
                "model_ckpts/stable-diffusion-v1-5/unet/config.json", "model_ckpts/sd-vae-ft-mse",
                "model_ckpts/wav2vec2-base-960h", "model_ckpts/insightface_models",
            ],
        },
        notes=(
            "No Cog predictor. Entry point: `python inference.py --reference_image_path "
            "--audio_path --kps_path --output_path` (512x512, fps 30, 25 steps, guidance 3.5); "
            "fix_face keeps the reference face still, so no kps sequence is needed. Requires "
            "xformers; the reference should be a face crop (scripts/crop.py)."
        ),
    ),
    "skyreels-a1": Preset(
        repo="SkyworkAI/SkyReels-A1",
        config={
            "kind": "avatar",
            "command": [
                "{python}", "inference_audio_long_video.py", "--image_path", "{image}",
                "--driving_audio_path", "{audio}", "--output_path", "{workdir}/out",
            ],
            "output_glob": "{workdir}/out/*.audio.mp4",
            "required_files": [
                "pretrained_models/SkyReels-A1-5B/transformer",
                "pretrained_models/SkyReels-A1-5B/siglip-so400m-patch14-384",
                "pretrained_models/smirk/SMIRK_em1.pt", "pretrained_models/diffposetalk/iter_0110000.pt",
                "pretrained_models/FLAME", "pretrained_models/mediapipe",
            ],
        },
        notes=(
            "No Cog predictor. Audio entry points: inference_audio.py (49 frames, ~4 s) and "
            "inference_audio_long_video.py (whole audio, 48-frame windows), both --image_path "
            "--driving_audio_path --output_path; 480x720 at 12 fps, 10 steps, guidance 3.0, seed 43 "
            "hard-coded. DiffPoseTalk assets come from the authors' OSS bucket (README)."
        ),
    ),
}
