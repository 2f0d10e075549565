"""Rebuild `pricing/data/tokenizers/mistral_spm.json.gz` from Mistral's SentencePiece model.

Provenance of the shipped file: `mistral_common/data/tokenizer.model.v1` from the
`mistral-common` 1.13.1 wheel on PyPI (Apache-2.0, sha256 dadfd56d...c4055), the tokenizer of
Mistral-7B v0.1/v0.2 and Mixtral-8x7B. The v3 model (mistral-7b-instruct-v0.3,
Mixtral-8x22B) adds 768 control tokens and gives identical counts on plain text.

Not run by the project: it needs `sentencepiece` and the wheel's file, which are dev-time
only. Usage:
    pip install --target /tmp/spm sentencepiece
    PYTHONPATH=/tmp/spm python bench/tokenize/convert_spm.py tokenizer.model.v1 out.json
    gzip -9 -n -c out.json > pricing/data/tokenizers/mistral_spm.json.gz
The merges are rebuilt the way transformers' SentencePiece extractor does it (pairs ranked
by the id of the merged piece). Checked against sentencepiece itself on 30 FLORES-200
sentences x 204 languages: 9 tokens of 675,143 differ in count (runs of two spaces).
"""

from __future__ import annotations

import sys


def main(source: str, target: str) -> None:
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, normalizers
    from tokenizers.models import BPE

    sp = spm.SentencePieceProcessor(model_file=source)
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    ranked: list[tuple[int, int, int, str, str]] = []
    for piece, rank in vocab.items():
        if sp.is_control(rank) or sp.is_unknown(rank) or sp.is_byte(rank):
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                ranked.append((rank, vocab[left], vocab[right], left, right))
    ranked.sort()
    model = BPE(vocab, [(left, right) for *_, left, right in ranked],
                unk_token=sp.id_to_piece(sp.unk_id()), fuse_unk=True, byte_fallback=True)
    tok = Tokenizer(model)
    tok.normalizer = normalizers.Sequence(
        [normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.save(target)
    print(f"saved {target}: {tok.get_vocab_size()} pieces, {len(ranked)} merges")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
