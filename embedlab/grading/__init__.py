"""Stage 3, grading one exercise: the grader's copy of the data, how it trains
and scores a model, the collection contract and one collector per exercise."""
