"""Tiny randomly initialised LTX-Video, Wan 2.1 and CogVideoX pipelines saved to folders, for the
text-to-video engines (tests, the test app and bench/generate.py).

No real text-to-video weights can be had offline. These are built the way diffusers' own tests
build theirs (tests/pipelines/{ltx,wan,cogvideo}), with two changes: the text encoder is a T5
made from a config and the tokenizer a word-level one trained here (diffusers' tests download
both), and each VAE keeps the released model's compression (LTX: 32x in space, 8x in time; Wan
and CogVideoX: 8x and 4x, times the transformer's 2x2 patch), so the engines' rounding rules are
the real ones. Saved with `save_pretrained`, they are loaded by the engines' own loading code.
Their pictures are noise: they prove the code path, not the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORDS = """a red fox runs through the snow in a forest at dawn dance monkey city street rain night
camera slowly pans over the ocean waves blurry low quality distorted"""
TEXT_DIM = 32
"""The tiny T5's width, which each transformer's caption/text input must match."""


def _text_encoder(umt5: bool = False) -> dict[str, Any]:
    """A tiny T5 encoder (UMT5, as Wan's, when `umt5`) and a word-level tokenizer for it."""
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator([WORDS], trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    wrapped = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
        model_max_length=128)
    torch.manual_seed(0)
    config, model = (transformers.UMT5Config, transformers.UMT5EncoderModel) if umt5 else \
        (transformers.T5Config, transformers.T5EncoderModel)
    encoder = model(config(
        vocab_size=wrapped.vocab_size, d_model=TEXT_DIM, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, pad_token_id=wrapped.pad_token_id, eos_token_id=wrapped.eos_token_id))
    return {"text_encoder": encoder.eval(), "tokenizer": wrapped}


def tiny_ltx(path: Path) -> Path:
    """An LTXPipeline whose VAE compresses 32x in space (4x4 patches, three 2x steps) and 8x in time."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4,
        attention_head_dim=8, cross_attention_dim=32, num_layers=1, caption_channels=TEXT_DIM)
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False, patch_size=4, patch_size_t=1, encoder_causal=True, decoder_causal=False)
    pipe = LTXPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                       **_text_encoder())
    pipe.save_pretrained(path)
    return path


def tiny_wan(path: Path) -> Path:
    """A WanPipeline (Wan 2.1 layout: one transformer) whose VAE compresses 8x in space, 4x in time."""
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel

    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32)
    pipe = WanPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
                       **_text_encoder(umt5=True))
    pipe.save_pretrained(path)
    return path


def tiny_cogvideox(path: Path) -> Path:
    """A CogVideoXPipeline whose VAE compresses 8x in space and 4x in time, with 2x2 patches."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXPipeline, CogVideoXTransformer3DModel, DDIMScheduler

    torch.manual_seed(0)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=4, time_embed_dim=2,
        text_embed_dim=TEXT_DIM, num_layers=1, sample_width=16, sample_height=16, sample_frames=9,
        patch_size=2, temporal_compression_ratio=4, max_text_seq_length=226)
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    pipe = CogVideoXPipeline(transformer=transformer, vae=vae, scheduler=DDIMScheduler(), **_text_encoder())
    pipe.save_pretrained(path)
    return path
