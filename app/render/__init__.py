"""Presentation: how a typed result leaves the house as HTML, SVG, CSV or another body.

Only ``app.api`` imports this package. Services return typed objects (dataclasses or the
Pydantic models of ``app.schemas``); a router negotiates the representation and hands the
object to a renderer here. Nothing in this package touches the database or decides a rule.

HTML comes from Jinja2 templates with autoescape (``app/render/templates/``), never from
strings built by hand.
"""
