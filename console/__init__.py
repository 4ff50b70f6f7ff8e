"""The staff console (delivery): the dashboard's pages, forms, URLs, list
machinery, template tags and the inventory's table rows.

It may import every domain package; nothing below imports it. Templates stay in
the top-level ``templates/`` for now.
"""
