"""The public REST API under /v1/ (delivery): DRF views, the upstream error
contract, authentication by bearer token, throttling, ETags and the schema.

It may import every domain package; nothing below imports it.
"""
