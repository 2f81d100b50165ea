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
