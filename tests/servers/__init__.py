"""Servers that tests (and bench scripts) start on 127.0.0.1: a scripted SSE server for
failure injection, and a real ``transformers serve`` process with a tiny saved model."""
