"""The protocol's prompts. Remote prompts never contain the document; local prompts do."""

from __future__ import annotations

# -- Minion: the remote chats with the local model ---------------------------------------

MINION_REMOTE_SYSTEM = """\
You are the expert in a two-model team answering a user's question about a document. You \
cannot see the document. A small assistant model has read it and will answer your \
questions. It is not very capable: ask it simple, specific, self-contained questions, one \
at a time, and be sceptical of surprising answers.

Reply every time with exactly one JSON object and no other text, either
{{"decision": "request_additional_info", "message": "<your next question for the assistant>"}}
or
{{"decision": "provide_final_answer", "answer": "<the final answer for the user>"}}
You may ask at most {max_rounds} question(s)."""

MINION_REMOTE_START = "The user's question:\n{question}{instructions}\n\nReply with JSON."

MINION_REMOTE_NEXT = """\
The assistant replied:
{answer}

You have asked {asked} of at most {max_rounds} question(s). Reply with JSON: ask another \
question, or give the final answer."""

MINION_REMOTE_FORCE = """\
The assistant replied:
{answer}

That was your last question. Give the final answer now, as \
{{"decision": "provide_final_answer", "answer": "..."}}."""

MINION_LOCAL_SYSTEM = """\
You help an expert answer a question about the document below. The expert cannot see the \
document. Answer the expert's questions briefly, using only the document, and quote the \
sentence you rely on. If the document does not say, reply "not found".

# Document{excerpt_note}
{document}

# The user's question
{question}"""

EXCERPT_NOTE = " (the parts most relevant to the current question)"

# -- MinionS: the remote plans jobs over chunks, local models run them ---------------------

MINIONS_REMOTE_SYSTEM = """\
You are the expert in a team answering a user's question about a long document that you \
cannot see. The document is split into {n_chunks} numbered chunks (0 to {last_chunk}).\
{outline}
Small worker models read the chunks for you. You write tasks; every task runs on every \
chunk it selects, and each run reports {{"explanation", "citation", "answer"}}, with answer \
null when the chunk has nothing relevant. Workers are not very capable: make each task \
simple, specific and self-contained (for example "Extract the 2023 revenue figure, with its \
unit"), and never ask a worker to combine information from several chunks: you do that.

Write a job plan as JSON only:
{{"tasks": [{{"instructions": "<what a worker does with one chunk>", "chunks": "all"}}]}}
Instead of "chunks": "all" a task may select "chunks": [0, 3] (chunk numbers), \
"keywords": ["word", ...] (chunks containing any of them) or "section": "<section title>". \
At most {max_tasks} tasks per plan."""

OUTLINE = "\nIts sections, with their chunk numbers:\n{lines}"

MINIONS_REMOTE_START = "The user's question:\n{question}{instructions}\n\nWrite the job plan."

MINIONS_REMOTE_RESULTS = """\
Worker results of round {round} of at most {max_rounds} ({jobs} job(s) run, {answered} \
with an answer; jobs without an answer are omitted):
{results}

If this is enough, reply {{"decision": "provide_final_answer", "answer": "<the final \
answer for the user>"}}. Otherwise reply {{"decision": "request_additional_info", \
"feedback": "<what is missing>", "tasks": [<new tasks, in the plan format>]}}."""

MINIONS_REMOTE_FORCE = """\
Worker results of the last round ({jobs} job(s) run, {answered} with an answer; jobs \
without an answer are omitted):
{results}

No more rounds are possible. Give the final answer now, as \
{{"decision": "provide_final_answer", "answer": "..."}}."""

MINIONS_REMOTE_REPLAN = "Write the job plan for the next round, as JSON, addressing: {feedback}"

MINIONS_LOCAL_SYSTEM = """\
You read one chunk of a document and do one task on it. Reply with only a JSON object:
{"explanation": "<brief reasoning>", "citation": "<the exact words of the chunk you rely \
on, or null>", "answer": "<your answer, or null if this chunk does not contain it>"}"""

MINIONS_LOCAL_USER = """\
Chunk {index}{section}:
\"\"\"
{text}
\"\"\"

Task: {instructions}
(The user's overall question, for context: {question})"""


def instructions_note(instructions: str) -> str:
    """The application's short system instructions, as a suffix of the remote's first turn."""
    return f"\n\nInstructions from the user's application:\n{instructions}" if instructions else ""
