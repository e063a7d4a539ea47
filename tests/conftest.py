import os
import tempfile

from hypothesis import settings

pytest_plugins = ["pytester"]

# CI shares two cores: a per-example deadline measures the machine's load, not the code. Speed is
# measured by `careflow bench`, never by tests.
settings.register_profile("careflow", deadline=None)
settings.load_profile("careflow")

# Keys of the data dirs tests create (careflow/keys.py) go to a throwaway folder, never to the
# user's ~/.config/careflow/keys; subprocesses inherit it.
os.environ.setdefault("CAREFLOW_KEY_DIR", tempfile.mkdtemp(prefix="careflow-test-keys-"))
os.environ.pop("CAREFLOW_PASSPHRASE", None)
