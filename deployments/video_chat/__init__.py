"""The parts shared by the vision-language engines (qwen_vl, opengvlab_chat).

engine: the `vlm` role's requests and answers, and the base class that serves them.
frames: frames sampled at chosen times, scaled for the model.
prompts: what the models are asked (a shot's description, a grounded answer) and their answers cleaned.
"""
