"""A task label for a question when the dataset records none (LLMRouter's files).

The per-task lookup baseline needs an `eval_name`. LLMRouter's dcrouter files mix about a
dozen public benchmarks without saying which; their surface forms differ enough for a few
ordered rules, first match wins:

=================  ===========================================================
label              rule (on the question text)
=================  ===========================================================
code_function      starts with a Python `def`/`import`/`from` and has a docstring
                   (HumanEval-style)
code_spec          "Write a (python) function ..." (MBPP-style)
logic_puzzle       "Q: There are N houses ..." (zebra puzzles)
word_list          a bare comma-separated list of at least 10 single words
math_competition   LaTeX markup (`$x$`, `$...$` with a backslash command, `\\frac`)
reading            long (> 400 chars) passage questions: mentions "passage" or a
                   blank "_", or long multi-sentence text (RACE-style)
science            long (> 150 chars) with science vocabulary (GPQA-style)
math_word          a number, and "how many/much", "what is the total", "\\boxed"
                   (GSM8K-style word problems)
multiple_choice    "Which of the following ..." (ARC/MMLU-style stems)
science            (again) short, with science vocabulary
open_qa_lower      short, starts lower-case, no question mark (Natural Questions)
trivia             short question ending in "?" starting with Who/Which/What/In which
completion         anything else: a sentence to complete (OpenBookQA/CommonsenseQA)
=================  ===========================================================

The rules are a heuristic, not ground truth. bench/knn prints the label counts.
"""

from __future__ import annotations

import re

_CODE_FUNCTION = re.compile(r"^\s*(def |import |from \w+ import )", re.DOTALL)
_CODE_SPEC = re.compile(r"^\s*write a (python )?function", re.IGNORECASE)
_PUZZLE = re.compile(r"^\s*Q:\s*There (are|is) \d+ houses", re.IGNORECASE)
_WORD = re.compile(r"^[A-Za-z'\- ]{1,25}$")
_LATEX = re.compile(
    r"\\(frac|sqrt|begin|mathbf|dots|cdot|le|ge|pi|theta|\[|\()|\$[^$\n]*\\|\$[^$\s]{1,20}\$"
)
_MATH_WORD = re.compile(
    r"(how (many|much|long|far|old)|what is the total|\\boxed|what percentage|how much money)",
    re.IGNORECASE,
)
_SCIENCE = re.compile(
    r"(compound|reaction|molecule|nmr|spin|electron|quantum|isomer|enzyme|protein|"
    r"hamiltonian|eigen|mutation|\bph\b|reagent|synthesis|wavelength|orbital|galax|planet|"
    r"astronom|spectr|plasmid|photon|particle|voltage|\bcells?\b|gene\b|\bdna\b)",
    re.IGNORECASE,
)
_TRIVIA_START = re.compile(r"^\s*(who|which|what|in which|where|when|how)\b", re.IGNORECASE)


def infer_task(question: str) -> str:
    """The task label the rules above give `question`."""
    text = question.strip()
    if _CODE_FUNCTION.match(question) and '"""' in question:
        return "code_function"
    if _CODE_SPEC.match(text):
        return "code_spec"
    if _PUZZLE.match(text):
        return "logic_puzzle"
    if _is_word_list(text):
        return "word_list"
    if _LATEX.search(text):
        return "math_competition"
    if len(text) > 400 and ("passage" in text.lower() or " _" in text or text.count(". ") > 4):
        return "reading"
    if len(text) > 150 and _SCIENCE.search(text):
        return "science"
    if _is_word_problem(text):
        return "math_word"
    if re.match(r"^\s*which of the following", text, re.IGNORECASE):
        return "multiple_choice"
    if _SCIENCE.search(text):
        return "science"
    if len(text) < 120 and text[:1].islower() and not text.endswith("?"):
        return "open_qa_lower"
    if len(text) < 160 and text.endswith("?") and _TRIVIA_START.match(text):
        return "trivia"
    return "completion"


def _is_word_list(text: str) -> bool:
    items = [w.strip() for w in text.split(",")]
    return len(items) >= 10 and all(_WORD.match(w) for w in items)


def _is_word_problem(text: str) -> bool:
    numbers = len(re.findall(r"\d+(?:[.,]\d+)?", text))
    if numbers and _MATH_WORD.search(text):
        return True
    return numbers >= 2 and len(text) > 80 and text.rstrip().endswith(("?", "}."))
