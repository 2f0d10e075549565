"""Small synthetic long documents with planted facts, for protocol tests."""

from __future__ import annotations

FILLER = ("Paragraph {i} records routine notes about the harbour warehouse, its loading "
          "schedule and the weather on the quay that week.")


def planted_document(paragraphs: int, facts: dict[int, str],
                     sections: tuple[str, ...] = ()) -> str:
    """`paragraphs` filler paragraphs (with `facts[i]` replacing paragraph i), optionally
    split evenly under Markdown headings named `sections`."""
    body = [facts.get(i, FILLER.format(i=i)) for i in range(paragraphs)]
    if not sections:
        return "\n\n".join(body)
    per = max(1, paragraphs // len(sections))
    out: list[str] = []
    for n, title in enumerate(sections):
        part = body[n * per:] if n == len(sections) - 1 else body[n * per:(n + 1) * per]
        out.append(f"# {title}\n\n" + "\n\n".join(part))
    return "\n\n".join(out)


def filler_sentences(paragraphs: int) -> list[str]:
    return [FILLER.format(i=i) for i in range(paragraphs)]
