"""Carrying a Plan out against the Agents API: the executor and the checkout's apply lock."""
