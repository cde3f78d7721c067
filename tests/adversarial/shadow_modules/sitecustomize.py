raise SystemExit("attack: sitecustomize.py from the submission ran")
