"""A student's exercise 5 under the wrong file name (ex5_, not ex05_): the grader must say so.

Its content does not matter: a file of another name is never imported.
"""


def one_hot(term, vocabulary):
    return [1.0 if term == entry else 0.0 for entry in vocabulary]
