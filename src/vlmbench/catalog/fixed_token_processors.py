"""Stand-in processors for vlmbench archs whose image always occupies the same number of LLM
positions (MiniGPT-v2/-4 LLaMA-2, TinyGPT-V, Bunny S2): the real image preprocessing plus
``ExpandingProcessor``'s placeholder expansion."""

from __future__ import annotations

from typing import Any, Callable

from vlmbench.catalog.processors import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, ExpandingProcessor, image_processor


def eva_image_processor(size: int) -> Any:
    """BLIP-2's eval transform, used by MiniGPT-4/v2 and TinyGPT-V (``blip2_image_eval`` in
    ``minigpt4/processors/blip_processors.py``): RGB, bicubic resize to size x size (no
    crop, aspect ratio not kept), scale to [0, 1], OpenAI CLIP mean/std."""
    return image_processor(
        "BlipImageProcessor",
        size={"height": size, "width": size},
        resample=3,
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
        do_convert_rgb=True,
    )


def fixed_token_processor(make_image_processor: Callable[[], Any], tokens_per_image: int,
                          image_token: str) -> Callable[[Any], ExpandingProcessor]:
    """A ``ProcessorSpec.build``: tokenizer -> ExpandingProcessor giving every image
    ``tokens_per_image`` placeholders and ``pixel_values`` from the image processor."""

    def build(tokenizer: Any) -> ExpandingProcessor:
        image_proc = make_image_processor()

        def image_inputs(images: list) -> dict[str, Any]:
            return {"pixel_values": image_proc(images=images, return_tensors="pt")["pixel_values"]}

        return ExpandingProcessor(
            tokenizer,
            image_inputs=image_inputs,
            tokens_per_image=lambda image: tokens_per_image,
            image_token=image_token,
            image_processor=image_proc,
        )

    return build
