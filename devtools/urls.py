"""The benchmark's peers (``devtools.peers``), under /v1/_bench/ with devtools only."""

from __future__ import annotations

from django.urls import path

from . import peers

app_name = "bench"

urlpatterns = [
    path("book", peers.book, name="book"),
    path("pages", peers.pages, name="pages"),
    path("naive", peers.naive, name="naive"),
    path("lean", peers.lean, name="lean"),
]
