"""Stage 2, authoring the course: stubs generated from the solutions, the
deliberately weak variants, and the course check (stubs fresh, markers
well formed, points that add up)."""
