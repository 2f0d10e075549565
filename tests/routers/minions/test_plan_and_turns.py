"""Reading the remote's plans and decisions, and the final answer the client gets."""

from __future__ import annotations

from routers.minions.plan import ALL_CHUNKS, Task, fallback_plan, read_plan
from routers.minions.turns import NO_ANSWER, as_final, fallback_answer, read_turn
from tests.routers.minions.fakes import REMOTE, stage


def test_plan_in_tasks_object_or_bare_list() -> None:
    plan = {"tasks": [{"instructions": "Find X", "keywords": ["x"]},
                      {"instructions": "Find Y", "select": {"chunks": [1]}},
                      {"instructions": "Find Z"}]}
    assert read_plan(plan, 10) == [Task("Find X", {"keywords": ["x"]}),
                                   Task("Find Y", {"chunks": [1]}),
                                   Task("Find Z", dict(ALL_CHUNKS))]
    assert read_plan(["Find X"], 10) == [Task("Find X")]


def test_plan_drops_unusable_tasks_and_caps_the_count() -> None:
    plan = {"tasks": [{"instructions": ""}, 3, {"task": "a"}, {"instruction": "b"}, "c"]}
    assert [t.instructions for t in read_plan(plan, 2) or []] == ["a", "b"]
    assert read_plan({"tasks": []}, 5) is None
    assert read_plan({"plan": "x"}, 5) is None


def test_plan_never_carries_code() -> None:
    # A plan is data: unknown keys (like code) are simply not part of any task.
    plan = {"tasks": [{"instructions": "Find X", "code": "import os; os.system('x')"}]}
    assert read_plan(plan, 5) == [Task("Find X", dict(ALL_CHUNKS))]


def test_fallback_plan_asks_the_question_everywhere() -> None:
    (task,) = fallback_plan("Who won?")
    assert "Who won?" in task.instructions and task.rule == ALL_CHUNKS


def test_read_turn() -> None:
    final = read_turn({"decision": "provide_final_answer", "answer": "42"}, must_answer=False)
    assert final is not None and final.final and final.answer == "42"
    ask = read_turn({"decision": "request_additional_info", "message": "what?"},
                    must_answer=False)
    assert ask is not None and not ask.final and ask.request == "what?"
    assert read_turn({"decision": "request_additional_info", "message": "what?"},
                     must_answer=True) is None
    assert read_turn({"decision": "request_additional_info"}, must_answer=False) is None
    more = read_turn({"decision": "request_additional_info", "feedback": "f",
                      "tasks": [{"instructions": "t"}]}, must_answer=False, max_tasks=3)
    assert more is not None and more.tasks == [Task("t")]
    assert read_turn(["x"], must_answer=False) is None


def test_fallback_answer() -> None:
    assert fallback_answer("Plain prose answer.") == "Plain prose answer."
    assert fallback_answer('{"answer": "a", "decision": "weird"}') == "a"
    assert fallback_answer('{"message": "a question"}') == NO_ANSWER


def test_as_final_replaces_only_the_content() -> None:
    original = stage(REMOTE, [{"role": "user", "content": "q"}], '{"answer": "x"}')
    final = as_final(original, "x")
    assert final.text == "x"
    assert final.usage == original.usage and final.cost_usd == original.cost_usd
    assert original.text == '{"answer": "x"}'
