"""The parts shared by the vision-language engines (qwen_vl, opengvlab_chat).

frames: frames sampled at chosen times, scaled for the model.
prompts: what the models are asked (a shot's description, a grounded answer) and their answers cleaned.
"""
