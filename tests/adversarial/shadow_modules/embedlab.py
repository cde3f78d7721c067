raise SystemExit("attack: the submission's embedlab.py shadowed the grader")
