"""Shared settings of the schemathesis contract tests.

They are derandomized: every run (CI or local, any xdist split) sends the same generated cases,
so a failure seen once is seen again. tests/conftest.py loads its own Hypothesis profile, which
replaces the built-in ``ci`` profile Hypothesis would otherwise load on CI, so it is set here.
Set CAREFLOW_HYPOTHESIS_EXPLORE=1 to draw fresh random cases instead (a failure then prints the
``@seed(...)`` that reproduces it); pin a case it finds as a hand-written row of the module.

The modules stay splittable across xdist workers: schemathesis gives every operation's item the
same node id, and xdist's scope schedulers (loadgroup, loadscope, loadfile) key work by node id,
so grouping a module would silently run one operation per test. Under the default ``load``
scheduling a module's module-global app can see a different order of operations from run to run;
the contract's checks hold in every state, and a state-dependent failure still names its case.
"""

from __future__ import annotations

import os

from hypothesis import settings

EXPLORE = os.environ.get("CAREFLOW_HYPOTHESIS_EXPLORE", "") not in ("", "0")


def contract_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=not EXPLORE,
        print_blob=True,
    )
