"""Published conversation formats as Jinja chat templates (used by stand-in processors).

Messages follow transformers' multimodal format: ``content`` is a list of
``{"type": "image"}`` and ``{"type": "text", "text": ...}`` parts.
"""

# LLaVA-1.5 / Vicuna v1: "USER: <image>\n{prompt} ASSISTANT:"
VICUNA_V1 = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }} {% endif %}"
    "{% if message['role'] == 'user' %}USER: "
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% endif %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %} {% endif %}"
    "{% if message['role'] == 'assistant' %}ASSISTANT: {{ message['content'][0]['text'] }}</s>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def conversation_template(*, preamble: str, user_open: str, user_close: str, assistant_open: str,
                          assistant_close: str, image: str = "<image>\n") -> str:
    """A Jinja chat template for a LLaVA-style conversation, built from its separators.

    Renders ``preamble`` once, each user turn as ``user_open`` + one ``image`` per image part +
    the text + ``user_close``, each assistant turn as ``assistant_open`` + text +
    ``assistant_close``, and ``assistant_open`` as the generation prompt. A system message,
    when given, replaces the preamble.
    """

    def lit(s: str) -> str:
        return "{{ " + repr(s) + " }}"

    def parts(kind: str, body: str) -> str:
        selected = "message['content'] | selectattr('type', 'equalto', '" + kind + "')"
        return "{% for part in " + selected + " %}" + body + "{% endfor %}"

    text = "{{ part['text'] }}"
    return (
        "{% set ns = namespace(system=false) %}"
        "{% for message in messages %}"
        "{% if message['role'] == 'system' %}{% set ns.system = true %}{% endif %}"
        "{% endfor %}"
        "{% if not ns.system %}" + lit(preamble) + "{% endif %}"
        "{% for message in messages %}"
        "{% if message['role'] == 'system' %}"
        "{% if message['content'] is string %}{{ message['content'] }}{% else %}" + parts("text", text) + "{% endif %}"
        "{% elif message['role'] == 'user' %}"
        + lit(user_open) + parts("image", lit(image)) + parts("text", text) + lit(user_close) +
        "{% elif message['role'] == 'assistant' %}"
        + lit(assistant_open) + parts("text", text) + lit(assistant_close) +
        "{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}" + lit(assistant_open) + "{% endif %}"
    )


# LLaVA's system prompts: conv_llava_v1 ("human": LLaVA-1.6 vicuna) and conv_vicuna_v1 ("user": Bunny,
# TinyLLaVA phi/gemma/v1 templates).
SYSTEM_CURIOUS_HUMAN = (
    "A chat between a curious human and an artificial intelligence assistant. The assistant gives "
    "helpful, detailed, and polite answers to the human's questions."
)
SYSTEM_CURIOUS_USER = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
    "helpful, detailed, and polite answers to the user's questions."
)

# llava-hf/llava-v1.6-vicuna-{7b,13b}-hf model card:
# "A chat between ... human's questions. USER: <image>\n{prompt} ASSISTANT:"
LLAVA_NEXT_VICUNA = conversation_template(
    preamble=SYSTEM_CURIOUS_HUMAN + " ", user_open="USER: ", user_close=" ",
    assistant_open="ASSISTANT:", assistant_close="</s>",
)
# llava-hf/llava-v1.6-mistral-7b-hf chat_template.json: "[INST] <image>\n{prompt} [/INST]"
LLAVA_NEXT_MISTRAL = conversation_template(
    preamble="", user_open="[INST] ", user_close=" [/INST]", assistant_open="",
    assistant_close="</s> ",
)
# llava-hf/llava-v1.6-34b-hf model card (ChatML, Yi):
# "<|im_start|>system\nAnswer the questions.<|im_end|><|im_start|>user\n<image>\n{prompt}<|im_end|>"
# "<|im_start|>assistant\n"
LLAVA_NEXT_CHATML = conversation_template(
    preamble="<|im_start|>system\nAnswer the questions.<|im_end|>", user_open="<|im_start|>user\n",
    user_close="<|im_end|>", assistant_open="<|im_start|>assistant\n", assistant_close="<|im_end|>",
)
CHATML_SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>")

# bczhou/tiny-llava-v1-hf model card: "USER: <image>\n{prompt}\nASSISTANT:"
TINY_LLAVA_V1_HF = conversation_template(
    preamble="", user_open="USER: ", user_close="\n", assistant_open="ASSISTANT:", assistant_close="</s>",
)
# Bunny model cards, TinyLLaVA legacy conv_phi/v1 and Factory "phi"/"gemma" templates:
# "A chat between a curious user ... user's questions. USER: <image>\n{prompt} ASSISTANT:"
CURIOUS_USER_V1 = conversation_template(
    preamble=SYSTEM_CURIOUS_USER + " ", user_open="USER: ", user_close=" ",
    assistant_open="ASSISTANT:", assistant_close="</s>",
)
# MiniGPT-4 CONV_VISION_Vicuna0 (minigpt4/conversation/conversation.py), SINGLE separator "###":
# "Give the following image: <Img>ImageContent</Img>. ... questions."
# "###Human: <Img><ImageHere></Img> {prompt}###Assistant: "
# The 32 query embeddings sit at <ImageHere>; Blip2Processor puts them at the start of the
# sequence instead, so the image part renders nothing here (same tokens, other position).
MINIGPT4_VICUNA_V0 = conversation_template(
    preamble="Give the following image: <Img>ImageContent</Img>. You will be able to see the image "
             "once I provide it to you. Please answer my questions.###",
    user_open="Human: <Img></Img> ", user_close="###", assistant_open="Assistant: ",
    assistant_close="###", image="",
)
# PaliGemma has no chat format: task prefixes ("answer en ...") after the image tokens; the
# processor adds BOS after the image and a trailing newline.
PALIGEMMA_PROMPT = "<image>answer en {prompt}"

# Qwen2.5-VL chat_template.json (ChatML with the default system prompt; an image is
# "<|vision_start|><|image_pad|><|vision_end|>" before the text):
# "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
# "<|vision_start|><|image_pad|><|vision_end|>{prompt}<|im_end|>\n<|im_start|>assistant\n"
QWEN_VL_IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
QWEN_VL_SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|video_pad|>")
QWEN2_5_VL_CHAT = conversation_template(
    preamble="<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n", user_open="<|im_start|>user\n",
    user_close="<|im_end|>\n", assistant_open="<|im_start|>assistant\n", assistant_close="<|im_end|>\n",
    image=QWEN_VL_IMAGE,
)
# Qwen3-VL chat_template.json: the same without a default system prompt.
QWEN3_VL_CHAT = conversation_template(
    preamble="", user_open="<|im_start|>user\n", user_close="<|im_end|>\n",
    assistant_open="<|im_start|>assistant\n", assistant_close="<|im_end|>\n", image=QWEN_VL_IMAGE,
)

# Gemma 3 chat_template (tokenizer_config.json of google/gemma-3-*-it): turns between
# "<start_of_turn>user\n" / "<start_of_turn>model\n" closed by "<end_of_turn>\n"; an image part is
# "<start_of_image>", which the processor expands to "\n\n<start_of_image>" + 256 soft tokens +
# "<end_of_image>\n\n". (The leading <bos> is the tokenizer's; the stand-in has none.)
GEMMA3_IMAGE = "<start_of_image>"
GEMMA3_SPECIAL_TOKENS = ("<start_of_image>", "<end_of_image>", "<start_of_turn>", "<end_of_turn>")
GEMMA3_CHAT = conversation_template(
    preamble="", user_open="<start_of_turn>user\n", user_close="<end_of_turn>\n",
    assistant_open="<start_of_turn>model\n", assistant_close="<end_of_turn>\n", image=GEMMA3_IMAGE,
)

# InternVL (HF-format checkpoints' chat_template): ChatML; an image part is "<IMG_CONTEXT>\n", which the
# processor expands to "<img>" + 256 x tiles "<IMG_CONTEXT>" + "</img>". (InternVL3's template adds a
# default Chinese system prompt; left out here, a few text tokens.)
INTERNVL_IMAGE = "<IMG_CONTEXT>\n"
INTERNVL_SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>", "<img>", "</img>", "<video>")
INTERNVL_CHAT = conversation_template(
    preamble="", user_open="<|im_start|>user\n", user_close="<|im_end|>\n",
    assistant_open="<|im_start|>assistant\n", assistant_close="<|im_end|>\n", image=INTERNVL_IMAGE,
)

# SmolVLM2 chat_template.json (HuggingFaceTB/SmolVLM2-*-Instruct):
# "<|im_start|>User:<image>{prompt}<end_of_utterance>\nAssistant:"; the processor expands <image> into
# per-tile "<fake_token_around_image><row_r_col_c>" + 64/81 "<image>" blocks and a "<global-img>" block.
SMOLVLM_SPECIAL_TOKENS = ("<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<global-img>",
                          "<video>", *(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)))
SMOLVLM_CHAT = conversation_template(
    preamble="<|im_start|>", user_open="User:", user_close="<end_of_utterance>\n", assistant_open="Assistant:",
    assistant_close="<end_of_utterance>\n", image="<image>",
)

# Llama 3.2 Vision Instruct chat template (the stand-in tokenizer's <s> plays <|begin_of_text|>):
# "<|start_header_id|>user<|end_header_id|>\n\n<|image|>{prompt}<|eot_id|>"
# "<|start_header_id|>assistant<|end_header_id|>\n\n"
LLAMA3_SPECIAL_TOKENS = ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|python_tag|>")
LLAMA3_VISION_CHAT = conversation_template(
    preamble="", user_open="<|start_header_id|>user<|end_header_id|>\n\n", user_close="<|eot_id|>",
    assistant_open="<|start_header_id|>assistant<|end_header_id|>\n\n", assistant_close="<|eot_id|>",
    image="<|image|>",
)

# llava-hf/llava-onevision-qwen2-*-ov-hf chat_template.json (Qwen2 ChatML without a system turn):
# "<|im_start|>user <image>\n{prompt}<|im_end|><|im_start|>assistant\n"
LLAVA_ONEVISION_CHAT = conversation_template(
    preamble="", user_open="<|im_start|>user ", user_close="<|im_end|>", assistant_open="<|im_start|>assistant\n",
    assistant_close="<|im_end|>",
)

# Mistral-Small-3.1 (Tekken, v7 template) without its default system prompt: "[INST][IMG]{prompt}[/INST]";
# the processor expands [IMG] to rows of [IMG] ... [IMG_BREAK], the last row ending in [IMG_END].
MISTRAL3_SPECIAL_TOKENS = ("[INST]", "[/INST]", "[IMG_BREAK]", "[IMG_END]")
MISTRAL3_CHAT = conversation_template(
    preamble="", user_open="[INST]", user_close="[/INST]", assistant_open="", assistant_close="</s>", image="[IMG]",
)

# GLM-4.1V-Thinking (chat_template.jinja of zai-org/GLM-4.1V-9B-Thinking, as transformers' glm4v docs render it):
# "[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|end_of_image|>{prompt}<|assistant|>\n"; the next role tag
# ends a turn. The processor expands <|image|> to the image's tokens.
GLM4V_IMAGE = "<|begin_of_image|><|image|><|end_of_image|>"
GLM4V_SPECIAL_TOKENS = ("[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>", "<|begin_of_image|>",
                        "<|end_of_image|>", "<|video|>", "<|begin_of_video|>", "<|end_of_video|>", "<|endoftext|>")
GLM4V_CHAT = conversation_template(
    preamble="[gMASK]<sop>", user_open="<|user|>\n", user_close="", assistant_open="<|assistant|>\n",
    assistant_close="", image=GLM4V_IMAGE,
)
