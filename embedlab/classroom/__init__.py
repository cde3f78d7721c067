"""Stage 5, a class: many submissions graded into a gradebook, Gradescope's
results and its autograder bundle."""
