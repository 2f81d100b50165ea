"""Worker <-> job messages are typed: every message type has exactly one handler, messages are
frozen and survive the pipe (pickling) unchanged."""

from __future__ import annotations

import dataclasses
import pickle
import typing

import pytest

from vlmbench.jobs.job import JobRunner
from vlmbench.vocab import messages


def test_every_worker_message_has_one_handler_in_the_job():
    sent = set(typing.get_args(messages.WorkerMessage))
    handled = {t for t in JobRunner._HANDLERS if not t.__name__.startswith("_")}
    assert handled == sent


@pytest.mark.parametrize("message", [
    messages.Loaded({"dtype": "float32"}, {"tokenizer": "x"}), messages.LoadFailed("oom", "out of memory"),
    messages.Started(3, "w-1"), messages.Rows([{"request_id": "r"}]), messages.Stopped(["r"], "why"),
    messages.Fatal("Traceback ..."), messages.Done(), messages.JobStarted({"hostname": "h"}),
    messages.JobRow({"request_id": "r"}), messages.JobFinished({}, "lost"),
])
def test_messages_are_frozen_and_survive_the_pipe(message):
    assert pickle.loads(pickle.dumps(message)) == message
    field = next(iter(dataclasses.fields(message)), None)
    if field is not None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(message, field.name, None)
