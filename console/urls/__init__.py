"""The console's URLs, one module per namespace (``numbers``, ``agents``, ``audit``,
``account``), each included from ``config.urls``."""
