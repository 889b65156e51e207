"""A checkpoint folder with its own model code, speaking the `chat` contracts InternVideo2.5 and
VideoChat-Flash document on their model cards, for the OpenGVLab engine's tests.

No such weights can be had offline. The model here checks what it is handed the way the real
ones need it (InternVL: one 448x448 normalised tile per `<image>` frame; VideoChat-Flash: a
decodable video file) and answers with what it measured, so a test can tell that the frames
and prompts of each shot arrived. It proves the engine's side of the contract, not a model.
"""

from __future__ import annotations

import json
from pathlib import Path

MODELING = '''
import av
import torch
from transformers import PretrainedConfig, PreTrainedModel


class ChatConfig(PretrainedConfig):
    model_type = "contract_chat"


class ChatModel(PreTrainedModel):
    config_class = ChatConfig

    def __init__(self, config):
        super().__init__(config)
        self.scale = torch.nn.Parameter(torch.ones(1))

    def chat(self, tokenizer=None, pixel_values=None, question=None, generation_config=None,
             num_patches_list=None, video_path=None, user_prompt=None, max_num_frames=None, **kwargs):
        if video_path is not None:  # VideoChat-Flash: the model samples the file itself
            with av.open(video_path) as container:
                frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
            levels = ",".join(str(round(float(f.mean()))) for f in frames)
            return f"clip of {len(frames)} frames at levels {levels}; {user_prompt.splitlines()[0]}"
        assert pixel_values.shape == (sum(num_patches_list), 3, 448, 448), pixel_values.shape
        assert question.count("<image>") == len(num_patches_list)
        red = [round(float(t[0].float().mean()), 2) for t in pixel_values]
        return f"{len(num_patches_list)} tiles, red {red}; {question.splitlines()[len(num_patches_list)]}"
'''


def remote_code_checkpoint(path: Path) -> Path:
    """Save the model above, its code and a tokenizer into `path`, as a Hub checkpoint with
    `auto_map` would be laid out."""
    import importlib.util

    from tests.tiny_llm import tiny_llama

    tiny_llama(path)  # for its tokenizer; the weights are replaced below
    for stale in path.glob("model*.safetensors"):
        stale.unlink()
    (path / "modeling_contract_chat.py").write_text(MODELING)
    spec = importlib.util.spec_from_file_location("modeling_contract_chat", path / "modeling_contract_chat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ChatModel(module.ChatConfig()).save_pretrained(path)
    config = json.loads((path / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "modeling_contract_chat.ChatConfig",
                          "AutoModel": "modeling_contract_chat.ChatModel"}
    config["model_type"] = "contract_chat"
    (path / "config.json").write_text(json.dumps(config))
    return path
