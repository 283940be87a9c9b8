"""The demo: a BugFixer Rollout end to end on real SWE-bench Lite instances against the oracle server, and the
local data every example manifest in ``k8s/examples`` runs on (:mod:`patchline.demo.prepare`)."""

from patchline.demo.prepare import DEMO_DATA, DEMO_RELEASES, DemoData, prepare_data
from patchline.demo.run import DemoResult, run_demo

__all__ = ["DEMO_DATA", "DEMO_RELEASES", "DemoData", "DemoResult", "prepare_data", "run_demo"]
