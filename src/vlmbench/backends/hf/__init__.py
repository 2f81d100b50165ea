"""In-process transformers backend: random-weight catalog models and pretrained checkpoints."""
