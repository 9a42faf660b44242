"""Helpers shared by the tito commands."""
