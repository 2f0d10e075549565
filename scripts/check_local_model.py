"""Exits 0 when llama.cpp can load SmolLM2 and generate a token on this CPU.

scripts/setup.sh runs it in a child process: a llama.cpp compiled for another CPU, or for
instructions that this VM advertises but its kernel does not enable (AMX, some AVX-512),
dies with SIGILL or a general-protection fault on its first prompt, not at import.
"""

from __future__ import annotations

import sys

from gateway.localmodel import find_smollm2_gguf


def main() -> int:
    gguf = find_smollm2_gguf()
    if gguf is None:
        print("check_local_model: no SmolLM2 GGUF installed", file=sys.stderr)
        return 1
    from llama_cpp import Llama

    # A chat prompt as the tests send: its prompt batch takes the matrix kernels that crash,
    # where a one-word completion does not.
    model = Llama(model_path=str(gguf), n_ctx=4096, n_threads=2, verbose=False)
    model.create_chat_completion(
        messages=[{"role": "user", "content": "What is 2+2? Answer with one number."}],
        max_tokens=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
