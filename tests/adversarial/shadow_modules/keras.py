raise SystemExit("attack: the submission's keras.py shadowed the real keras")
