"""Attack: 120 sparse 16 MB "PNG" files in the figures folder (the grader once copied 1.9 GB of them);
the exercise itself is missing."""
import os
OUT = os.path.join(os.environ.get("HOME", "."), "..", "out")  # the worker's out/ folder

MAGIC = b"\x89PNG\r\n\x1a\n"
os.makedirs(OUT + "/figures", exist_ok=True)
names = ["embedding_trained.png", "embedding_short.png", "embedding_initial.png", "random_embedding.png"]
for index in range(120):
    name = names[index] if index < len(names) else f"plot_{index}.png"
    try:
        with open(f"{OUT}/figures/{name}", "wb") as handle:
            handle.write(MAGIC)
            handle.truncate(16 * 2**20 - 1)  # sparse: costs the attacker nothing
    except OSError:
        break
