pytest_plugins = ["embedlab.pytest_plugin"]
