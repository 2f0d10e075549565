"""The learning loop: shadow labels, exploration and online update of the serving k-NN.

    rubrics      the judge's fixed, versioned rubric prompts and a robust grade parser
    graders      exact-match grading against a reference answer
    budget       the tenant's separate learning budget (reserve/settle, purpose=learning)
    shadow       the bounded background runner of shadow jobs (sheds itself under load)
    judge        grading one answer: exact match where a reference exists, else the LLM judge
    loop         what the request path calls after a client has its answer
    explore      Thompson-sampling exploration around the router's greedy decision
    online       labelled outcomes joining a serving k-NN's reference set
    table        records' outcomes as a RouterBench-format routing dataset
"""
