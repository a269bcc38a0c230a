"""Integrations with engines that run kanjo beyond one process: Ray (``kanjo[ray]``)."""
