"""Stand-in processors: an offline tokenizer plus the model's real image-processor config.

The image processor is transformers' own class for the model, built from the checkpoint's
``preprocessor_config.json`` values, so resizing, tiling (AnyRes) and image-token expansion
are the real ones. Where torchvision is installed the torchvision ("fast") class is used, as
GPU users run it; otherwise the PIL class. ``processor_kind`` tells which one a run used.
"""

from __future__ import annotations

from typing import Any

import transformers
from transformers.utils import is_torchvision_available

OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
SIGLIP_MEAN = [0.5, 0.5, 0.5]
SIGLIP_STD = [0.5, 0.5, 0.5]


def image_processor(base: str, **kwargs: Any) -> Any:
    """Instantiate ``base`` (e.g. "CLIPImageProcessor"), preferring the torchvision class.

    transformers 5.2x names the torchvision class ``X`` and the PIL one ``XPil``; earlier 5.x
    releases name them ``XFast`` and ``X``. Both layouts are handled.
    """
    fast_first = is_torchvision_available()
    candidates = [base, base + "Fast"] if fast_first else [base + "Pil", base]
    fallback = None
    last_error: Exception | None = None
    for name in candidates:
        cls = getattr(transformers, name, None)
        if cls is None:
            continue
        try:
            proc = cls(**kwargs)
        except ImportError as exc:  # a torchvision class without torchvision
            last_error = exc
            continue
        if not fast_first or processor_kind(proc) == "fast":
            return proc
        fallback = fallback or proc
    if fallback is not None:
        return fallback
    raise RuntimeError(f"no usable image processor class for {base}: {last_error}")


def processor_kind(processor: Any) -> str:
    """'fast' for torchvision-backed image processors, 'pil' otherwise."""
    ip = getattr(processor, "image_processor", processor)
    for klass in type(ip).__mro__:
        name = klass.__name__
        if "Torchvision" in name or name.endswith("Fast"):
            return "fast"
    return "pil"


def clip_image_processor(size: int = 336, pad_to_square: bool = True) -> Any:
    """LLaVA-1.5's preprocessing: pad to a square (mean colour), resize, centre-crop, CLIP norm."""
    return image_processor(
        "LlavaImageProcessor",
        size={"shortest_edge": size},
        crop_size={"height": size, "width": size},
        do_center_crop=True,
        do_pad=pad_to_square,
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
        resample=3,
    )


def siglip_image_processor(size: int, pad_to_square: bool) -> Any:
    """SigLIP's preprocessing: resize to size x size (no crop), [-1, 1] normalisation.

    ``pad_to_square`` first pads the image to a square with the mean colour, as LLaVA-style
    code with ``image_aspect_ratio="pad"`` does (Bunny, TinyLLaVA legacy) before SigLIP's
    processor; without it the image is stretched to the square (TinyLLaVA Factory, PaliGemma).
    """
    if pad_to_square:
        return image_processor(
            "LlavaImageProcessor",
            size={"height": size, "width": size},
            do_center_crop=False,
            do_pad=True,
            image_mean=SIGLIP_MEAN,
            image_std=SIGLIP_STD,
            resample=3,
        )
    return image_processor(
        "SiglipImageProcessor",
        size={"height": size, "width": size},
        image_mean=SIGLIP_MEAN,
        image_std=SIGLIP_STD,
        resample=3,
    )


def llava_processor(tokenizer: Any, *, image_size: int = 336, patch_size: int = 14,
                    strategy: str = "default", cls_token: bool = True,
                    image_proc: Any = None, chat_template: str | None = None) -> Any:
    """A ``LlavaProcessor`` that expands ``<image>`` to (image_size/patch)^2 [+CLS, -1 for default]."""
    return transformers.LlavaProcessor(
        image_processor=image_proc if image_proc is not None else clip_image_processor(image_size),
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy=strategy,
        num_additional_image_tokens=1 if cls_token else 0,
        chat_template=chat_template or tokenizer.chat_template,
    )


class ExpandingProcessor:
    """Stand-in processor for vlmbench archs: expands each image placeholder into the number
    of visual tokens the real system feeds its LLM, and prepares the image tensors.

    ``image_inputs(images) -> dict`` returns the tensors the model's vision pipeline takes
    (``pixel_values`` and any extras, e.g. a high-resolution view); ``tokens_per_image(image)``
    returns how many LLM positions one image occupies (fixed for most systems).
    Calls look like transformers processors: ``proc(images=[...], text=[...], return_tensors="pt")``.
    """

    def __init__(self, tokenizer: Any, image_inputs: Any, tokens_per_image: Any,
                 image_token: str = "<image>", chat_template: str | None = None,
                 image_processor: Any = None) -> None:
        self.tokenizer = tokenizer
        self.image_inputs = image_inputs
        self.tokens_per_image = tokens_per_image
        self.image_token = image_token
        self.chat_template = chat_template or getattr(tokenizer, "chat_template", None)
        self.image_processor = image_processor

    def apply_chat_template(self, messages: Any, **kwargs: Any) -> Any:
        return self.tokenizer.apply_chat_template(messages, chat_template=self.chat_template, **kwargs)

    def __call__(self, images: Any = None, text: Any = None, return_tensors: str = "pt",
                 padding: bool = False, **kwargs: Any) -> Any:
        from transformers import BatchFeature

        texts = [text] if isinstance(text, str) else list(text)
        # one list of images per text (several images a request) is taken in order
        images = [im for entry in images or [] for im in (entry if isinstance(entry, (list, tuple)) else [entry])]
        expanded = []
        index = 0
        for t in texts:
            parts = t.split(self.image_token)
            out = parts[0]
            for part in parts[1:]:
                if index >= len(images):
                    raise ValueError("more image placeholders than images")
                out += self.image_token * int(self.tokens_per_image(images[index])) + part
                index += 1
            expanded.append(out)
        if index != len(images):
            raise ValueError(f"{len(images)} images but {index} image placeholders in the text")
        enc = self.tokenizer(expanded, return_tensors=return_tensors, padding=padding or len(expanded) > 1)
        data = dict(enc)
        if images:
            data.update(self.image_inputs(images))
        return BatchFeature(data=data, tensor_type=None)

    def _get_num_multimodal_tokens(self, image_sizes: Any = None, **kwargs: Any) -> Any:
        """LLM positions per image of each (height, width), as transformers processors answer
        it: ``tokens_per_image`` on a blank image of that size."""
        from PIL import Image
        from transformers.processing_utils import MultiModalData

        counts = [int(self.tokens_per_image(Image.new("RGB", (int(w), int(h)), (128, 128, 128))))
                  for h, w in image_sizes or []]
        return MultiModalData(num_image_tokens=counts)
