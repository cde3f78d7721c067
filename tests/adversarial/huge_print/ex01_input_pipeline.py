import sys

line = "spam " * 2000 + "\n"
while True:  # attack: flood the output
    sys.stdout.write(line)
    sys.stderr.write(line)
