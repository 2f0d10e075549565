"""The gateway's APIs beyond chat, one module per API, each over the one chat pipeline.

    embeddings   POST /v1/embeddings
    completions  POST /v1/completions (legacy text completions, served by chat models)
    responses    POST /v1/responses
    messages     POST /v1/messages, POST /v1/messages/count_tokens (Anthropic)
"""

from __future__ import annotations

from fastapi import FastAPI


def install_entrypoints(app: FastAPI) -> None:
    """Registers every endpoint module's routes on `app`."""
    from gateway.entrypoints import completions, embeddings, messages, responses

    embeddings.install(app)
    completions.install(app)
    responses.install(app)
    messages.install(app)
