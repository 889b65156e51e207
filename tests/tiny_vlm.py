"""Tiny random Qwen vision-language models saved to a folder with their processors, for the shot
analyser (tests and the test app). Like tests/tiny_llm.py, they prove the plumbing and their output is
noise. Loading them needs torchvision: transformers 4.57's Qwen video processors require it."""

from __future__ import annotations

from pathlib import Path

CORPUS = """Describe this shot. What happens in the video? Who is in the frame and what are they doing?
A person walks along a street at night. The camera pans left over a crowded market. Two people talk at a
table in a kitchen. A car drives down a road in the rain. seconds 0 1 2 3 4 5 6 7 8 9 . , < > user assistant"""
SPECIALS = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|image_pad|>", "<|video_pad|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _tokenizer():
    """A word-level Qwen2 tokenizer with the special tokens the Qwen VL processors look up."""
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(CORPUS.split("\n"), trainers.WordLevelTrainer(special_tokens=SPECIALS))
    return transformers.Qwen2TokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=SPECIALS[2:])


def _token_ids(tokenizer) -> dict:
    """The config's multimodal token ids, matched to the tokenizer."""
    ids = tokenizer.convert_tokens_to_ids
    return {"image_token_id": ids("<|image_pad|>"), "video_token_id": ids("<|video_pad|>"),
            "vision_start_token_id": ids("<|vision_start|>"), "vision_end_token_id": ids("<|vision_end|>")}


def _text_config(tokenizer, **extra) -> dict:
    """A two-layer text decoder, 32 wide, with 4 heads of 8."""
    return {"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024,
            "rope_theta": 10000.0, "bos_token_id": None, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id, **extra}


def _vision_config(patch_size: int, **extra) -> dict:
    """A two-block vision tower, 32 wide, merging 2x2 patches and 2 frames into one token."""
    return {"depth": 2, "hidden_size": 32, "intermediate_size": 32, "num_heads": 4, "out_hidden_size": 32,
            "patch_size": patch_size, "spatial_merge_size": 2, "temporal_patch_size": 2, **extra}


def tiny_qwen2_5_vl(path: Path) -> Path:
    """Save a tiny random Qwen2.5-VL (14 px patches, 2x2 merge) and its processor into `path`; images
    and frames are resized to 3136..6272 pixels, so a 64x96 frame is 4x6 patches, 6 tokens."""
    import torch
    import transformers

    tokenizer = _tokenizer()
    pixels = {"min_pixels": 28 * 28 * 4, "max_pixels": 28 * 28 * 8}
    processor = transformers.Qwen2_5_VLProcessor(
        image_processor=transformers.Qwen2VLImageProcessorFast(**pixels),
        video_processor=transformers.Qwen2VLVideoProcessor(**pixels),
        tokenizer=tokenizer, chat_template=CHAT_TEMPLATE)
    torch.manual_seed(0)
    config = transformers.Qwen2_5_VLConfig(
        text_config=_text_config(tokenizer, rope_scaling={"type": "mrope", "mrope_section": [2, 1, 1]}),
        vision_config=_vision_config(14, window_size=56, fullatt_block_indexes=[1], tokens_per_second=2),
        **_token_ids(tokenizer))
    transformers.Qwen2_5_VLForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return path


def tiny_qwen3_vl(path: Path) -> Path:
    """Save a tiny random Qwen3-VL (16 px patches, 2x2 merge) and its processor into `path`; images are
    resized to 4096..8192 pixels and a clip to at most 49152 (frames x pixels), so 8 frames of 64x96 stay
    4x6 patches a frame, 6 tokens per 2 frames."""
    import torch
    import transformers

    tokenizer = _tokenizer()
    processor = transformers.Qwen3VLProcessor(
        image_processor=transformers.Qwen2VLImageProcessorFast(
            patch_size=16, image_mean=[0.5] * 3, image_std=[0.5] * 3, min_pixels=32 * 32 * 4,
            max_pixels=32 * 32 * 8),
        video_processor=transformers.Qwen3VLVideoProcessor(
            size={"shortest_edge": 32 * 32 * 8, "longest_edge": 32 * 32 * 48}),
        tokenizer=tokenizer, chat_template=CHAT_TEMPLATE)
    torch.manual_seed(0)
    config = transformers.Qwen3VLConfig(
        text_config=_text_config(tokenizer, head_dim=8, rope_scaling={
            "rope_type": "default", "mrope_section": [2, 1, 1], "mrope_interleaved": True}),
        vision_config=_vision_config(16, num_position_embeddings=16, deepstack_visual_indexes=[0, 1]),
        **_token_ids(tokenizer))
    transformers.Qwen3VLForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return path
