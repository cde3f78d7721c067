"""The handlers of the `embedlab` command's subcommands, by audience: data,
student, instructor. `embedlab.cli` holds the one parser that wires them."""
