"""Keeping certificates working for years: renew, revoke, hooks, the timer, notifications.

Everything here sits on top of Generate & Install (``provision.issue``): a renewal
is a full issue with ``reissue=True``, one site at a time, so one failure never
stops the others.
"""
