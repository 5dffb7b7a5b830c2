"""Bringing a fleet under management and moving it around: import, ADK projects, promote, telephony connectors."""
