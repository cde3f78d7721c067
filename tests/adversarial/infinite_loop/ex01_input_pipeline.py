while True:  # attack: hang the grader
    pass
