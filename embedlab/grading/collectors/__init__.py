"""One collector per exercise: call the submission, gather plain data.

`embedlab.grading.contract.collector(exercise_id)` finds the module
``embedlab.grading.collectors.<exercise id>``; each defines

* ``collect(collection)``: fills ``collection.result`` (see
  `embedlab.grading.contract.Collection`), one recorded step per call of
  student code;
* ``RETURNS``: every key it may put in the result, with its kind (see
  `embedlab.grading.schema`); what an isolated worker sends back is checked
  against it;
* ``TRUSTED_REFERENCE = True`` if it computes reference values before it
  imports the submission. A run without a submission then yields exactly
  those values, and the isolation layer recomputes them in a worker that runs
  no student code, overriding the student's copy.

A collector runs where the student's code runs. It is trusted code in an
untrusted place, so it computes every reference value (from Keras built-ins
or the grader's own reader) *before* it imports the submission, and returns
only plain data for the tests to judge. What several collectors share lives
in `embedlab.grading.models` and `embedlab.grading.figures`.
"""
