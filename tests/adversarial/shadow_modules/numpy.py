raise SystemExit("attack: the submission's numpy.py shadowed the real numpy")
