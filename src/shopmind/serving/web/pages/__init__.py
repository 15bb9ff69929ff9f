"""Console pages: every module here is mounted by ``install`` (its ``router``, its ``NAV``).

See ``../FRAMEWORK.md`` for the contract a page module follows.
"""
