"""``kanjo report``: one self-contained HTML page to hand a colleague."""

from kanjo.report.build import build_report

__all__ = ["build_report"]
