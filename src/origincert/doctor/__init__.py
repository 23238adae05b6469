"""``origincert doctor``: find and explain what stands between a site and Full (strict).

Module map: ``findings`` (the finding, the report and its JSON shape), ``facts``
(everything read, once per run), ``config`` (directives of the web server around
a hostname), ``checks/`` (the registry and the checks, by subject), ``run``
(concurrent checking), ``fixes`` (``--fix``), ``render`` (the table).
"""
