"""Long-document question tasks with planted facts whose answers are known.

Filler text is FLORES-200 English devtest (CC-BY-SA-4.0, at ../shared/data) when present,
otherwise generated sentences, so the benchmark also runs on a fresh clone. Each document
holds several facts of the same kind (distractors) and the question asks for one of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from pricing.tokenizers import HeuristicTokenizer

FLORES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "flores200" / \
    "devtest_full" / "eng_Latn.devtest"

COLOURS = ["amber", "cobalt", "crimson", "ivory", "jade", "violet", "saffron", "slate"]
PEOPLE = ["Ada Lindqvist", "Tomas Okafor", "Mei Tanaka", "Ravi Menon", "Lucia Ferreira",
          "Jonas Weber", "Amira Haddad", "Piotr Nowak"]
TOWNS = ["Tromsø", "Valparaíso", "Kisumu", "Ushuaia", "Mandalay", "Hobart", "Galway",
         "Matera"]
SHIPS = ["Northern Star", "Grey Heron", "Silver Tide", "Kestrel", "Morning Glory",
         "Albatross", "Sea Lantern", "Blue Fjord"]


@dataclass(frozen=True)
class DocTask:
    document: str
    question: str
    answer: str
    kind: str

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.document},
                {"role": "user", "content": self.question}]


def filler_source() -> tuple[list[str], str]:
    """Filler sentences and where they come from."""
    if FLORES.is_file():
        lines = [ln.strip() for ln in FLORES.read_text(encoding="utf-8").splitlines()]
        return [ln for ln in lines if ln], "FLORES-200 eng_Latn devtest"
    rng = random.Random(7)
    subjects = ["The committee", "The harbour master", "A local reporter", "The council"]
    verbs = ["reviewed", "discussed", "postponed", "approved"]
    objects = ["the budget", "the ferry timetable", "the new library", "road repairs"]
    return [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} on day {i}."
            for i in range(2000)], "generated filler"


def _facts(kind: str, rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """(fact sentence, question, answer) triples of one kind, with distinct keys."""
    if kind == "code":
        keys = rng.sample(COLOURS, count)
        codes = rng.sample(range(1000, 10000), count)
        return [(f"The access code for the {k} vault is {c}.",
                 f"What is the access code for the {k} vault?", str(c))
                for k, c in zip(keys, codes, strict=True)]
    if kind == "town":
        people, towns = rng.sample(PEOPLE, count), rng.sample(TOWNS, count)
        return [(f"{p} was born in the town of {t}.", f"In which town was {p} born?", t)
                for p, t in zip(people, towns, strict=True)]
    ships, years = rng.sample(SHIPS, count), rng.sample(range(1850, 1990), count)
    return [(f"The ship {s} first left the harbour in {y}.",
             f"In which year did the ship {s} first leave the harbour?", str(y))
            for s, y in zip(ships, years, strict=True)]


def build_tasks(n: int, doc_tokens: int, seed: int = 0, facts_per_doc: int = 4,
                sentences_per_paragraph: int = 5) -> tuple[list[DocTask], str]:
    """`n` tasks over documents of about `doc_tokens` tokens; and the filler's source."""
    filler, source = filler_source()
    count = HeuristicTokenizer().count
    rng = random.Random(seed)
    tasks: list[DocTask] = []
    for i in range(n):
        kind = ("code", "town", "year")[i % 3]
        facts = _facts(kind, rng, facts_per_doc)
        sentences: list[str] = []
        while count(" ".join(sentences)) < doc_tokens:
            sentences.append(rng.choice(filler))
        for fact, _, _ in facts:
            sentences.insert(rng.randrange(len(sentences) + 1), fact)
        paragraphs = [" ".join(sentences[j:j + sentences_per_paragraph])
                      for j in range(0, len(sentences), sentences_per_paragraph)]
        per_part = max(1, len(paragraphs) // 4)
        parts = [f"# Part {p + 1}\n\n" + "\n\n".join(paragraphs[p * per_part:(p + 1) * per_part]
                                                    if p < 3 else paragraphs[p * per_part:])
                 for p in range(4)]
        _, question, answer = facts[rng.randrange(len(facts))]
        tasks.append(DocTask("\n\n".join(parts), question, answer, kind))
    return tasks, source
