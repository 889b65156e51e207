"""A tiny random causal LM saved to a folder, for the LLM translator (tests and the test app)."""

from __future__ import annotations

from pathlib import Path

CORPUS = """Translate one line of a video's dialogue from English into Spanish. The translation will be
spoken in a dub, so it must sound natural when said aloud. It must fit its time slot: use at most
characters. Context, not to be translated: before: after: Line to translate: Answer with the
translation of that line only, on one line, without quotes or notes. Please send the weekly report
to the finance team before Friday. The weather today is sunny and warm in the city. Our train
leaves the station at half past nine. hola buenos dias gracias tren ciudad informe equipo"""
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def tiny_llama(path: Path) -> Path:
    """Save a tiny randomly initialised Llama and a word-level tokenizer with a chat template
    into `path`, the way transformers' own tests build models: it proves the plumbing, and its
    output is noise."""
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    specials = ["<unk>", "<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>"]
    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(CORPUS.split("\n"), trainers.WordLevelTrainer(special_tokens=specials))
    wrapped = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        additional_special_tokens=["<|user|>", "<|assistant|>"])
    wrapped.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=wrapped.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, intermediate_size=64, max_position_embeddings=512,
        pad_token_id=wrapped.pad_token_id, bos_token_id=wrapped.bos_token_id, eos_token_id=wrapped.eos_token_id)
    transformers.LlamaForCausalLM(config).save_pretrained(path)
    wrapped.save_pretrained(path)
    return path


