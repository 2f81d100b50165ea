"""A real ``transformers serve`` process on 127.0.0.1 serving a tiny Llava saved to disk.

``save_tiny_llava(folder)`` builds ``llava-1.5-7b-tiny`` from the catalog with random weights
(``load_random``) and saves model + processor (with its chat template) by ``save_pretrained``.
Its language-model head is kept only for word tokens (tokens that decode to " <letters>"),
other rows are zeroed, so greedy decoding emits visible words and the server streams several
content chunks (random weights over the full 32k vocabulary mostly pick ids the stand-in
tokenizer decodes to nothing). The model is otherwise the catalog's.

``TransformersServe(folder)`` starts ``transformers serve FOLDER --host 127.0.0.1 --port P
--device cpu`` (offline), polls ``/health`` until a deadline, and kills the process on exit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional

HOST = "127.0.0.1"
START_DEADLINE_S = 120.0


def save_tiny_llava(folder: Path, model_id: str = "llava-1.5-7b-tiny") -> Path:
    import torch

    from vlmbench.backends.hf.loader import load_random
    from vlmbench.catalog import get

    loaded = load_random(get(model_id), torch.device("cpu"), torch.float32, seed=0, attn=None)
    tokenizer = loaded.processor.tokenizer
    words = [i for i in range(len(tokenizer))
             if (text := tokenizer.decode([i])).startswith(" ") and text[1:].isalpha()]
    assert len(words) > 20, "the stand-in tokenizer should have word tokens"
    head = loaded.model.get_output_embeddings().weight
    keep = torch.zeros(head.shape[0], dtype=torch.bool)
    keep[words] = True
    with torch.no_grad():
        head[~keep] = 0.0
    loaded.model.save_pretrained(folder)
    loaded.processor.save_pretrained(folder)
    assert loaded.processor.chat_template, "the saved processor needs a chat template"
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def serve_command() -> list[str]:
    exe = Path(sys.executable).with_name("transformers")
    return [str(exe)] if exe.exists() else [shutil.which("transformers") or "transformers"]


class TransformersServe:
    def __init__(self, folder: Path, log: Path) -> None:
        self.folder = folder
        self.log = log
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "TransformersServe":
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                serve_command() + ["serve", str(self.folder), "--host", HOST, "--port", str(self.port),
                                   "--device", "cpu"],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if json.loads(answer.read()).get("status") == "ok":
                        return self
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"transformers serve not healthy within {START_DEADLINE_S:g} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the process group this class started
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
