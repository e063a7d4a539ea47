from hypothesis import settings

pytest_plugins = ["pytester"]

# CI shares two cores: a per-example deadline measures the machine's load, not the code. Speed is
# measured by `careflow bench`, never by tests.
settings.register_profile("careflow", deadline=None)
settings.load_profile("careflow")
