"""Notification templates: Jinja2 in a sandbox, the built-in defaults overridden per part and kind from a folder."""

from poller.templates.loading import TemplateSet, load_templates
from poller.templates.samples import Sample, samples

__all__ = ["Sample", "TemplateSet", "load_templates", "samples"]
