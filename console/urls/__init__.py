"""The console's URLs, one module per namespace (``numbers``, ``agents``, ``audit``,
``account``, ``customers``), each included from ``config.urls``, which also maps ``/``
to the overview (``console.overview``)."""
