"""vlmbench's own PyTorch models for seed systems transformers lacks (CogVLM, MGM, ...).

Each module builds one architecture from transformers building blocks where they fit and
supports ``generate()`` with a KV cache, so the same streamer timing applies to every model.
``base.py`` holds the glue shared by "vision pipeline -> embeddings -> causal LM" systems.
"""
