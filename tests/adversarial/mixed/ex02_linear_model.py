"""Attack in one exercise, honest work in the other: only the attacked one loses its points."""
import os

os._exit(0)
